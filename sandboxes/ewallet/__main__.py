"""``python -m sandboxes.ewallet``: run the sandbox e-wallet provider.

Options default to the environment (EWALLET_WEBHOOK_URL, EWALLET_WEBHOOK_SECRET, EWALLET_API_KEY
— several keys separated by commas), then to the development values that config/settings.py uses
with DEBUG on.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence

from .server import EWalletSandbox

DEV_SECRET = "sandbox-ewallet-secret"  # noqa: S105 - the DEBUG default of config/settings.py
DEV_API_KEY = "sandbox-ewallet-key"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/api/v1/payments/webhooks/ewallet"


def parse_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> argparse.Namespace:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="python -m sandboxes.ewallet",
        description="Sandbox e-wallet provider: payments API, hosted pay page, signed webhooks.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8102, help="port to bind (8102; 0 = any)")
    parser.add_argument(
        "--webhook-url",
        default=env.get("EWALLET_WEBHOOK_URL") or DEFAULT_WEBHOOK_URL,
        help="where to POST events (env EWALLET_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--secret",
        default=env.get("EWALLET_WEBHOOK_SECRET") or DEV_SECRET,
        help="HMAC secret for Wallet-Signature (env EWALLET_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        help="accepted Bearer key; repeat for several (env EWALLET_API_KEY, comma-separated)",
    )
    parser.add_argument(
        "--public-url", default=None, help="base of pay_url when not the bound address"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if not args.api_keys:
        from_env = [k.strip() for k in env.get("EWALLET_API_KEY", "").split(",") if k.strip()]
        args.api_keys = from_env or [DEV_API_KEY]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s ewallet %(message)s")
    sandbox = EWalletSandbox(
        args.webhook_url,
        args.secret,
        args.api_keys,
        args.host,
        args.port,
        public_url=args.public_url,
        quiet=args.quiet,
    )

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        sandbox.start()
    except OSError as error:
        print(f"ewallet: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    print(
        f"Sandbox e-wallet listening on {sandbox.url}/ (API /v1/, pay pages /pay/…), "
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
