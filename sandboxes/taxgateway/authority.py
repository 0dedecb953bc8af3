"""The tax authority's side of a coded invoice: its code (MCCQT) and its signature.

When the gateway accepts a coded (``C…``, not cash-register) invoice it returns the document the
buyer is to hold: the seller's XML with ``MCCQT`` filled in and the authority's XMLDSig signature
in ``DSCKS/CQT`` (enveloped, over the whole ``HDon``: RSA-SHA256, exclusive C14N). The sandbox
signs with a self-signed "Cục Thuế (sandbox)" certificate made when it starts.

Needs ``cryptography`` and ``signxml`` (the platform has both); without them the document is
returned unsigned, with the code only.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


class AuthoritySigner:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._material: tuple[Any, str] | None = None

    def _key_and_cert(self) -> tuple[Any, str]:
        with self._lock:
            if self._material is None:
                from cryptography import x509
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import rsa
                from cryptography.x509.oid import NameOID

                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                name = x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "Cục Thuế (sandbox)"),
                    ]
                )
                now = datetime.now(UTC)
                cert = (
                    x509.CertificateBuilder()
                    .subject_name(name)
                    .issuer_name(name)
                    .public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - timedelta(days=1))
                    .not_valid_after(now + timedelta(days=3650))
                    .sign(key, hashes.SHA256())
                )
                pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
                self._material = (key, pem)
            return self._material

    @property
    def certificate_pem(self) -> str:
        return self._key_and_cert()[1]

    def coded_document(self, xml: str, code: str) -> str:
        """``xml`` with ``MCCQT`` = ``code`` and the authority's signature in ``DSCKS/CQT``."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(xml.encode("utf-8"), parser)
        mccqt = root.find("MCCQT")
        if mccqt is None:
            mccqt = etree.Element("MCCQT")
            signatures = root.find("DSCKS")
            if signatures is not None:
                signatures.addprevious(mccqt)
            else:
                root.append(mccqt)
        mccqt.text = code
        slot = root.find("DSCKS/CQT")
        if slot is None:
            return _serialize(root)
        try:
            from signxml import DigestAlgorithm, SignatureConstructionMethod, XMLSigner
        except ImportError:  # pragma: no cover - the platform's environment has signxml
            return _serialize(root)
        key, pem = self._key_and_cert()
        placeholder = etree.SubElement(slot, f"{{{DS}}}Signature", nsmap={"ds": DS})
        placeholder.set("Id", "placeholder")
        signed = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm="rsa-sha256",
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=EXC_C14N,
        ).sign(root, key=key, cert=pem)
        signature = signed.find(f"DSCKS/CQT/{{{DS}}}Signature")
        if signature is not None:
            signature.set("Id", "cqt-signature")
        return _serialize(signed)


def _serialize(root: Any) -> str:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8")
