"""``python -m sandboxes.taxgateway``: run the sandbox tax-authority gateway.

Options default to the environment (TAXGATEWAY_API_KEY — several keys separated by commas), then
to the development value that config/settings.py uses with DEBUG on.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from .._common import run_until_signal
from .server import TaxGatewaySandbox

DEV_API_KEY = "sandbox-taxgateway-key"


def parse_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> argparse.Namespace:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="python -m sandboxes.taxgateway",
        description="Sandbox tax gateway: series registration, invoice submission with "
        "asynchronous answers, cash-register batches, cancellations, fault knobs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8103, help="port to bind (8103; 0 = any)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        help="accepted Bearer key; repeat for several (env TAXGATEWAY_API_KEY, comma-separated)",
    )
    parser.add_argument("--xsd", default=None, help="XSD file (einvoice/schema/hdon.xsd)")
    parser.add_argument(
        "--answer-delay", type=float, default=1.0, help="seconds before an answer is ready (1)"
    )
    parser.add_argument(
        "--gap-timeout",
        type=float,
        default=86_400.0,
        help="seconds an invoice waits for its predecessor number before number_gap (86400)",
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 503")
    parser.add_argument(
        "--timeout-rate",
        type=float,
        default=0.0,
        help="fraction recorded, then answered only after --hang-seconds",
    )
    parser.add_argument("--error-after-rate", type=float, default=0.0, help="recorded, then 500")
    parser.add_argument("--hang-seconds", type=float, default=15.0, help="hang of a timeout (15)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every answer")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault RNG")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if not args.api_keys:
        from_env = [k.strip() for k in env.get("TAXGATEWAY_API_KEY", "").split(",") if k.strip()]
        args.api_keys = from_env or [DEV_API_KEY]
    return args


def build(args: argparse.Namespace) -> TaxGatewaySandbox:
    sandbox = TaxGatewaySandbox(
        args.api_keys,
        args.host,
        args.port,
        xsd_path=args.xsd,
        answer_delay=args.answer_delay,
        gap_timeout=args.gap_timeout,
        seed=args.seed,
        quiet=args.quiet,
    )
    sandbox.set_faults(
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        error_after_rate=args.error_after_rate,
        hang_seconds=args.hang_seconds,
        latency_ms=args.latency_ms,
    )
    return sandbox


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s taxgateway %(message)s")
    sandbox = build(args)

    def start() -> None:
        sandbox.start()
        schema = "with" if sandbox.schema.available else "WITHOUT (file missing)"
        print(
            f"Sandbox tax gateway listening on {sandbox.url}/v1/ ({schema} XSD "
            f"{sandbox.schema.path}; answers after {args.answer_delay:g} s)",
            flush=True,
        )

    return run_until_signal("taxgateway", start, sandbox.stop)


if __name__ == "__main__":
    sys.exit(main())
