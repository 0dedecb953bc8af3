"""Bank-app links ("Mở ứng dụng ngân hàng") a shopper on the same phone taps to open a banking
app with the transfer filled in, through VietQR.io's public deeplink redirector
(docs/bank-app-deeplinks.md).

These are links only, shown next to the QR, the copy buttons and the saved QR image; nothing here
creates or moves money. Which app ids autofill is VietQR.io's to say and changes over time: the
doc records what was publicly documented when the list was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

DEEPLINK_BASE = "https://dl.vietqr.io/pay"

# The receiving bank's code in the ``ba`` parameter (``{account}@{code}``, lower case), by BIN.
# VietQR's bank list names each bank by such a code (VCB, ICB, BIDV, ...).
BANK_CODES: dict[str, str] = {
    "970436": "vcb",
    "970415": "icb",
    "970418": "bidv",
    "970405": "vba",
    "970407": "tcb",
    "970422": "mb",
    "970416": "acb",
    "970432": "vpb",
    "970423": "tpb",
    "970403": "stb",
    "970437": "hdb",
    "970441": "vib",
    "970443": "shb",
    "970448": "ocb",
    "970426": "msb",
    "970431": "eib",
    "970440": "seab",
    "970449": "lpb",
    "970454": "bvb",
}


@dataclass(frozen=True)
class BankApp:
    app_id: str
    name: str


# The shopper's app (any bank can receive: NAPAS 247). Order: the apps VietQR.io documents as
# filling in the transfer first, then the others commonly used.
BANK_APPS: tuple[BankApp, ...] = (
    BankApp("mb", "MB Bank"),
    BankApp("icb", "VietinBank iPay"),
    BankApp("bidv", "BIDV SmartBanking"),
    BankApp("acb", "ACB ONE"),
    BankApp("ocb", "OCB OMNI"),
    BankApp("vcb", "Vietcombank"),
)


@dataclass(frozen=True)
class AppLink:
    app: BankApp
    url: str


def deeplinks(*, bank_bin: str, account_number: str, amount: int, content: str) -> list[AppLink]:
    """One link per app, or none when the receiving bank has no known code."""
    code = BANK_CODES.get(bank_bin)
    if not code or not account_number.isdigit() or amount <= 0:
        return []
    # The documented form keeps "@" in ``ba`` as is; the rest is ordinary query encoding.
    tail = f"&am={int(amount)}&tn={quote(content, safe='')}&ba={account_number}@{code}"
    return [AppLink(app, f"{DEEPLINK_BASE}?app={app.app_id}{tail}") for app in BANK_APPS]
