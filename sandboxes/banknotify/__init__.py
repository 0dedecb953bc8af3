"""Sandbox bank-notification service (a stand-in for SePay / Casso); protocol in README.md.

Imports nothing from the Django project except the pure modules ``payments.vietqr`` and
``merchants.banks``; run it with ``python -m sandboxes.banknotify``.
"""

from .ledger import TransferError, format_vnd
from .server import BankNotifySandbox
from .signing import SIGNATURE_HEADER, sign, verify

__all__ = ["SIGNATURE_HEADER", "BankNotifySandbox", "TransferError", "format_vnd", "sign", "verify"]
