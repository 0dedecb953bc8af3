"""VietQR payloads: encode and decode NAPAS bank-transfer QR codes (images: core.qr).

VietQR is the national QR standard for bank transfers in Vietnam, run by NAPAS
(Công ty Cổ phần Thanh toán Quốc gia Việt Nam, the national payment switch that
also operates the instant 24/7 interbank transfer network "NAPAS 247"). A VietQR
code is an EMVCo "merchant-presented mode" payload: the trader shows the code,
the customer scans it with any Vietnamese banking app, and the app pre-fills the
transfer (bank, account, amount, message). No card network or e-wallet is
involved; the money moves bank to bank.

The payload is a flat string of TLV fields: a 2-digit tag id, a 2-digit length
(in characters) and the value. Tags 38 and 62 are templates whose value is
itself a TLV string. The fields we emit, in this order:

====  ================================================================
00    payload format indicator, always ``01``
01    point of initiation: ``11`` static (reusable), ``12`` dynamic (one-off)
38    NAPAS merchant account template:
      ``00`` GUID ``A000000727``;
      ``01`` beneficiary template {``00`` bank BIN (6 digits), ``01`` account
      or card number};
      ``02`` service: ``QRIBFTTA`` to an account, ``QRIBFTTC`` to a card
53    currency, ``704`` (VND, đồng)
54    amount in whole VND (optional, at most 13 digits)
58    country, ``VN``
62    additional data template: ``08`` is the transfer message
      ("nội dung chuyển khoản", what the payer's bank shows and the
      beneficiary's statement carries; at most 25 characters); the other
      sub-fields (``01`` bill number, ``05`` reference label, ``07``
      terminal label, ...; see :mod:`payments.vietqr.emv`) are optional
63    CRC-16/CCITT-FALSE over everything before it, including ``6304``
====  ================================================================

Any other top-level field (``59`` merchant name, ``60`` city, ``64``
language template, ``80``-``99`` unreserved templates, ...) is kept as it came
in :attr:`VietQR.other_fields`, and the tag 62 sub-fields other than ``08`` in
:attr:`VietQR.additional_data`, so ``encode(parse(payload)) == payload``. We
emit fields in ascending tag order (as NAPAS's examples do); a payload in
another order keeps it in :attr:`VietQR.order`. Not kept, so not rebuilt byte
for byte: a tag 38 laid out other than shown above (other order or extra
sub-fields), an amount with leading zeros, a lowercase CRC (we write uppercase).

Modules: :mod:`~payments.vietqr.emv` (errors, CRC, TLV, tag 62 rules),
:mod:`~payments.vietqr.model` (the dataclass and field rules),
:mod:`~payments.vietqr.codec` (encode, build, parse, JSON form). The QR images (PNG and
SVG) are drawn by :mod:`core.qr`, shared with einvoice and market.

The bank BIN ("Bank Identification Number", 6 digits such as 970436 for
Vietcombank) identifies the beneficiary bank on NAPAS.

Because lengths count characters and bank apps disagree on non-ASCII text, the
transfer message is reduced to printable ASCII: Vietnamese diacritics are
removed ("Thanh toán đơn hàng" becomes "Thanh toan don hang").

Money is always an ``int`` number of đồng; VND has no minor unit.
"""

from payments.vietqr.codec import (
    build,
    encode,
    from_dict,
    normalize_purpose,
    parse,
    to_dict,
)
from payments.vietqr.emv import (
    MAX_FIELD_LENGTH,
    CRCMismatchError,
    VietQRError,
    crc16_ccitt_false,
)
from payments.vietqr.model import (
    COUNTRY_VN,
    CURRENCY_VND,
    MAX_ACCOUNT_LENGTH,
    MAX_AMOUNT,
    MAX_AMOUNT_DIGITS,
    MAX_PURPOSE_LENGTH,
    NAPAS_GUID,
    PAYLOAD_FORMAT,
    SERVICE_TO_ACCOUNT,
    SERVICE_TO_CARD,
    Initiation,
    VietQR,
)

__all__ = [
    "COUNTRY_VN",
    "CURRENCY_VND",
    "MAX_ACCOUNT_LENGTH",
    "MAX_AMOUNT",
    "MAX_AMOUNT_DIGITS",
    "MAX_FIELD_LENGTH",
    "MAX_PURPOSE_LENGTH",
    "NAPAS_GUID",
    "PAYLOAD_FORMAT",
    "SERVICE_TO_ACCOUNT",
    "SERVICE_TO_CARD",
    "CRCMismatchError",
    "Initiation",
    "VietQR",
    "VietQRError",
    "build",
    "crc16_ccitt_false",
    "encode",
    "from_dict",
    "normalize_purpose",
    "parse",
    "to_dict",
]
