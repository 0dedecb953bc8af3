"""``manage.py vietqr``: build and inspect VietQR (NAPAS bank-transfer) payloads.

python manage.py vietqr build --bin 970436 --account 0011001932418 --amount 150000
python manage.py vietqr build --bin 970436 --account 0011001932418 --bill HD0042 \
    --reference-label DH1709 --terminal QUAY03 --field 59="CHO HAN" --field 62.10=X
python manage.py vietqr parse "000201010212..."
python manage.py vietqr parse "000201010212..." | python manage.py vietqr rebuild -
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments import vietqr

# Options naming a tag 62 sub-field: (option, keyword of vietqr.build, help).
_ADDITIONAL_OPTIONS = (
    ("--bill", "bill_number", "bill number (tag 62.01)"),
    ("--mobile", "mobile_number", "mobile number (tag 62.02)"),
    ("--store", "store_label", "store label (tag 62.03)"),
    ("--loyalty", "loyalty_number", "loyalty number (tag 62.04)"),
    ("--reference-label", "reference_label", "reference label (tag 62.05)"),
    ("--customer-label", "customer_label", "customer label (tag 62.06)"),
    ("--terminal", "terminal_label", "terminal label (tag 62.07)"),
    (
        "--consumer-data-request",
        "consumer_data_request",
        "ask the payer for A(ddress), M(obile), E(mail) (tag 62.09), e.g. ME",
    ),
)


def _vnd(text: str) -> int:
    """argparse type for ``--amount``: plain whole-VND digits, e.g. 150000."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"amount must be whole VND digits, got {text!r}")
    return int(text)


def _field(text: str) -> tuple[str, str]:
    """argparse type for ``--field``: ``NN=value`` or ``62.NN=value``."""
    key, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(
            f"field must be NN=value or 62.NN=value (e.g. 59=CHO HAN, 62.10=X), got {text!r}"
        )
    return key, value


class Command(BaseCommand):
    help = "Build or parse VietQR (NAPAS 247 bank-transfer QR) payloads."
    # Pure string work: no models, URLs or database, so skip the system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{build,parse,rebuild}"
        )

        build = actions.add_parser("build", help="print a VietQR payload")
        build.add_argument("--bin", required=True, help="6-digit NAPAS bank BIN, e.g. 970436")
        build.add_argument("--account", required=True, help="account number (or card number)")
        build.add_argument("--amount", type=_vnd, help="amount in whole VND; makes the QR dynamic")
        build.add_argument("--purpose", default="", help="transfer message, max 25 characters")
        build.add_argument("--card", action="store_true", help="--account is a card number")
        build.add_argument(
            "--static", action="store_true", help="keep point of initiation 11 with an amount"
        )
        for option, dest, text in _ADDITIONAL_OPTIONS:
            build.add_argument(
                option, dest=dest, default="", help=f"{text}; ASCII, max 25 characters"
            )
        build.add_argument(
            "--field",
            dest="fields",
            type=_field,
            action="append",
            default=[],
            metavar="TAG=VALUE",
            help="any other field, repeatable: NN=value for a top-level tag (59 merchant name, "
            "60 city, 64 language template, 80-99 templates), 62.NN=value inside tag 62",
        )

        parse = actions.add_parser("parse", help="decode a payload and print it as JSON")
        parse.add_argument("payload", help="the VietQR payload string")

        rebuild = actions.add_parser(
            "rebuild", help="print the payload a `parse` JSON describes, byte for byte"
        )
        rebuild.add_argument("json", help="the JSON printed by `parse`, or - to read stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "build":
            self._build(options)
        elif options["action"] == "rebuild":
            self._rebuild(options["json"])
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
                fields=options["fields"],
                **{dest: options[dest] for _, dest, _ in _ADDITIONAL_OPTIONS},
            )
        except vietqr.VietQRError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(payload)

    def _rebuild(self, source: str) -> None:
        text = sys.stdin.read() if source == "-" else source
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"not valid JSON: {error}") from error
        try:
            payload = vietqr.encode(vietqr.from_dict(data))
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
