"""payments.vietqr keeps every field of a real QR: tag 62 sub-fields and unknown top-level tags.

The payloads below are written by hand here, field by field (no third-party payloads), and
signed with the CRC; parse → encode must give them back byte for byte.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from random import Random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from payments.vietqr import (
    VietQR,
    VietQRError,
    build,
    crc16_ccitt_false,
    encode,
    from_dict,
    parse,
    to_dict,
)
from payments.vietqr.model import layout

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def signed(*fields: str) -> str:
    body = "".join(fields) + "6304"
    return body + crc16_ccitt_false(body)


def napas(bin: str, account: str) -> str:
    beneficiary = tlv("00", bin) + tlv("01", account)
    return tlv("38", tlv("00", "A000000727") + tlv("01", beneficiary) + tlv("02", "QRIBFTTA"))


HEAD_STATIC = tlv("00", "01") + tlv("01", "11")
HEAD_DYNAMIC = tlv("00", "01") + tlv("01", "12")
VND, VN = tlv("53", "704"), tlv("58", "VN")

# A stall's printed standee: static, with merchant name and city, no tag 62.
STATIC_STANDEE = signed(
    HEAD_STATIC,
    napas("970436", "1023456789"),
    VND,
    VN,
    tlv("59", "CHO HAN SAP 12"),
    tlv("60", "DA NANG"),
)
# A checkout QR: amount and transfer message.
DYNAMIC_PURPOSE = signed(
    HEAD_DYNAMIC,
    napas("970422", "0901234567"),
    VND,
    tlv("54", "85000"),
    VN,
    tlv("62", tlv("08", "CS7K2QX tien ca")),
)
# A till QR: bill number, reference label, terminal label and the message.
BILL_REFERENCE_TERMINAL = signed(
    HEAD_DYNAMIC,
    napas("970418", "31410001234567"),
    VND,
    tlv("54", "1250000"),
    VN,
    tlv("59", "SAP HAI SAN BA NAM"),
    tlv("60", "DA NANG"),
    tlv(
        "62",
        tlv("01", "HD2025-000042")
        + tlv("05", "DH1709")
        + tlv("07", "QUAY03")
        + tlv("08", "Thanh toan HD42"),
    ),
)
# A wallet top-up through NAPAS (MoMo style): reference label plus an unreserved template 80.
WALLET_VIA_NAPAS = signed(
    HEAD_DYNAMIC,
    napas("970454", "99MM25034M1234567"),
    VND,
    tlv("54", "200000"),
    VN,
    tlv("62", tlv("05", "MOMOW2W87654321") + tlv("08", "nap tien vi")),
    tlv("80", tlv("00", "VN.WALLET.DEMO") + tlv("01", "W2W")),
)
# A merchant name in a second language: template 64 (language, name, city).
LANGUAGE_TEMPLATE = signed(
    HEAD_STATIC,
    napas("970407", "19036123456018"),
    VND,
    VN,
    tlv("59", "CHO CON"),
    tlv("60", "DA NANG"),
    tlv("62", tlv("03", "SAP 5") + tlv("08", "mua rau")),
    tlv("64", tlv("00", "EN") + tlv("01", "CON MARKET STALL 5") + tlv("02", "DA NANG")),
)
# Every other kind of sub-field, in an order that is not ascending anywhere.
EVERYTHING_SHUFFLED = signed(
    HEAD_DYNAMIC,
    napas("970415", "0011001932418"),
    VND,
    VN,
    tlv("54", "45000"),
    tlv(
        "62",
        tlv("08", "tra no")
        + tlv("02", "0905123456")
        + tlv("06", "***")
        + tlv("09", "ME")
        + tlv("04", "LOYAL7")
        + tlv("10", "RFU")
        + tlv("50", tlv("00", "A000000999") + tlv("01", "X1")),
    ),
    tlv("90", "OPAQUE"),
    tlv("59", "CO BA"),
)

PAYLOADS = {
    "static-standee": STATIC_STANDEE,
    "dynamic-purpose": DYNAMIC_PURPOSE,
    "bill-reference-terminal": BILL_REFERENCE_TERMINAL,
    "wallet-via-napas": WALLET_VIA_NAPAS,
    "language-template": LANGUAGE_TEMPLATE,
    "everything-shuffled": EVERYTHING_SHUFFLED,
}


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("vietqr", *args, stdout=out)
    return out.getvalue()


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_it_re_encodes_a_parsed_payload_byte_for_byte(payload: str) -> None:
    assert re.fullmatch(r".*6304[0-9A-F]{4}", payload)
    assert encode(parse(payload)) == payload


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_it_rebuilds_a_payload_from_its_json_form(payload: str) -> None:
    data = json.loads(json.dumps(to_dict(parse(payload))))
    assert from_dict(data) == parse(payload)
    assert encode(from_dict(data)) == payload


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_it_round_trips_through_the_parse_and_rebuild_commands(payload: str) -> None:
    assert run("rebuild", run("parse", payload)) == payload + "\n"


def test_it_builds_the_till_qr_from_keyword_arguments() -> None:
    built = build(
        bin="970418",
        account="31410001234567",
        amount=1_250_000,
        purpose="Thanh toán HĐ42",
        bill_number="HD2025-000042",
        reference_label="DH1709",
        terminal_label="QUAY03",
        fields={"59": "SAP HAI SAN BA NAM", "60": "DA NANG"},
    )
    assert built == BILL_REFERENCE_TERMINAL


def test_it_builds_the_wallet_qr_from_the_command_line_options() -> None:
    built = run(
        "build",
        "--bin",
        "970454",
        "--account",
        "99MM25034M1234567",
        "--amount",
        "200000",
        "--purpose",
        "nap tien vi",
        "--reference-label",
        "MOMOW2W87654321",
        "--field",
        "80=0014VN.WALLET.DEMO0103W2W",
    )
    assert built == WALLET_VIA_NAPAS + "\n"


def test_it_builds_every_named_sub_field_from_the_command_line() -> None:
    payload = run(
        "build",
        "--bin",
        "970436",
        "--account",
        "1",
        "--bill",
        "B1",
        "--mobile",
        "0905123456",
        "--store",
        "SAP 5",
        "--loyalty",
        "L7",
        "--reference-label",
        "R9",
        "--customer-label",
        "***",
        "--terminal",
        "T3",
        "--consumer-data-request",
        "AME",
        "--field",
        "62.10=RFU",
        "--field",
        "64=0002EN",
    ).strip()
    assert json.loads(run("parse", payload)) == {
        "initiation": "static",
        "bin": "970436",
        "account": "1",
        "service": "QRIBFTTA",
        "amount": None,
        "purpose": "",
        "currency": "704",
        "country": "VN",
        "bill_number": "B1",
        "mobile_number": "0905123456",
        "store_label": "SAP 5",
        "loyalty_number": "L7",
        "reference_label": "R9",
        "customer_label": "***",
        "terminal_label": "T3",
        "consumer_data_request": "AME",
        "other_fields": {"62.10": "RFU", "64": "0002EN"},
        "crc_ok": True,
    }


# --------------------------------------------------------------------------- #
# What parse exposes
# --------------------------------------------------------------------------- #


def test_it_exposes_the_named_sub_fields_as_attributes() -> None:
    qr = parse(BILL_REFERENCE_TERMINAL)
    assert (qr.bill_number, qr.reference_label, qr.terminal_label, qr.purpose) == (
        "HD2025-000042",
        "DH1709",
        "QUAY03",
        "Thanh toan HD42",
    )
    assert (qr.mobile_number, qr.store_label, qr.customer_label) == ("", "", "")
    assert qr.other_fields == (("59", "SAP HAI SAN BA NAM"), ("60", "DA NANG"))
    assert qr.order == ()


def test_it_prints_the_sub_fields_and_unknown_tags_in_the_parse_json() -> None:
    data = json.loads(run("parse", WALLET_VIA_NAPAS))
    assert data["reference_label"] == "MOMOW2W87654321"
    assert data["purpose"] == "nap tien vi"
    assert data["other_fields"] == {"80": "0014VN.WALLET.DEMO0103W2W"}
    assert "order" not in data
    assert "bill_number" not in data


def test_it_records_the_payload_order_only_when_it_is_not_ascending() -> None:
    qr = parse(EVERYTHING_SHUFFLED)
    assert qr.order == (
        *("00", "01", "38", "53", "58", "54", "62"),
        *("62.08", "62.02", "62.06", "62.09", "62.04", "62.10", "62.50"),
        *("90", "59"),
    )
    assert (qr.mobile_number, qr.customer_label, qr.consumer_data_request) == (
        "0905123456",
        "***",
        "ME",
    )
    assert parse(LANGUAGE_TEMPLATE).order == ()


def test_it_treats_a_spelled_out_ascending_order_as_the_default() -> None:
    qr = parse(DYNAMIC_PURPOSE)
    spelled = VietQR(**{**vars(qr), "order": ("00", "01", "38", "53", "54", "58", "62", "62.08")})
    assert spelled == qr
    assert spelled.order == ()


def test_it_sorts_additional_data_and_other_fields_so_equal_content_compares_equal() -> None:
    fields = {"bin": "970436", "account": "1", "service": "QRIBFTTA", "amount": None}
    one = VietQR(**fields, purpose="", initiation="static", other_fields=[["60", "B"], ["59", "A"]])
    two = VietQR(**fields, purpose="", initiation="static", other_fields=(("59", "A"), ("60", "B")))
    assert one == two
    assert hash(one) == hash(two)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"reference_label": "R" * 26},
            "reference_label (tag 62.05) must be at most 25 characters, got 26",
        ),
        ({"bill_number": "HĐ42"}, "bill_number (tag 62.01) must be printable ASCII, got 'Đ'"),
        ({"terminal_label": "QUAY\t3"}, "terminal_label (tag 62.07) must be printable ASCII"),
        (
            {"consumer_data_request": "MX"},
            "consumer_data_request (tag 62.09) must be made of 'A' (address), 'M' (mobile) "
            "and 'E' (email), each at most once, got 'MX'",
        ),
        ({"consumer_data_request": "AMEA"}, "at most 3 characters, got 4"),
        ({"fields": {"62.10": ""}}, "62.10 (tag 62.10) must not be empty"),
        ({"fields": {"80": "x" * 100}}, "tag 80 must be at most 99 characters, got 100"),
        ({"fields": {"59": "Chợ"}}, "tag 59 must be printable ASCII, got 'ợ'"),
        (
            {"fields": {"54": "100"}},
            "tag 54 is the amount; it has its own argument and cannot be given as an other field",
        ),
        ({"fields": {"63": "ABCD"}}, "tag 63 is the CRC"),
        ({"fields": {"62": "0102AB"}}, "tag 62 is the additional data template"),
        ({"fields": {"62.08": "x"}}, "field 62.08 is the purpose: pass it as purpose"),
        ({"fields": {"62.5": "x"}}, "field key must be a 2-digit top-level tag (e.g. 59) or"),
        ({"fields": {"8": "x"}}, "got '8'"),
        (
            {"bill_number": "B1", "fields": {"62.01": "B2"}},
            "tag 62.01 is given twice (as bill_number and as field 62.01)",
        ),
        ({"fields": [("62.10", "a"), ("62.10", "b")]}, "tag 62.10 is given twice"),
        ({"fields": [("80", "a"), ("80", "b")]}, "tag 80 is given twice"),
        (
            {"fields": {"62.50": "x" * 60, "62.51": "y" * 40}},
            "additional data (tag 62) must be at most 99 characters in total, got 108",
        ),
        ({"store_label": 5}, "store_label must be a string, got int 5"),
    ],
)
def test_it_rejects_bad_additional_values_on_build(changes: dict, message: str) -> None:
    with pytest.raises(VietQRError, match=re.escape(message)):
        build(bin="970436", account="0011001932418", **changes)


def test_it_accepts_the_longest_values_emvco_allows() -> None:
    built = build(
        bin="970436",
        account="1",
        purpose="p" * 25,
        bill_number="b" * 25,
        reference_label="r" * 25,
        fields={"62.10": "x" * 8, "80": "y" * 99},  # tag 62 holds exactly 99
    )
    qr = parse(built)
    assert (qr.bill_number, qr.reference_label) == ("b" * 25, "r" * 25)
    assert encode(qr) == built


def test_it_rejects_an_overlong_sub_field_in_a_payload_naming_its_position() -> None:
    bad = signed(HEAD_STATIC, napas("970436", "1"), VND, VN, tlv("62", tlv("05", "R" * 26)))
    with pytest.raises(
        VietQRError,
        match=r"^tag 62\.05 at position \d+: reference_label \(tag 62\.05\) must be at most 25",
    ):
        parse(bad)


def test_it_rejects_an_order_that_does_not_list_the_fields() -> None:
    qr = parse(DYNAMIC_PURPOSE)
    with pytest.raises(VietQRError, match=r"^order must list each field of the payload once"):
        VietQR(**{**vars(qr), "order": ("00", "01", "38", "53", "54", "58", "62")})
    with pytest.raises(VietQRError, match=r"^order must start with tag 00"):
        VietQR(**{**vars(qr), "order": ("01", "00", "38", "53", "54", "58", "62", "62.08")})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bin": "970436"}, "missing key(s): initiation, account, service"),
        ({"colour": "red"}, "unknown key(s): colour"),
        ({"other_fields": ["59"]}, "other_fields must be an object"),
    ],
)
def test_it_rejects_a_bad_json_form(data: dict, message: str) -> None:
    base = to_dict(parse(STATIC_STANDEE))
    base.pop("crc_ok")
    if "bin" in data:
        base = data
    else:
        base.update(data)
    with pytest.raises(VietQRError, match=re.escape(message)):
        from_dict(base)


def test_it_reports_a_bad_option_value_as_a_command_error() -> None:
    with pytest.raises(CommandError, match=r"^terminal_label \(tag 62\.07\) must be at most 25"):
        run("build", "--bin", "970436", "--account", "1", "--terminal", "T" * 26)


def test_it_reports_a_field_without_an_equals_sign_as_a_command_error() -> None:
    with pytest.raises(CommandError, match=r"field must be NN=value or 62\.NN=value"):
        run("build", "--bin", "970436", "--account", "1", "--field", "62.05")


def test_it_reports_bad_json_to_rebuild_as_a_command_error() -> None:
    with pytest.raises(CommandError, match=r"^not valid JSON"):
        run("rebuild", "{")


@pytest.mark.parametrize(
    "args",
    [
        ["build", "--bin", "970436", "--account", "1", "--reference-label", "R" * 26],
        ["build", "--bin", "970436", "--account", "1", "--field", "54=1"],
        ["rebuild", '{"bin": "970436"}'],
    ],
    ids=["long-label", "reserved-tag", "bad-json-form"],
)
def test_it_exits_non_zero_without_a_traceback_from_the_command_line(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "vietqr", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError: ")


# --------------------------------------------------------------------------- #
# Property: any valid field set survives build → parse → build unchanged
# --------------------------------------------------------------------------- #

ANS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
LABEL = st.text(ANS, min_size=1, max_size=25)
NAMED = (
    "bill_number",
    "mobile_number",
    "store_label",
    "loyalty_number",
    "reference_label",
    "customer_label",
    "terminal_label",
)
DECODED = {"00", "01", "38", "53", "54", "58", "62", "63"}
OTHER_TAGS = [f"{n:02d}" for n in range(100) if f"{n:02d}" not in DECODED]


@st.composite
def field_sets(draw: st.DrawFn) -> dict:
    named = draw(st.dictionaries(st.sampled_from(NAMED), LABEL, max_size=4))
    request = draw(st.sampled_from(["", "A", "ME", "EMA"]))
    generic = draw(
        st.dictionaries(
            st.sampled_from([f"62.{n:02d}" for n in range(10, 100)]),
            st.text(ANS, min_size=1, max_size=20),
            max_size=2,
        )
    )
    others = draw(
        st.dictionaries(
            st.sampled_from(OTHER_TAGS), st.text(ANS, min_size=1, max_size=99), max_size=3
        )
    )
    purpose = draw(st.from_regex(r"([A-Za-z0-9]([ .-]?[A-Za-z0-9]){0,11})?", fullmatch=True))
    total = sum(4 + len(v) for v in [*named.values(), *generic.values(), request, purpose] if v)
    assume(total <= 99)
    return {
        "bin": draw(st.sampled_from(["970436", "970415", "970418", "970422", "970454"])),
        "account": draw(st.from_regex(r"[A-Za-z0-9]{1,19}", fullmatch=True)),
        "amount": draw(st.none() | st.integers(1, 9_999_999_999_999)),
        "purpose": purpose,
        "static": draw(st.booleans()),
        "consumer_data_request": request,
        "fields": {**generic, **others},
        **named,
    }


def _rebuild(qr: VietQR) -> str:
    others = {f"62.{tag}": value for tag, value in qr.additional_data if int(tag) >= 10}
    return build(
        bin=qr.bin,
        account=qr.account,
        amount=qr.amount,
        purpose=qr.purpose,
        card=qr.is_card,
        static=qr.initiation == "static",
        bill_number=qr.bill_number,
        mobile_number=qr.mobile_number,
        store_label=qr.store_label,
        loyalty_number=qr.loyalty_number,
        reference_label=qr.reference_label,
        customer_label=qr.customer_label,
        terminal_label=qr.terminal_label,
        consumer_data_request=qr.consumer_data_request,
        fields={**others, **dict(qr.other_fields)},
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_sets(), st.randoms(use_true_random=False))
def test_it_round_trips_random_valid_field_sets(fields: dict, random: Random) -> None:
    payload = build(**fields)
    qr = parse(payload)
    assert _rebuild(qr) == payload
    assert encode(qr) == payload
    assert encode(from_dict(json.loads(json.dumps(to_dict(qr))))) == payload
    # Any field order (tag 00 first) survives too.
    paths = [path for path in layout(qr) if path != "00"]
    random.shuffle(paths)
    shuffled = encode(VietQR(**{**vars(qr), "order": ("00", *paths)}))
    assert encode(parse(shuffled)) == shuffled
