"""The sandbox bank's own view of NAPAS: the banks it knows and how it reads a VietQR code.

Written for the sandbox, apart from the product (payments.vietqr, merchants.banks): a bank's app
reads the trader's QR with its own reader, so a payload the product gets wrong fails here as it
would at a real bank, instead of being read back by the very code that wrote it.

A VietQR payload is EMVCo merchant-presented mode: fields ``id (2 digits) length (2 digits)
value``; templates (38, 62) hold fields of their own. What a payer's bank needs: the beneficiary
(tag 38: GUID ``A000000727``, 01 = {00 BIN, 01 account or card}, 02 service ``QRIBFTTA`` to an
account or ``QRIBFTTC`` to a card), the amount (54, whole đồng, optional), the message (62.08),
and a CRC-16/CCITT-FALSE (63) over everything before its value.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from unidecode import unidecode

NAPAS_GUID = "A000000727"
MAX_AMOUNT = 9_999_999_999_999  # 13 digits: the most tag 54 can carry


@dataclass(frozen=True)
class NapasBank:
    bin: str
    short_name: str
    name: str


# The NAPAS 247 members this sandbox plays, by BIN (the State Bank's list).
_MEMBERS = """
970405 Agribank     Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam
970407 Techcombank  Ngân hàng TMCP Kỹ thương Việt Nam
970415 VietinBank   Ngân hàng TMCP Công thương Việt Nam
970416 ACB          Ngân hàng TMCP Á Châu
970418 BIDV         Ngân hàng TMCP Đầu tư và Phát triển Việt Nam
970422 MB           Ngân hàng TMCP Quân đội
970423 TPBank       Ngân hàng TMCP Tiên Phong
970426 MSB          Ngân hàng TMCP Hàng Hải Việt Nam
970431 Eximbank     Ngân hàng TMCP Xuất Nhập khẩu Việt Nam
970432 VPBank       Ngân hàng TMCP Việt Nam Thịnh Vượng
970436 Vietcombank  Ngân hàng TMCP Ngoại thương Việt Nam
970437 HDBank       Ngân hàng TMCP Phát triển TP. Hồ Chí Minh
970440 SeABank      Ngân hàng TMCP Đông Nam Á
970441 VIB          Ngân hàng TMCP Quốc tế Việt Nam
970443 SHB          Ngân hàng TMCP Sài Gòn - Hà Nội
970448 OCB          Ngân hàng TMCP Phương Đông
970449 LPBank       Ngân hàng TMCP Lộc Phát Việt Nam
970454 BVBank       Ngân hàng TMCP Bản Việt
970403 Sacombank    Ngân hàng TMCP Sài Gòn Thương Tín
"""
BANKS: dict[str, NapasBank] = {}
for _line in _MEMBERS.strip().splitlines():
    _bin, _short, _name = _line.split(maxsplit=2)
    BANKS[_bin] = NapasBank(_bin, _short, _name)


def bank_by_bin(bin_code: str) -> NapasBank | None:
    return BANKS.get(bin_code)


class QRUnreadable(ValueError):
    """Not a VietQR code a bank's app would accept."""


class QRBadChecksum(QRUnreadable):
    """Well formed, but the CRC does not match: a character was lost or changed."""


@dataclass(frozen=True)
class ReadQR:
    initiation: str  # "static" (reusable, the payer keys the amount) or "dynamic" (one-off)
    bin: str
    account: str
    is_card: bool
    amount: int | None
    purpose: str  # 62.08, the transfer message


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, start 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _fields(text: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    i = 0
    while i < len(text):
        head = text[i : i + 4]
        if len(head) < 4 or not head.isdigit() or not head.isascii():
            raise QRUnreadable(f"{where}: a field header at position {i} is not 4 digits")
        size = int(head[2:])
        value = text[i + 4 : i + 4 + size]
        if len(value) < size:
            raise QRUnreadable(f"{where}: field {head[:2]} is cut short")
        if head[:2] in fields:
            raise QRUnreadable(f"{where}: field {head[:2]} appears twice")
        fields[head[:2]] = value
        i += 4 + size
    return fields


def read_vietqr(payload: str) -> ReadQR:
    """What a payer's bank reads in ``payload``; raises QRUnreadable (QRBadChecksum for a CRC)."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise QRUnreadable("the payload does not end with its CRC field (63)")
    try:
        written = int(payload[-4:], 16)
    except ValueError:
        raise QRUnreadable("the CRC is not 4 hex digits") from None
    if crc16(payload[:-4].encode("utf-8")) != written:
        raise QRBadChecksum("CRC mismatch")
    top = _fields(payload[:-8], "payload")
    if top.get("00") != "01":
        raise QRUnreadable("payload format indicator (00) is not 01")
    initiation = {"11": "static", "12": "dynamic"}.get(top.get("01", "11"))
    if initiation is None:
        raise QRUnreadable("point of initiation (01) is neither 11 nor 12")
    if "38" not in top:
        raise QRUnreadable("no NAPAS merchant account (38)")
    account_info = _fields(top["38"], "tag 38")
    if account_info.get("00") != NAPAS_GUID:
        raise QRUnreadable("tag 38 is not NAPAS's (GUID A000000727)")
    beneficiary = _fields(account_info.get("01", ""), "tag 38.01")
    bin_code, account = beneficiary.get("00", ""), beneficiary.get("01", "")
    if len(bin_code) != 6 or not bin_code.isdigit():
        raise QRUnreadable("the bank BIN (38.01.00) is not 6 digits")
    if not account or len(account) > 19 or not account.isalnum() or not account.isascii():
        raise QRUnreadable("the account (38.01.01) is missing or not 1-19 letters and digits")
    service = account_info.get("02", "")
    if service not in ("QRIBFTTA", "QRIBFTTC"):
        raise QRUnreadable("the service (38.02) is neither QRIBFTTA nor QRIBFTTC")
    if top.get("53") != "704":
        raise QRUnreadable("the currency (53) is not 704, đồng")
    if top.get("58") != "VN":
        raise QRUnreadable("the country (58) is not VN")
    amount: int | None = None
    if "54" in top:
        text = top["54"]
        if not text.isdigit() or not text.isascii() or int(text) == 0:
            raise QRUnreadable("the amount (54) is not a whole number of đồng above 0")
        amount = int(text)
    purpose = _fields(top["62"], "tag 62").get("08", "") if "62" in top else ""
    return ReadQR(initiation, bin_code, account, service == "QRIBFTTC", amount, purpose)


def plain_message(text: str) -> str:
    """A typed transfer message as a bank passes it on: ASCII letters, no diacritics
    ("Trả tiền cá" → "Tra tien ca"), printable characters only, single spaces."""
    ascii_text = unidecode(unicodedata.normalize("NFC", text))
    return " ".join("".join(c if " " <= c <= "~" else " " for c in ascii_text).split())
