"""The sandbox bank reads VietQR with its own reader (sandboxes/banknotify/napas.py), so what the
product writes is checked by code that did not write it."""

from __future__ import annotations

import pytest

from merchants.banks import BANKS
from payments import vietqr
from sandboxes.banknotify import napas

# Public vectors from the payments fact sheet (shared/reference/payments.md §1).
VIETINBANK_DYNAMIC = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
ACB_STATIC = (
    "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
)


def test_it_reads_the_published_vectors() -> None:
    dynamic = napas.read_vietqr(VIETINBANK_DYNAMIC)
    assert dynamic == napas.ReadQR(
        "dynamic", "970415", "0011001932418", False, 120000, "ung ho lu lut"
    )
    static = napas.read_vietqr(ACB_STATIC)
    assert (static.initiation, static.bin, static.amount, static.purpose) == (
        "static",
        "970416",
        None,
        "",
    )


@pytest.mark.parametrize("bank", BANKS, ids=lambda b: b.short_name)
def test_it_knows_every_bank_the_product_offers_and_reads_its_qr(bank) -> None:
    assert napas.bank_by_bin(bank.bin).short_name == bank.short_name
    payload = vietqr.build(bin=bank.bin, account="0011001932418", amount=153_000, purpose="CS7K2QX")
    read = napas.read_vietqr(payload)
    assert (read.bin, read.account, read.amount, read.purpose) == (
        bank.bin,
        "0011001932418",
        153_000,
        "CS7K2QX",
    )


def test_it_reads_a_static_card_qr_with_extra_fields() -> None:
    payload = vietqr.build(
        bin="970436", account="9704360012345678", card=True, static=True, bill_number="HD42"
    )
    read = napas.read_vietqr(payload)
    assert (read.initiation, read.is_card, read.amount, read.purpose) == ("static", True, None, "")


def test_it_refuses_a_changed_character_as_a_bad_checksum() -> None:
    with pytest.raises(napas.QRBadChecksum):
        napas.read_vietqr(VIETINBANK_DYNAMIC.replace("5406120000", "5406190000"))


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "000201010212garbage",
        VIETINBANK_DYNAMIC[:-4] + "ZZZZ",
        # Another network's GUID in tag 38, with a correct CRC.
        vietqr.encode(vietqr.parse(ACB_STATIC)).replace("A000000727", "A000000999"),
    ],
)
def test_it_refuses_what_a_bank_app_would_not_read(payload: str) -> None:
    if "A000000999" in payload:
        body = payload[:-4]
        payload = body + f"{napas.crc16(body.encode()):04X}"
    with pytest.raises(napas.QRUnreadable):
        napas.read_vietqr(payload)


def test_it_passes_a_typed_message_on_without_diacritics() -> None:
    assert napas.plain_message("  Trả tiền   cá thu\tđợt 2 ") == "Tra tien ca thu dot 2"
