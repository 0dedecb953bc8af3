"""``python -m sandboxes.sms``: run the sandbox SMS gateway.

The API key defaults to the environment (SMS_API_KEY — several separated by commas), then to the
development value config/settings.py uses with DEBUG on.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from .._common import run_until_signal
from .server import SmsSandbox

DEV_API_KEY = "sandbox-sms-key"


def parse_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> argparse.Namespace:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="python -m sandboxes.sms",
        description="Sandbox SMS gateway: send a text, read the outbox, fault knobs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8104, help="port to bind (8104; 0 = any)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        help="accepted Bearer key; repeat for several (env SMS_API_KEY, comma-separated)",
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 503")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every answer")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if not args.api_keys:
        from_env = [k.strip() for k in env.get("SMS_API_KEY", "").split(",") if k.strip()]
        args.api_keys = from_env or [DEV_API_KEY]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sms %(message)s")
    sandbox = SmsSandbox(args.api_keys, args.host, args.port, quiet=args.quiet)
    sandbox.set_faults(error_rate=args.error_rate, latency_ms=args.latency_ms)

    def start() -> None:
        sandbox.start()
        print(
            f"Sandbox SMS gateway listening on {sandbox.url}/v1/ (outbox: "
            f"{sandbox.url}/v1/_sandbox/outbox)",
            flush=True,
        )

    return run_until_signal("sms", start, sandbox.stop)


if __name__ == "__main__":
    sys.exit(main())
