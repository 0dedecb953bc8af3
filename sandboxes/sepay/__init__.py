"""Sandbox SePay: bank alerts in SePay's webhook format, retried as SePay retries, and its
transaction list API (PROTOCOL.md)."""

from .server import SePaySandbox, auth_headers, body_of

__all__ = ["SePaySandbox", "auth_headers", "body_of"]
