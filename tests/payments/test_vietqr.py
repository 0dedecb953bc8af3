"""payments.vietqr: the NAPAS VietQR encoder and decoder (images: tests/core/test_qr.py)."""

from __future__ import annotations

import re

import pytest

from payments.vietqr import (
    MAX_AMOUNT,
    CRCMismatchError,
    VietQR,
    VietQRError,
    build,
    crc16_ccitt_false,
    encode,
    normalize_purpose,
    parse,
    to_dict,
)

# Public vectors from the payments fact sheet (shared/reference/payments.md §1).
VIETINBANK_DYNAMIC = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
ACB_STATIC = (
    "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
)

NAPAS_BINS = ["970436", "970415", "970418", "970405", "970407", "970422", "970416", "970454"]


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def signed(*fields: str) -> str:
    """Join fields and append a correct CRC, so a test payload has exactly one fault."""
    body = "".join(fields) + "6304"
    return body + crc16_ccitt_false(body)


def merchant(
    *, guid: str = "A000000727", bin: str = "970415", account: str = "0011001932418"
) -> str:
    beneficiary = tlv("00", bin) + tlv("01", account)
    return tlv("38", tlv("00", guid) + tlv("01", beneficiary) + tlv("02", "QRIBFTTA"))


def payload(
    *,
    fmt: str = "01",
    poi: str = "12",
    merchant_field: str | None = None,
    currency: str = "704",
    amount: str | None = "120000",
    country: str = "VN",
    extra: str = "",
) -> str:
    fields = [tlv("00", fmt), tlv("01", poi), merchant_field or merchant(), tlv("53", currency)]
    if amount is not None:
        fields.append(tlv("54", amount))
    fields.append(tlv("58", country))
    fields.append(extra)
    return signed(*fields)


# --------------------------------------------------------------------------- #
# CRC
# --------------------------------------------------------------------------- #


def test_it_computes_the_crc16_ccitt_false_check_value() -> None:
    assert crc16_ccitt_false("123456789") == "29B1"


def test_it_formats_the_crc_as_four_uppercase_hex_digits() -> None:
    assert crc16_ccitt_false("") == "FFFF"
    assert re.fullmatch(r"[0-9A-F]{4}", crc16_ccitt_false("6304"))


def test_it_computes_the_crc_of_both_reference_vectors_over_the_literal_6304() -> None:
    assert crc16_ccitt_false(VIETINBANK_DYNAMIC[:-4]) == "C15C"
    assert crc16_ccitt_false(ACB_STATIC[:-4]) == "AE9F"


# --------------------------------------------------------------------------- #
# Reference vectors
# --------------------------------------------------------------------------- #


def test_it_builds_the_vietinbank_dynamic_vector_byte_for_byte() -> None:
    built = build(bin="970415", account="0011001932418", amount=120_000, purpose="ung ho lu lut")
    assert built == VIETINBANK_DYNAMIC


def test_it_builds_the_acb_static_vector_byte_for_byte() -> None:
    assert build(bin="970416", account="257678859") == ACB_STATIC


def test_it_parses_the_vietinbank_dynamic_vector() -> None:
    assert parse(VIETINBANK_DYNAMIC) == VietQR(
        bin="970415",
        account="0011001932418",
        service="QRIBFTTA",
        amount=120_000,
        purpose="ung ho lu lut",
        initiation="dynamic",
        currency="704",
        country="VN",
    )


def test_it_parses_the_acb_static_vector() -> None:
    assert parse(ACB_STATIC) == VietQR(
        bin="970416",
        account="257678859",
        service="QRIBFTTA",
        amount=None,
        purpose="",
        initiation="static",
    )


def test_it_re_encodes_parsed_vectors_identically() -> None:
    assert encode(parse(VIETINBANK_DYNAMIC)) == VIETINBANK_DYNAMIC
    assert encode(parse(ACB_STATIC)) == ACB_STATIC


def test_it_serialises_a_parsed_vector_to_a_json_ready_dict() -> None:
    assert to_dict(parse(VIETINBANK_DYNAMIC)) == {
        "initiation": "dynamic",
        "bin": "970415",
        "account": "0011001932418",
        "service": "QRIBFTTA",
        "amount": 120_000,
        "purpose": "ung ho lu lut",
        "currency": "704",
        "country": "VN",
        "crc_ok": True,
    }
    assert to_dict(parse(ACB_STATIC), crc_ok=False)["crc_ok"] is False


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("bin", NAPAS_BINS)
@pytest.mark.parametrize("card", [False, True], ids=["account", "card"])
@pytest.mark.parametrize("amount", [None, 1, 150_000, 9_999_999_999_999])
def test_it_round_trips_bins_services_and_amounts(bin: str, card: bool, amount: int | None) -> None:
    account = "9704150123456789" if card else "0011001932418"
    qr = parse(build(bin=bin, account=account, amount=amount, purpose="CS7K2QX", card=card))
    assert qr.bin == bin
    assert qr.account == account
    assert qr.service == ("QRIBFTTC" if card else "QRIBFTTA")
    assert qr.is_card is card
    assert qr.amount == amount
    assert qr.purpose == "CS7K2QX"
    assert qr.initiation == ("static" if amount is None else "dynamic")


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        ("Thanh toán đơn hàng", "Thanh toan don hang"),
        ("ĐẶT CỌC Đà Nẵng", "DAT COC Da Nang"),
        ("Mua cá ở chợ Hàn", "Mua ca o cho Han"),
        ("  Trả   tiền\n\tnợ  ", "Tra tien no"),
        ("Thanh toa\u0301n", "Thanh toan"),  # decomposed (NFD) input
        ("ma\x00don\x07 DH1709", "madon DH1709"),  # control characters dropped
        ("CS7K2QX", "CS7K2QX"),
        ("", ""),
    ],
)
def test_it_round_trips_purposes_as_plain_ascii(purpose: str, expected: str) -> None:
    assert parse(build(bin="970436", account="0011001932418", purpose=purpose)).purpose == expected


def test_it_omits_tag_62_when_the_purpose_is_empty_after_normalisation() -> None:
    built = build(bin="970416", account="257678859", purpose=" \n\t ")
    assert built == ACB_STATIC


def test_it_keeps_point_of_initiation_11_with_an_amount_when_asked() -> None:
    built = build(bin="970436", account="0011001932418", amount=150_000, static=True)
    assert built.startswith("000201010211")
    qr = parse(built)
    assert (qr.initiation, qr.amount) == ("static", 150_000)


def test_it_makes_an_amountless_qr_static_even_without_the_static_flag() -> None:
    assert build(bin="970436", account="0011001932418").startswith("000201010211")


def test_it_emits_tags_in_the_napas_order() -> None:
    built = build(bin="970436", account="0011001932418", amount=150_000, purpose="DH1709")
    tags, index = [], 0
    while index < len(built):
        tags.append(built[index : index + 2])
        index += 4 + int(built[index + 2 : index + 4])
    assert tags == ["00", "01", "38", "53", "54", "58", "62", "63"]


def test_it_normalises_purposes_without_enforcing_the_length() -> None:
    assert normalize_purpose("Tiền cá  " * 5) == "Tien ca Tien ca Tien ca Tien ca Tien ca"


# --------------------------------------------------------------------------- #
# Length and value limits on build
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("bin", "message"),
    [
        ("97041", "bank BIN must be 6 digits, got '97041'"),
        ("9704150", "bank BIN must be 6 digits, got '9704150'"),
        ("97041a", "bank BIN must be 6 digits, got '97041a'"),
        ("", "bank BIN must be 6 digits, got ''"),
        (970415, "bank BIN must be a string, got int 970415"),
    ],
)
def test_it_rejects_a_bad_bin(bin: object, message: str) -> None:
    with pytest.raises(VietQRError, match=re.escape(message)):
        build(bin=bin, account="0011001932418")  # type: ignore[arg-type]


def test_it_accepts_an_account_of_exactly_19_characters() -> None:
    assert parse(build(bin="970436", account="A" * 19)).account == "A" * 19


@pytest.mark.parametrize(
    ("account", "card", "message"),
    [
        ("1" * 20, False, "account number must be at most 19 characters, got 20"),
        ("9" * 20, True, "card number must be at most 19 characters, got 20"),
        ("", False, "account number must not be empty"),
        ("0011-0019", False, "account number must contain only ASCII letters and digits"),
        ("0011 0019", False, "account number must contain only ASCII letters and digits"),
        ("sốtàikhoản", False, "account number must contain only ASCII letters and digits"),
        ("9704ABCD", True, "card number must contain only digits, got '9704ABCD'"),
    ],
)
def test_it_rejects_a_bad_account(account: str, card: bool, message: str) -> None:
    with pytest.raises(VietQRError, match=re.escape(message)):
        build(bin="970436", account=account, card=card)


def test_it_accepts_the_smallest_and_largest_amounts() -> None:
    assert parse(build(bin="970436", account="1", amount=1)).amount == 1
    assert parse(build(bin="970436", account="1", amount=MAX_AMOUNT)).amount == MAX_AMOUNT


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "amount must be at least 1 VND, got 0"),
        (-5, "amount must be at least 1 VND, got -5"),
        (10**13, "amount must be at most 9999999999999 VND (13 digits), got 10000000000000"),
        (1.5, "amount must be an int number of VND, got float 1.5"),
        (True, "amount must be an int number of VND, got bool True"),
        ("150000", "amount must be an int number of VND, got str '150000'"),
    ],
)
def test_it_rejects_a_bad_amount(amount: object, message: str) -> None:
    with pytest.raises(VietQRError, match=re.escape(message)):
        build(bin="970436", account="0011001932418", amount=amount)  # type: ignore[arg-type]


def test_it_accepts_a_purpose_of_exactly_25_characters() -> None:
    purpose = "Thanh toán đơn hàng DH170"  # 25 characters before and after normalisation
    assert parse(build(bin="970436", account="1", purpose=purpose)).purpose == (
        "Thanh toan don hang DH170"
    )


def test_it_rejects_a_purpose_over_25_characters_instead_of_truncating() -> None:
    message = (
        "purpose must be at most 25 characters after normalisation, "
        "got 26 ('Thanh toan don hang DH1709')"
    )
    with pytest.raises(VietQRError, match=re.escape(message)):
        build(bin="970436", account="1", purpose="Thanh toán đơn hàng DH1709")


def test_it_measures_the_purpose_length_after_transliteration() -> None:
    with pytest.raises(VietQRError, match=r"after normalisation, got 27 \('EUREUR"):
        build(bin="970436", account="1", purpose="€" * 9)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"initiation": "sometimes"}, "initiation must be 'static' or 'dynamic', got 'sometimes'"),
        ({"currency": "840"}, "currency must be '704' (VND), got '840'"),
        ({"country": "US"}, "country must be 'VN', got 'US'"),
        ({"service": "QRPUSH"}, "service code must be 'QRIBFTTA' (to account) or"),
        ({"purpose": "Thanh toán"}, "purpose must be printable ASCII, got 'á' at index 8"),
        ({"purpose": "x" * 26}, "purpose must be at most 25 characters, got 26"),
    ],
)
def test_it_validates_the_dataclass_on_construction(changes: dict, message: str) -> None:
    fields = {
        "bin": "970436",
        "account": "0011001932418",
        "service": "QRIBFTTA",
        "amount": None,
        "purpose": "",
        "initiation": "static",
    }
    with pytest.raises(VietQRError, match=re.escape(message)):
        VietQR(**{**fields, **changes})


def test_it_raises_a_value_error_subclass() -> None:
    assert issubclass(VietQRError, ValueError)
    assert issubclass(CRCMismatchError, VietQRError)


# --------------------------------------------------------------------------- #
# Malformed payloads
# --------------------------------------------------------------------------- #


def _rejects(bad: str, message: str) -> None:
    with pytest.raises(VietQRError, match=f"^{re.escape(message)}$"):
        parse(bad)


def test_it_accepts_the_helper_built_payload() -> None:
    assert parse(payload()).amount == 120_000  # guards the helpers used below


def test_it_rejects_a_truncated_payload_naming_the_short_tag() -> None:
    _rejects(
        VIETINBANK_DYNAMIC[:110],
        "tag 62 at position 96 declares length 17 but only 10 characters remain",
    )
    _rejects(
        VIETINBANK_DYNAMIC[:84],
        "tag 54 at position 80 declares length 6 but only 0 characters remain",
    )


def test_it_rejects_a_payload_cut_inside_a_tag_header() -> None:
    _rejects(
        VIETINBANK_DYNAMIC[:91],
        "truncated field at position 90: need a 2-digit tag id and a 2-digit length, "
        "only 1 character remains ('5')",
    )


def test_it_rejects_a_payload_cut_after_a_whole_field_as_missing_the_crc() -> None:
    _rejects(
        VIETINBANK_DYNAMIC[:-8],
        "missing CRC tag 63: a VietQR payload must end with '6304' and 4 hex digits",
    )


def test_it_rejects_a_bad_crc_with_both_values() -> None:
    with pytest.raises(CRCMismatchError, match=r"^CRC mismatch: payload says C15D, computed C15C$"):
        parse(VIETINBANK_DYNAMIC[:-1] + "D")


def test_it_exposes_the_declared_and_computed_crc() -> None:
    with pytest.raises(CRCMismatchError) as caught:
        parse(ACB_STATIC[:-4] + "0000")
    assert (caught.value.declared, caught.value.computed) == ("0000", "AE9F")


def test_it_decodes_a_payload_with_a_bad_crc_when_not_verifying() -> None:
    assert parse(VIETINBANK_DYNAMIC[:-4] + "0000", verify_crc=False) == parse(VIETINBANK_DYNAMIC)


def test_it_accepts_a_lowercase_crc() -> None:
    assert parse(ACB_STATIC[:-4] + "ae9f").bin == "970416"


def test_it_rejects_a_non_hex_crc_even_when_not_verifying() -> None:
    with pytest.raises(
        VietQRError, match=r"^tag 63 at position 82: CRC must be 4 hex digits, got 'AE9G'$"
    ):
        parse(ACB_STATIC[:-4] + "AE9G", verify_crc=False)


def test_it_rejects_a_wrong_guid() -> None:
    _rejects(
        payload(merchant_field=merchant(guid="A000000728")),
        "tag 38.00 at position 16: GUID must be 'A000000727', got 'A000000728'",
    )


def test_it_rejects_a_non_digit_length() -> None:
    _rejects(
        VIETINBANK_DYNAMIC.replace("5406120000", "54a6120000"),
        "tag 54 at position 80 has a non-digit length 'a6'",
    )


def test_it_rejects_a_non_digit_tag_id() -> None:
    _rejects(
        VIETINBANK_DYNAMIC.replace("5802VN", "X802VN"),
        "tag id at position 90 must be 2 digits, got 'X8'",
    )


def test_it_rejects_trailing_garbage_after_the_crc() -> None:
    _rejects(
        VIETINBANK_DYNAMIC + "XYZ",
        "unexpected data after CRC tag 63 (position 117) at position 125: 'XYZ'",
    )


def test_it_rejects_a_crc_tag_that_is_not_last() -> None:
    body = VIETINBANK_DYNAMIC[:96] + "6304"
    moved = body + crc16_ccitt_false(body) + "62170813ung ho lu lut"
    _rejects(
        moved,
        "CRC tag 63 at position 96 must be the last field, but tag 62 follows at position 104",
    )


def test_it_rejects_a_bad_currency() -> None:
    _rejects(
        payload(currency="840"), "tag 53 at position 73: currency must be '704' (VND), got '840'"
    )


def test_it_rejects_a_bad_country() -> None:
    _rejects(payload(country="LA"), "tag 58 at position 90: country must be 'VN', got 'LA'")


def test_it_rejects_a_bad_payload_format_indicator() -> None:
    _rejects(
        payload(fmt="02"),
        "tag 00 at position 0: payload format indicator must be '01', got '02'",
    )


def test_it_rejects_a_payload_not_starting_with_tag_00() -> None:
    _rejects(
        signed(tlv("01", "12"), tlv("00", "01")),
        "payload must start with tag 00 (payload format indicator), found tag 01 at position 0",
    )


def test_it_rejects_an_unknown_point_of_initiation() -> None:
    _rejects(
        payload(poi="13"),
        "tag 01 at position 6: point of initiation method must be '11' (static) "
        "or '12' (dynamic), got '13'",
    )


def test_it_rejects_a_wrong_service_code() -> None:
    beneficiary = tlv("00", "970415") + tlv("01", "0011001932418")
    field = tlv("38", tlv("00", "A000000727") + tlv("01", beneficiary) + tlv("02", "QRIBFTTX"))
    _rejects(
        payload(merchant_field=field),
        "tag 38.02 at position 61: service code must be 'QRIBFTTA' (to account) "
        "or 'QRIBFTTC' (to card), got 'QRIBFTTX'",
    )


def test_it_rejects_a_short_bin_inside_the_nested_template() -> None:
    _rejects(
        payload(merchant_field=merchant(bin="97041")),
        "tag 38.01.00 at position 34: bank BIN must be 6 digits, got '97041'",
    )


def test_it_rejects_an_overlong_account_inside_the_nested_template() -> None:
    _rejects(
        payload(merchant_field=merchant(account="1" * 20)),
        "tag 38.01.01 at position 44: account number must be at most 19 characters, "
        "got 20 ('" + "1" * 20 + "')",
    )


def test_it_rejects_a_nested_length_overrunning_its_template() -> None:
    broken = tlv("38", tlv("00", "A000000727") + "0150" + "0006970415")
    _rejects(
        payload(merchant_field=broken),
        "tag 38.01 at position 30 declares length 50 but only 10 characters remain",
    )


@pytest.mark.parametrize(
    ("subfields", "message"),
    [
        ("0208QRIBFTTA", "missing tag 38.00 (GUID) in tag 38 at position 12"),
        ("0010A0000007270208QRIBFTTA", "missing tag 38.01 (beneficiary template)"),
        ("0010A00000072701100006970415", "missing tag 38.02 (service code)"),
    ],
)
def test_it_rejects_a_merchant_template_missing_a_subtag(subfields: str, message: str) -> None:
    with pytest.raises(VietQRError, match=re.escape(message)):
        parse(payload(merchant_field=tlv("38", subfields)))


def test_it_rejects_a_beneficiary_without_an_account() -> None:
    field = tlv("38", tlv("00", "A000000727") + tlv("01", tlv("00", "970415")) + "0208QRIBFTTA")
    _rejects(
        payload(merchant_field=field),
        "missing tag 38.01.01 (account or card number) in tag 38.01 at position 30",
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("120000.00", "tag 54 at position 80: amount must be whole VND digits, got '120000.00'"),
        ("0", "tag 54 at position 80: amount must be at least 1 VND, got 0"),
        ("1" * 14, "tag 54 at position 80: amount must be at most 13 digits, got 14"),
    ],
)
def test_it_rejects_a_bad_amount_field(amount: str, message: str) -> None:
    _rejects(payload(amount=amount), message)


def test_it_rejects_a_missing_currency() -> None:
    fields = [tlv("00", "01"), tlv("01", "11"), merchant(), tlv("58", "VN")]
    _rejects(signed(*fields), "missing tag 53 (transaction currency)")


def test_it_rejects_a_repeated_tag() -> None:
    _rejects(
        payload(extra=tlv("54", "5000")),
        "tag 54 at position 96 is repeated (first at position 80)",
    )


def test_it_rejects_an_empty_field() -> None:
    _rejects(payload(extra="6200"), "tag 62 at position 96 has length 00; fields must not be empty")


def test_it_rejects_a_purpose_over_25_characters_in_a_payload() -> None:
    _rejects(
        payload(extra=tlv("62", tlv("08", "x" * 26))),
        "tag 62.08 at position 100: purpose must be at most 25 characters, got 26 ('"
        + "x" * 26
        + "')",
    )


def test_it_rejects_non_ascii_characters() -> None:
    _rejects(
        VIETINBANK_DYNAMIC.replace("ung ho", "ủng hộ"),
        "payload must be printable ASCII, got 'ủ' at position 104",
    )


def test_it_rejects_an_empty_payload() -> None:
    _rejects("", "payload is empty")


def test_it_ignores_unknown_optional_tags() -> None:
    extra = tlv("59", "NGUYEN VAN A") + tlv("60", "DA NANG") + tlv("62", tlv("01", "INV42"))
    qr = parse(payload(extra=extra))
    assert (qr.bin, qr.purpose) == ("970415", "")
