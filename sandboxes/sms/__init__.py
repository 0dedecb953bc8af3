"""A sandbox SMS gateway on loopback (``python -m sandboxes.sms``); protocol in PROTOCOL.md."""

from .server import SmsSandbox

__all__ = ["SmsSandbox"]
