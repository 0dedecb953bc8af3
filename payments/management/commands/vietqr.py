"""``manage.py vietqr``: build and inspect VietQR (NAPAS bank-transfer) payloads.

python manage.py vietqr build --bin 970436 --account 0011001932418 --amount 150000
python manage.py vietqr parse "000201010212..."
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments import vietqr


def _vnd(text: str) -> int:
    """argparse type for ``--amount``: plain whole-VND digits, e.g. 150000."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"amount must be whole VND digits, got {text!r}")
    return int(text)


class Command(BaseCommand):
    help = "Build or parse VietQR (NAPAS 247 bank-transfer QR) payloads."
    # Pure string work: no models, URLs or database, so skip the system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{build,parse}")

        build = actions.add_parser("build", help="print a VietQR payload")
        build.add_argument("--bin", required=True, help="6-digit NAPAS bank BIN, e.g. 970436")
        build.add_argument("--account", required=True, help="account number (or card number)")
        build.add_argument("--amount", type=_vnd, help="amount in whole VND; makes the QR dynamic")
        build.add_argument("--purpose", default="", help="transfer message, max 25 characters")
        build.add_argument("--card", action="store_true", help="--account is a card number")
        build.add_argument(
            "--static", action="store_true", help="keep point of initiation 11 with an amount"
        )

        parse = actions.add_parser("parse", help="decode a payload and print it as JSON")
        parse.add_argument("payload", help="the VietQR payload string")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "build":
            self._build(options)
        else:
            self._parse(options["payload"])

    def _build(self, options: dict[str, Any]) -> None:
        try:
            payload = vietqr.build(
                bin=options["bin"],
                account=options["account"],
                amount=options["amount"],
                purpose=options["purpose"],
                card=options["card"],
                static=options["static"],
            )
        except vietqr.VietQRError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(payload)

    def _parse(self, payload: str) -> None:
        try:
            qr = vietqr.parse(payload)
        except vietqr.CRCMismatchError as error:
            # Everything but the CRC is valid: show what the code says, then fail.
            self._print(vietqr.to_dict(vietqr.parse(payload, verify_crc=False), crc_ok=False))
            raise CommandError(str(error)) from error
        except vietqr.VietQRError as error:
            raise CommandError(str(error)) from error
        self._print(vietqr.to_dict(qr))

    def _print(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
