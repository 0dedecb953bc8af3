"""Sandbox MoMo payment gateway v2 (captureWallet): create, query, refund, a shopper page, IPNs.

See PROTOCOL.md beside this file.
"""

from .server import MomoSandbox, sign

__all__ = ["MomoSandbox", "sign"]
