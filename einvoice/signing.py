"""The seller's digital signature (chữ ký số) on an invoice: enveloped XMLDSig.

RSA-SHA256, exclusive C14N, one Reference to ``#data`` (DLHDon) and one to an ``Object`` holding
``SignatureProperties/SignatureProperty/SigningTime``, the way Vietnamese signing tools do it. The
Signature is made by signxml's ``XMLSigner``, placed in ``DSCKS/NBan``, and checked right after
signing on the very bytes that are stored (``sign_and_check``): both digests recomputed, the
signature value verified with the certificate's public key, the certificate in KeyInfo ours. That
is what signxml's verifier checks for this one layout, at a sixth of its cost; signxml's own
verification runs on top when ``EINVOICE_VERIFY_AFTER_SIGN`` is on, and on every stored invoice
read back (``verify``, the pages, the tests).

The signing material (certificate, decrypted key, public key) is cached per process, keyed by the
certificate's id and a fingerprint of its encrypted key, so a rotated key (a new row, or a changed
one) is never used stale; a key that does not belong to its certificate is refused when loaded.

Certificates (chứng thư số): in the demo each merchant gets a self-signed certificate on first
need; in production the trader uploads a PKCS#12 file. The private key is stored only as a Fernet
token, keyed from ``settings.EINVOICE_KEY_SECRET`` (or, when unset, derived from SECRET_KEY with
HKDF); the PKCS#12 password is never stored.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature as InvalidRSASignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from lxml import etree
from signxml import DigestAlgorithm, SignatureConstructionMethod, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidSignature

from core import sealing
from core.errors import ValidationFailed
from merchants.models import Merchant

from .models import SigningCertificate
from .xmlbuild import DATA_ID

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SIGNATURE_ID = "seller-signature"
# XMLDSig wants SignatureProperty content in a foreign namespace. This is the one public
# Vietnamese invoice samples use (unverified against an official spec).
SIGNING_TIME_NS = "http://example.org/#signatureProperties"
SIGNING_TIME_ID = "signing-time"
DEMO_VALIDITY = timedelta(days=3 * 365)


class SignatureBroken(RuntimeError):
    """The signature just made does not verify: a bug or a bad key, never stored."""


@dataclass(frozen=True)
class SigningMaterial:
    certificate_pem: str
    key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey | None = None  # the certificate's; None: read from the PEM
    # The parsed certificate, handed to signxml as is (a PEM string is split and parsed again on
    # every signature); None: signxml reads the PEM.
    certificate: x509.Certificate | None = None


# ---------------------------------------------------------------------------------------------
# Keys at rest


def _fernet() -> Fernet:
    secret = getattr(settings, "EINVOICE_KEY_SECRET", "") or settings.SECRET_KEY
    return sealing.fernet(secret, salt=b"choso-einvoice", info=b"signing-key-at-rest")


def encrypt_key(key: rsa.RSAPrivateKey) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _fernet().encrypt(pem).decode("ascii")


_keys: dict[tuple[int, str], rsa.RSAPrivateKey] = {}
_keys_lock = threading.Lock()


def decrypt_key(cert: SigningCertificate) -> rsa.RSAPrivateKey:
    """The certificate's private key (cached per process: loading an RSA key costs ~ms)."""
    cache_key = (cert.pk, cert.key_encrypted[-16:])
    with _keys_lock:
        found = _keys.get(cache_key)
    if found is not None:
        return found
    try:
        pem = _fernet().decrypt(cert.key_encrypted.encode("ascii"))
    except InvalidToken as exc:
        raise RuntimeError("signing key cannot be decrypted: EINVOICE_KEY_SECRET changed?") from exc
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RuntimeError("signing key is not RSA")
    with _keys_lock:
        _keys[cache_key] = key
    return key


# ---------------------------------------------------------------------------------------------
# Certificates


def _subject(merchant: Merchant) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, merchant.legal_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, merchant.legal_name[:64]),
            # Vietnamese CAs put the tax code in the UID attribute as "MST:…".
            x509.NameAttribute(NameOID.USER_ID, f"MST:{merchant.tax_code}"),
        ]
    )


def demo_certificate(merchant: Merchant) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC).replace(microsecond=0)
    name = _subject(merchant)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + DEMO_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _store(
    merchant: Merchant, cert: x509.Certificate, key: rsa.RSAPrivateKey, source: str
) -> SigningCertificate:
    return SigningCertificate.objects.create(
        merchant=merchant,
        source=source,
        subject=cert.subject.rfc4514_string()[:255],
        serial=format(cert.serial_number, "x")[:64],
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        key_encrypted=encrypt_key(key),
    )


def certificate_for(merchant: Merchant) -> SigningCertificate:
    """The merchant's active certificate; a demo one is made on first need."""
    found = SigningCertificate.objects.filter(merchant=merchant, is_active=True).first()
    if found is not None:
        return found
    cert, key = demo_certificate(merchant)
    try:
        with transaction.atomic():
            return _store(merchant, cert, key, SigningCertificate.Source.DEMO)
    except IntegrityError:
        # Another issue made one at the same moment (one active certificate per merchant).
        return SigningCertificate.objects.get(merchant=merchant, is_active=True)


def certificate_upload(
    *, merchant: Merchant, pkcs12_data: bytes, password: str
) -> SigningCertificate:
    """Install an uploaded PKCS#12 (.p12/.pfx) as the merchant's active certificate.

    The password opens the file here and is then forgotten; the key is stored encrypted.
    """
    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(
            pkcs12_data, password.encode() if password else None
        )
    except ValueError:
        raise ValidationFailed(
            _("Không mở được tệp chứng thư số: sai mật khẩu hoặc tệp không phải PKCS#12."),
            code="bad_certificate",
        ) from None
    if cert is None or not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationFailed(
            _("Tệp chứng thư số phải chứa chứng thư và khóa riêng RSA."), code="bad_certificate"
        )
    if cert.not_valid_after_utc <= timezone.now():
        raise ValidationFailed(_("Chứng thư số đã hết hạn."), code="certificate_expired")
    with transaction.atomic():
        SigningCertificate.objects.filter(merchant=merchant, is_active=True).update(is_active=False)
        return _store(merchant, cert, key, SigningCertificate.Source.UPLOADED)


_materials: dict[tuple[int, str], SigningMaterial] = {}


def key_fingerprint(key_encrypted: str) -> str:
    """What tells one stored key from another: the end of its Fernet token (its HMAC)."""
    return key_encrypted[-16:]


def material(cert: SigningCertificate) -> SigningMaterial:
    """The certificate's signing material, cached per process by (id, key fingerprint).

    Loading checks that the key belongs to the certificate (same public numbers): a signature
    made with any other key would never verify against the certificate it carries."""
    cache_key = (cert.pk, key_fingerprint(cert.key_encrypted))
    with _keys_lock:
        found = _materials.get(cache_key)
    if found is not None:
        return found
    key = decrypt_key(cert)
    parsed = x509.load_pem_x509_certificate(cert.certificate_pem.encode("ascii"))
    public = parsed.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or (
        public.public_numbers() != key.public_key().public_numbers()
    ):
        raise SignatureBroken(f"certificate {cert.pk}: the stored key is not the certificate's")
    found = SigningMaterial(
        certificate_pem=cert.certificate_pem, key=key, public_key=public, certificate=parsed
    )
    with _keys_lock:
        _materials[cache_key] = found
    return found


def material_of(*, certificate_id: int, fingerprint: str) -> SigningMaterial:
    """The material of the certificate ``certificate_id`` whose key has ``fingerprint`` (both
    read in the issuing transaction): from the process cache, else from its row (once)."""
    with _keys_lock:
        found = _materials.get((certificate_id, fingerprint))
    if found is not None:
        return found
    return material(SigningCertificate.objects.get(pk=certificate_id))


# ---------------------------------------------------------------------------------------------
# Sign and verify


@functools.cache
def _signer() -> XMLSigner:
    """One signer per process: it holds only its algorithms (signxml's sign keeps no state on it
    between calls)."""
    return XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )


def sign(root: etree._Element, signer: SigningMaterial, signing_time: datetime) -> etree._Element:
    """Sign ``root`` (an HDon element) in place and return it.

    The Signature replaces a placeholder in ``DSCKS/NBan``. Its ``Object`` (SigningTime) is put
    into the placeholder first so its digest can be referenced, then moved after ``KeyInfo``
    where XMLDSig wants it: exclusive C14N of the Object does not depend on where it sits.
    """
    slot = root.find("DSCKS/NBan")
    if slot is None:
        raise ValueError("HDon has no DSCKS/NBan")
    placeholder = etree.SubElement(slot, f"{{{DS}}}Signature", nsmap={"ds": DS})
    placeholder.set("Id", "placeholder")
    obj = etree.SubElement(placeholder, f"{{{DS}}}Object")
    obj.set("Id", SIGNING_TIME_ID)
    props = etree.SubElement(obj, f"{{{DS}}}SignatureProperties")
    prop = etree.SubElement(props, f"{{{DS}}}SignatureProperty")
    prop.set("Target", f"#{SIGNATURE_ID}")
    when = etree.SubElement(
        prop, f"{{{SIGNING_TIME_NS}}}SigningTime", nsmap={None: SIGNING_TIME_NS}
    )
    when.text = timezone.localtime(signing_time).isoformat(timespec="seconds")

    signed = _signer().sign(
        root,
        key=signer.key,
        cert=[signer.certificate] if signer.certificate is not None else signer.certificate_pem,
        reference_uri=[f"#{DATA_ID}", f"#{SIGNING_TIME_ID}"],
    )
    signature = signed.find(f"DSCKS/NBan/{{{DS}}}Signature")
    assert signature is not None
    signature.set("Id", SIGNATURE_ID)
    moved = signature.find(f"{{{DS}}}Object")
    assert moved is not None
    signature.append(moved)  # lxml moves the element: now after KeyInfo
    return signed


def verify(xml: str | bytes, certificate_pem: str) -> bool:
    """True when the seller's signature verifies against the certificate and covers DLHDon."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        results = XMLVerifier().verify(
            data, x509_cert=certificate_pem, expect_references=2, id_attribute="Id"
        )
    except (InvalidSignature, etree.XMLSyntaxError, ValueError):
        return False
    signed = results if isinstance(results, list) else [results]
    return any(
        r.signed_xml is not None and etree.QName(r.signed_xml).localname == "DLHDon" for r in signed
    )


def _c14n_digest(element: etree._Element) -> str:
    canonical = etree.tostring(element, method="c14n", exclusive=True)
    return base64.b64encode(hashlib.sha256(canonical).digest()).decode("ascii")


def _pem_body(certificate_pem: str) -> str:
    return "".join(
        "".join(line.split()) for line in certificate_pem.splitlines() if "-----" not in line
    )


def signature_problem(data: bytes, signer: SigningMaterial) -> str:
    """Why our own signature on ``data`` (an invoice just signed, as it will be stored) does not
    hold ("" when it does): the checks signxml's verifier makes, for our one layout.

    Both references (``#data`` → DLHDon, ``#signing-time`` → the Object) are recomputed from the
    parsed bytes and compared with their DigestValue; the SignatureValue is verified over the
    exclusive C14N of SignedInfo with the certificate's public key; KeyInfo carries that
    certificate. Our transforms (enveloped signature, exclusive C14N) reduce to the C14N of the
    referenced element: neither holds a Signature."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return f"not XML: {exc}"
    signature = root.find(f"DSCKS/NBan/{{{DS}}}Signature")
    if signature is None:
        return "no signature in DSCKS/NBan"
    info = signature.find(f"{{{DS}}}SignedInfo")
    if info is None:
        return "no SignedInfo"
    targets = {
        f"#{DATA_ID}": root.find("DLHDon"),
        f"#{SIGNING_TIME_ID}": signature.find(f"{{{DS}}}Object"),
    }
    references = info.findall(f"{{{DS}}}Reference")
    if sorted(str(r.get("URI")) for r in references) != sorted(targets):
        return "the references are not DLHDon and the signing time"
    for reference in references:
        uri = str(reference.get("URI"))
        target = targets[uri]
        if target is None or target.get("Id") != uri[1:]:
            return f"{uri} is not in the document"
        if reference.findtext(f"{{{DS}}}DigestValue") != _c14n_digest(target):
            return f"the digest of {uri} does not match"
    carried = signature.findtext(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate", "")
    if "".join(carried.split()) != _pem_body(signer.certificate_pem):
        return "KeyInfo does not carry the signing certificate"
    public = signer.public_key
    if public is None:
        loaded = x509.load_pem_x509_certificate(signer.certificate_pem.encode()).public_key()
        if not isinstance(loaded, rsa.RSAPublicKey):
            return "the certificate's key is not RSA"
        public = loaded
    try:
        value = base64.b64decode(signature.findtext(f"{{{DS}}}SignatureValue", ""))
        public.verify(
            value,
            etree.tostring(info, method="c14n", exclusive=True),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidRSASignature, ValueError):
        return "the signature value does not verify with the certificate"
    return ""


def sign_and_check(root: etree._Element, signer: SigningMaterial, signing_time: datetime) -> bytes:
    """Sign ``root`` and return the document's bytes (what is stored), checked: a signature that
    does not hold raises SignatureBroken, so it is never stored or sent."""
    signed = sign(root, signer, signing_time)
    data: bytes = etree.tostring(signed, encoding="UTF-8", xml_declaration=True)
    problem = signature_problem(data, signer)
    if problem:
        raise SignatureBroken(f"the invoice signature does not verify: {problem}")
    if getattr(settings, "EINVOICE_VERIFY_AFTER_SIGN", False) and not verify(
        data, signer.certificate_pem
    ):
        raise SignatureBroken("the invoice signature does not verify (signxml)")
    return data


# ---------------------------------------------------------------------------------------------
# The authority's document of a coded invoice


def authority_document_problem(*, ours: str, theirs: str, code: str) -> str:
    """Why the tax authority's returned document cannot stand for our invoice ("" when it can).

    It must be our invoice (``DLHDon`` and the seller's signature byte-for-byte the same after
    exclusive C14N), carry the authority's code in ``MCCQT`` and its signature in ``DSCKS/CQT``.
    The authority's signature is kept as received (its certificate is the authority's to vouch
    for); the seller's still verifies inside it.
    """
    if not theirs:
        return "no document"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        mine = etree.fromstring(ours.encode("utf-8"), parser)
        doc = etree.fromstring(theirs.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        return f"not XML: {exc}"
    for path in ("DLHDon", "DSCKS/NBan"):
        a, b = mine.find(path), doc.find(path)
        if a is None or b is None:
            return f"no {path}"
        if etree.tostring(a, method="c14n", exclusive=True) != etree.tostring(
            b, method="c14n", exclusive=True
        ):
            return f"{path} differs from the invoice issued"
    if (doc.findtext("MCCQT") or "") != code:
        return "MCCQT is not the authority's code"
    if doc.find(f"DSCKS/CQT/{{{DS}}}Signature") is None:
        return "no signature of the authority in DSCKS/CQT"
    return ""
