"""Sandbox e-wallet provider (a stand-in for MoMo / ZaloPay); protocol in PROTOCOL.md.

Standard library only, nothing from the Django project; run it with ``python -m sandboxes.ewallet``.
"""

from .._common import format_vnd, sign, verify
from .ledger import EWalletError, normalize_phone
from .server import SIGNATURE_HEADER, EWalletSandbox

__all__ = [
    "SIGNATURE_HEADER",
    "EWalletError",
    "EWalletSandbox",
    "format_vnd",
    "normalize_phone",
    "sign",
    "verify",
]
