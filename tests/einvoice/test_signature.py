"""The seller's signature: verifies with signxml against the certificate; any change fails."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature

from core.errors import ValidationFailed
from einvoice import selectors, services, signing
from einvoice.models import SigningCertificate

from .conftest import goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db


def issued():
    merchant = seller()
    vat_series(merchant)
    return services.invoice_issue(merchant=merchant, lines=[goods("Cá thu", "0.35", 180_000)])


def test_it_signs_vat_invoices_so_signxml_verifies_them():
    invoice = issued()
    cert = SigningCertificate.objects.get(merchant=invoice.merchant, is_active=True)
    results = XMLVerifier().verify(
        invoice.xml.encode(), x509_cert=cert.certificate_pem, expect_references=2
    )
    signed = [etree.QName(r.signed_xml).localname for r in results]
    assert signed == ["DLHDon", "Object"]
    assert signed_data_has(results[0].signed_xml, "SHDon", "1")
    assert selectors.signature_valid(invoice=invoice) is True


def signed_data_has(element, tag: str, text: str) -> bool:
    return any(el.text == text for el in element.iter(tag))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<SHDon>1</SHDon>", "<SHDon>7</SHDon>"),
        ("<ThTien>63000</ThTien>", "<ThTien>63001</ThTien>"),
        ("Cá thu", "Cá thụ"),
        ("+07:00</SigningTime>", "+08:00</SigningTime>"),
    ],
)
def test_a_changed_byte_breaks_the_signature(old, new):
    invoice = issued()
    cert = SigningCertificate.objects.get(merchant=invoice.merchant)
    assert old in invoice.xml
    tampered = invoice.xml.replace(old, new, 1)
    assert not signing.verify(tampered, cert.certificate_pem)
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(tampered.encode(), x509_cert=cert.certificate_pem, expect_references=2)


def test_one_flipped_byte_inside_dlhdon_fails():
    invoice = issued()
    cert = SigningCertificate.objects.get(merchant=invoice.merchant)
    raw = bytearray(invoice.xml.encode())
    start = raw.index(b"<DLHDon")
    at = raw.index(b"<THHDVu>", start) + len(b"<THHDVu>")
    raw[at] ^= 0x01  # "C" -> "B"
    assert not signing.verify(bytes(raw), cert.certificate_pem)


def test_another_certificate_does_not_verify():
    invoice = issued()
    other = signing.certificate_for(seller())
    assert not signing.verify(invoice.xml, other.certificate_pem)


def test_cash_register_invoices_are_unsigned_unless_configured(settings):
    merchant = seller()
    register_series(merchant)
    plain = services.invoice_issue(merchant=merchant, lines=[goods(rate="KCT")])
    assert not plain.is_signed and "Signature" not in plain.xml
    assert selectors.signature_valid(invoice=plain) is None
    settings.EINVOICE_SIGN_CASH_REGISTER = True
    signed = services.invoice_issue(merchant=merchant, lines=[goods(rate="KCT")])
    assert signed.is_signed and selectors.signature_valid(invoice=signed) is True


def test_the_demo_certificate_is_made_once_and_the_key_stored_encrypted():
    merchant = seller()
    first = signing.certificate_for(merchant)
    assert signing.certificate_for(merchant).pk == first.pk
    assert "PRIVATE KEY" not in first.key_encrypted
    assert first.source == SigningCertificate.Source.DEMO
    assert merchant.tax_code in first.subject
    key = signing.decrypt_key(first)
    cert = x509.load_pem_x509_certificate(first.certificate_pem.encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_the_key_does_not_open_with_another_secret(settings):
    cert = signing.certificate_for(seller())
    signing._keys.clear()
    settings.EINVOICE_KEY_SECRET = "another-secret"
    with pytest.raises(RuntimeError):
        signing.decrypt_key(cert)
    signing._keys.clear()


def p12_bundle(merchant, password: bytes) -> bytes:
    cert, key = signing.demo_certificate(merchant)
    return pkcs12.serialize_key_and_certificates(
        b"test", key, cert, None, serialization.BestAvailableEncryption(password)
    )


def test_an_uploaded_pkcs12_replaces_the_demo_certificate():
    merchant = seller()
    vat_series(merchant)
    demo = signing.certificate_for(merchant)
    uploaded = signing.certificate_upload(
        merchant=merchant, pkcs12_data=p12_bundle(merchant, b"mat-khau"), password="mat-khau"
    )
    demo.refresh_from_db()
    assert not demo.is_active and uploaded.is_active
    assert uploaded.source == SigningCertificate.Source.UPLOADED
    assert "mat-khau" not in uploaded.key_encrypted
    invoice = services.invoice_issue(merchant=merchant, lines=[goods()])
    assert signing.verify(invoice.xml, uploaded.certificate_pem)
    assert selectors.signature_valid(invoice=invoice) is True


def test_a_wrong_pkcs12_password_is_a_validation_error():
    merchant = seller()
    with pytest.raises(ValidationFailed):
        signing.certificate_upload(
            merchant=merchant, pkcs12_data=p12_bundle(merchant, b"dung"), password="sai"
        )
    with pytest.raises(ValidationFailed):
        signing.certificate_upload(merchant=merchant, pkcs12_data=b"not a p12", password="")


def test_the_certificate_fingerprint_is_sha256():
    cert = signing.certificate_for(seller())
    parsed = x509.load_pem_x509_certificate(cert.certificate_pem.encode())
    assert parsed.signature_hash_algorithm.name == hashes.SHA256().name


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<SHDon>1</SHDon>", "<SHDon>7</SHDon>"),
        ("Cá thu", "Cá thụ"),
        ("+07:00</SigningTime>", "+08:00</SigningTime>"),
        ('URI="#data"', 'URI="#other"'),
    ],
)
def test_the_check_after_signing_refuses_what_signxml_refuses(old, new):
    invoice = issued()
    material = signing.material(signing.certificate_for(invoice.merchant))
    assert signing.signature_problem(invoice.xml.encode(), material) == ""
    tampered = invoice.xml.replace(old, new, 1).encode()
    assert signing.signature_problem(tampered, material) != ""
    assert not signing.verify(tampered, material.certificate_pem)


def test_the_check_after_signing_wants_the_certificate_in_key_info():
    # Stricter than signxml given the certificate, which reads no KeyInfo.
    invoice = issued()
    material = signing.material(signing.certificate_for(invoice.merchant))
    tampered = invoice.xml.replace("<ds:X509Certificate>M", "<ds:X509Certificate>N", 1)
    assert signing.signature_problem(tampered.encode(), material) != ""


def test_a_signature_made_with_another_key_is_never_stored(monkeypatch):
    merchant = seller()
    vat_series(merchant)
    material = signing.material(signing.certificate_for(merchant))
    _cert, other_key = signing.demo_certificate(merchant)
    wrong = signing.SigningMaterial(certificate_pem=material.certificate_pem, key=other_key)
    monkeypatch.setattr(signing, "material_of", lambda **kwargs: wrong)
    with pytest.raises(signing.SignatureBroken):
        services.invoice_issue(merchant=merchant, lines=[goods()])
    assert not services.Invoice.objects.filter(merchant=merchant).exists()


def test_a_key_that_is_not_the_certificates_is_refused_when_loaded():
    merchant = seller()
    cert = signing.certificate_for(merchant)
    _other, key = signing.demo_certificate(merchant)
    SigningCertificate.objects.filter(pk=cert.pk).update(key_encrypted=signing.encrypt_key(key))
    cert.refresh_from_db()
    with pytest.raises(signing.SignatureBroken):
        signing.material(cert)


def test_a_rotated_certificate_is_used_from_the_next_invoice_on():
    merchant = seller()
    vat_series(merchant)
    demo = signing.certificate_for(merchant)
    first = services.invoice_issue(merchant=merchant, lines=[goods()])
    assert signing.verify(first.xml, demo.certificate_pem)
    uploaded = signing.certificate_upload(
        merchant=merchant, pkcs12_data=p12_bundle(merchant, b"k"), password="k"
    )
    second = services.invoice_issue(merchant=merchant, lines=[goods()])
    assert signing.verify(second.xml, uploaded.certificate_pem)
    assert not signing.verify(second.xml, demo.certificate_pem)


def test_signxml_also_verifies_each_invoice_when_configured(settings, monkeypatch):
    settings.EINVOICE_VERIFY_AFTER_SIGN = True
    calls = []
    verify = signing.verify
    monkeypatch.setattr(signing, "verify", lambda *a: calls.append(1) or verify(*a))
    invoice = issued()
    assert invoice.is_signed and calls == [1]
