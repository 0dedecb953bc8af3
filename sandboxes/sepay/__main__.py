"""``python -m sandboxes.sepay``: run the SePay sandbox (port 8105 by default).

The API token of the transaction list defaults to SEPAY_SANDBOX_TOKEN, then to the development
value. Webhooks are registered by the platform's "Gửi thử" button (or POST /sandbox/webhooks).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .._common import run_until_signal
from .server import SePaySandbox

DEV_TOKEN = "sandbox-sepay-token"  # noqa: S105 - public development value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.sepay", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--api-token", default=os.environ.get("SEPAY_SANDBOX_TOKEN") or DEV_TOKEN)
    parser.add_argument(
        "--interval", type=float, default=60.0, help="seconds per Fibonacci step between retries"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sepay %(message)s")
    sandbox = SePaySandbox(args.api_token, args.host, args.port, interval=args.interval)

    def start() -> None:
        sandbox.start()
        print(f"Sandbox SePay listening on {sandbox.url}/", flush=True)

    return run_until_signal("sepay", start, sandbox.stop)


if __name__ == "__main__":
    sys.exit(main())
