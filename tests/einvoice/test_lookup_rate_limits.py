"""The public invoice lookup's limits count per client (core.clientip), not per REMOTE_ADDR:
behind the load balancer every visitor used to share the balancer's counter."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from einvoice import services
from einvoice.models import Invoice

from .conftest import goods, seller, vat_series

pytestmark = pytest.mark.django_db

LB = "10.0.0.5"


@pytest.fixture
def invoice(settings) -> Invoice:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    merchant = seller()
    vat_series(merchant, "K26TAA")  # uncoded: the public XML is ours
    return services.invoice_issue(
        merchant=merchant, buyer=services.Buyer(name="Chị Hoa"), lines=[goods("Cá thu")]
    )


def visitor(ip: str, **extra) -> Client:
    return Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=ip, **extra)


def pages(invoice: Invoice) -> list[str]:
    code = invoice.lookup_code
    return [
        reverse("einvoice_lookup") + f"?ma={code}",
        reverse("einvoice_lookup_detail", args=[code]),
        reverse("einvoice_lookup_pdf", args=[code]),
        reverse("einvoice_lookup_xml", args=[code]),
    ]


def test_lookups_of_every_kind_are_limited_per_client(invoice, settings):
    settings.RATE_INVOICE_LOOKUP = "4/10m"
    shopper = visitor("198.51.100.1")

    statuses = [shopper.get(url).status_code for url in pages(invoice)]
    for url in pages(invoice):
        limited = shopper.get(url)
        assert limited.status_code == 429
        assert 1 <= int(limited["Retry-After"]) <= 601
        assert "Bạn tra cứu quá nhiều lần liên tiếp" in limited.content.decode()

    assert statuses == [302, 200, 200, 200]
    # The neighbour behind the same balancer still looks up their invoice.
    assert visitor("198.51.100.2").get(pages(invoice)[1]).status_code == 200
    # The empty form is not a lookup.
    assert shopper.get(reverse("einvoice_lookup")).status_code == 200


def test_wrong_codes_block_one_client_not_everyone_behind_the_balancer(invoice, settings):
    settings.EINVOICE_LOOKUP_MAX_MISSES = 3
    guesser = visitor("198.51.100.66")
    for n in range(3):
        assert guesser.get(f"/hoa-don/SAIMA{n:07d}/").status_code == 404

    blocked = guesser.get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code]))
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) >= 1
    assert "Bạn tra cứu sai quá nhiều lần" in blocked.content.decode()
    # A forged X-Forwarded-For is not a way out: the balancer appends the real address.
    forged = Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.66")
    assert forged.get(pages(invoice)[1]).status_code == 429
    assert visitor("198.51.100.2").get(pages(invoice)[1]).status_code == 200


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(invoice, settings):
    settings.TRUSTED_PROXIES = []
    settings.EINVOICE_LOOKUP_MAX_MISSES = 2
    for n in range(2):
        spoofer = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        spoofer.get(f"/hoa-don/SAIMA{n:07d}/")

    again = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert again.get(pages(invoice)[1]).status_code == 429


def test_the_lookup_429_is_in_english_when_asked(invoice, settings):
    settings.RATE_INVOICE_LOOKUP = "1/10m"
    visitor("198.51.100.1").get(pages(invoice)[1])

    limited = visitor("198.51.100.1", HTTP_ACCEPT_LANGUAGE="en").get(pages(invoice)[1])

    assert limited.status_code == 429
    assert "Too many lookups in a row. Please try again in" in limited.content.decode()
