"""Sandbox tax-authority gateway (a stand-in for the GDT e-invoice gateway reached through a
provider); protocol in PROTOCOL.md.

Standard library plus lxml (XML, XSD) and python-stdnum (tax-code checksum); nothing from the
Django project. Run it with ``python -m sandboxes.taxgateway --port 8103``.
"""

from .server import GatewayError, TaxGatewaySandbox
from .validation import Facts, Schema, examine, tax_code_valid

__all__ = ["Facts", "GatewayError", "Schema", "TaxGatewaySandbox", "examine", "tax_code_valid"]
