"""``python -m sandboxes.momo``: run the MoMo sandbox (port 8106 by default).

The partner code and keys default to MOMO_PARTNER_CODE / MOMO_ACCESS_KEY / MOMO_SECRET_KEY, then
to the development values config/settings.py uses with DEBUG on.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .._common import run_until_signal
from .server import MomoSandbox

DEV_PARTNER = "MOMOCHOSO2026"
DEV_ACCESS = "sandbox-momo-access"
DEV_SECRET = "sandbox-momo-secret"  # noqa: S105 - public development value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.momo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8106)
    parser.add_argument(
        "--partner-code", default=os.environ.get("MOMO_PARTNER_CODE") or DEV_PARTNER
    )
    parser.add_argument("--access-key", default=os.environ.get("MOMO_ACCESS_KEY") or DEV_ACCESS)
    parser.add_argument("--secret-key", default=os.environ.get("MOMO_SECRET_KEY") or DEV_SECRET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s momo %(message)s")
    sandbox = MomoSandbox(
        partner_code=args.partner_code,
        access_key=args.access_key,
        secret_key=args.secret_key,
        host=args.host,
        port=args.port,
        quiet=False,
    )

    def start() -> None:
        sandbox.start()
        print(f"Sandbox MoMo listening on {sandbox.url}/", flush=True)

    return run_until_signal("momo", start, sandbox.stop)


if __name__ == "__main__":
    sys.exit(main())
