"""``python -m sandboxes.banknotify``: run the sandbox bank-notification service.

Options default to the environment (BANKNOTIFY_WEBHOOK_URL, BANKNOTIFY_WEBHOOK_SECRET,
BANKNOTIFY_API_KEY), then to the development values that config/settings.py uses with DEBUG on.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

from .server import BankNotifySandbox

DEV_SECRET = "sandbox-banknotify-secret"  # noqa: S105 - the DEBUG default of config/settings.py
DEV_API_KEY = "sandbox-banknotify-key"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/api/v1/payments/webhooks/banknotify"


def parse_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> argparse.Namespace:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="python -m sandboxes.banknotify",
        description="Sandbox bank-notification service: signed webhooks for bank transfers.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8101, help="port to bind (8101; 0 = any)")
    parser.add_argument(
        "--webhook-url",
        default=env.get("BANKNOTIFY_WEBHOOK_URL") or DEFAULT_WEBHOOK_URL,
        help="where to POST notifications (env BANKNOTIFY_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--secret",
        default=env.get("BANKNOTIFY_WEBHOOK_SECRET") or DEV_SECRET,
        help="HMAC secret for X-Banknotify-Signature (env BANKNOTIFY_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--api-key",
        default=env.get("BANKNOTIFY_API_KEY") or DEV_API_KEY,
        help="key for GET /api/transactions (env BANKNOTIFY_API_KEY)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s banknotify %(message)s")
    sandbox = BankNotifySandbox(
        args.webhook_url, args.secret, args.api_key, args.host, args.port, quiet=args.quiet
    )

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        sandbox.start()
    except OSError as error:
        print(f"banknotify: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    print(
        f"Sandbox bank listening on {sandbox.url}/ (shopper page), "
        f"notifying {args.webhook_url or '(nobody)'}",
        flush=True,
    )
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
