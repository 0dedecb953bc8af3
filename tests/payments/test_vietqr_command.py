"""Tests for ``manage.py vietqr`` (build / parse). No database needed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

VIETINBANK_DYNAMIC = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
ACB_STATIC = (
    "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("vietqr", *args, stdout=out)
    return out.getvalue()


def test_it_builds_the_vietinbank_vector() -> None:
    output = run(
        "build",
        "--bin",
        "970415",
        "--account",
        "0011001932418",
        "--amount",
        "120000",
        "--purpose",
        "ung ho lu lut",
    )
    assert output == VIETINBANK_DYNAMIC + "\n"


def test_it_builds_a_static_payload_without_an_amount() -> None:
    assert run("build", "--bin", "970416", "--account", "257678859").strip() == ACB_STATIC


def test_it_builds_a_card_payload_with_a_vietnamese_purpose() -> None:
    payload = run(
        "build",
        "--bin",
        "970436",
        "--account",
        "9704360123456789",
        "--amount",
        "150000",
        "--purpose",
        "Thanh toán đơn hàng",
        "--card",
    ).strip()
    data = json.loads(run("parse", payload))
    assert data["service"] == "QRIBFTTC"
    assert data["purpose"] == "Thanh toan don hang"
    assert data["initiation"] == "dynamic"


def test_it_keeps_the_qr_static_with_the_static_flag() -> None:
    payload = run(
        "build", "--bin", "970436", "--account", "0011001932418", "--amount", "150000", "--static"
    ).strip()
    assert payload.startswith("000201010211")
    assert json.loads(run("parse", payload))["amount"] == 150_000


def test_it_reports_a_bad_bin_as_a_command_error() -> None:
    with pytest.raises(CommandError, match=r"^bank BIN must be 6 digits, got '97041'$"):
        run("build", "--bin", "97041", "--account", "0011001932418")


def test_it_rejects_a_non_digit_amount() -> None:
    with pytest.raises(CommandError, match=r"amount must be whole VND digits, got '1\.5'"):
        run("build", "--bin", "970436", "--account", "1", "--amount", "1.5")


def test_it_rejects_a_zero_amount() -> None:
    with pytest.raises(CommandError, match=r"^amount must be at least 1 VND, got 0$"):
        run("build", "--bin", "970436", "--account", "1", "--amount", "0")


def test_it_requires_the_account_option() -> None:
    with pytest.raises(CommandError, match="--account"):
        run("build", "--bin", "970436")


def test_it_requires_a_subcommand() -> None:
    with pytest.raises(CommandError, match="required"):
        run()


def test_it_parses_a_payload_to_json_with_exactly_the_documented_keys() -> None:
    assert json.loads(run("parse", VIETINBANK_DYNAMIC)) == {
        "initiation": "dynamic",
        "bin": "970415",
        "account": "0011001932418",
        "service": "QRIBFTTA",
        "amount": 120000,
        "purpose": "ung ho lu lut",
        "currency": "704",
        "country": "VN",
        "crc_ok": True,
    }


def test_it_parses_a_static_payload_with_a_null_amount() -> None:
    data = json.loads(run("parse", ACB_STATIC))
    assert (data["initiation"], data["amount"], data["purpose"]) == ("static", None, "")


def test_it_prints_the_fields_and_fails_when_only_the_crc_is_wrong() -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^CRC mismatch: payload says C15D, computed C15C$"):
        call_command("vietqr", "parse", VIETINBANK_DYNAMIC[:-1] + "D", stdout=out)
    data = json.loads(out.getvalue())
    assert data["crc_ok"] is False
    assert (data["bin"], data["amount"]) == ("970415", 120000)


def test_it_fails_without_output_on_a_malformed_payload() -> None:
    out = io.StringIO()
    message = "tag 62 at position 96 declares length 17 but only 10 characters remain"
    with pytest.raises(CommandError, match=f"^{message}$"):
        call_command("vietqr", "parse", VIETINBANK_DYNAMIC[:110], stdout=out)
    assert out.getvalue() == ""


def test_it_exits_non_zero_from_the_command_line_on_a_bad_crc() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "vietqr", "parse", ACB_STATIC[:-4] + "0000"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert json.loads(result.stdout)["crc_ok"] is False
    assert "CRC mismatch: payload says 0000, computed AE9F" in result.stderr
