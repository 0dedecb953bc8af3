"""The e-invoice API: issue, read, list, download, correct; ownership and idempotency."""

from __future__ import annotations

import pytest
from django.test import Client

from einvoice.models import Invoice
from tests.factories import api_key_for

from .conftest import seller, vat_series

pytestmark = pytest.mark.django_db

BASE = "/api/v1/einvoice"


def client_for(merchant) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_for(merchant)}"})


def body(merchant, **extra) -> dict:
    return {
        "merchant_id": merchant.pk,
        "buyer": {"name": "Chị Hoa", "tax_code": "048100000123"},
        "lines": [
            {
                "name": "Cá thu",
                "unit": "kg",
                "quantity": "0.350",
                "unit_price": 180_000,
                "amount": 63_000,
                "tax_rate": "8%",
            }
        ],
        "payment_method": "CK",
        **extra,
    }


@pytest.fixture
def shop():
    merchant = seller()
    vat_series(merchant)
    return merchant, client_for(merchant)


def test_it_issues_and_reads_an_invoice(shop):
    merchant, client = shop
    r = client.post(f"{BASE}/invoices", body(merchant), content_type="application/json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert (data["number"], data["total_payable"], data["status"]) == (1, 68_040, "issued")
    assert data["buyer_citizen_id"] == "048100000123"
    assert data["lines"][0]["quantity"] == "0.3500"
    got = client.get(f"{BASE}/invoices/{data['id']}")
    assert got.status_code == 200 and got.json()["uuid"] == data["uuid"]
    listed = client.get(f"{BASE}/invoices", {"merchant_id": merchant.pk})
    assert listed.json()["count"] == 1
    xml = client.get(f"{BASE}/invoices/{data['id']}/xml")
    assert xml.status_code == 200 and xml["Content-Type"] == "application/xml"
    assert xml.content.decode() == Invoice.objects.get().xml


def test_it_answers_bad_input_with_422_not_500(shop):
    merchant, client = shop
    bad = body(merchant)
    bad["lines"][0]["amount"] = 63_001
    r = client.post(f"{BASE}/invoices", bad, content_type="application/json")
    assert r.status_code == 422
    assert "lines.0.amount" in r.json()["error"]["fields"]
    floaty = body(merchant)
    floaty["lines"][0]["amount"] = 63000.0
    assert (
        client.post(f"{BASE}/invoices", floaty, content_type="application/json").status_code == 422
    )
    nobody = body(merchant, lines=[])
    assert (
        client.post(f"{BASE}/invoices", nobody, content_type="application/json").status_code == 422
    )
    assert not Invoice.objects.exists()


def test_another_merchants_key_gets_404_everywhere(shop):
    merchant, client = shop
    invoice_id = client.post(
        f"{BASE}/invoices", body(merchant), content_type="application/json"
    ).json()["id"]
    stranger = client_for(seller())
    for path in ["", "/xml", "/pdf"]:
        assert stranger.get(f"{BASE}/invoices/{invoice_id}{path}").status_code == 404
    for action, payload in [
        ("cancel", {"reason": "x"}),
        ("adjust", {"reason": "x", "lines": body(merchant)["lines"]}),
        ("replace", {"reason": "x", "lines": body(merchant)["lines"]}),
    ]:
        r = stranger.post(
            f"{BASE}/invoices/{invoice_id}/{action}", payload, content_type="application/json"
        )
        assert r.status_code == 404
    assert stranger.get(f"{BASE}/invoices", {"merchant_id": merchant.pk}).status_code == 404
    assert (
        stranger.post(f"{BASE}/invoices", body(merchant), content_type="application/json")
    ).status_code == 404
    assert Invoice.objects.get().status == "issued"
    assert Client().get(f"{BASE}/invoices/{invoice_id}").status_code == 401


def test_it_honours_idempotency_keys(shop):
    merchant, client = shop
    first = client.post(
        f"{BASE}/invoices",
        body(merchant),
        content_type="application/json",
        headers={"Idempotency-Key": "k-1"},
    )
    again = client.post(
        f"{BASE}/invoices",
        body(merchant),
        content_type="application/json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = client.post(
        f"{BASE}/invoices",
        body(merchant, payment_method="TM"),
        content_type="application/json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Invoice.objects.count() == 1


def test_source_ref_issues_once_without_a_key(shop):
    merchant, client = shop
    ids = {
        client.post(
            f"{BASE}/invoices", body(merchant, source_ref="DH-9"), content_type="application/json"
        ).json()["id"]
        for _ in range(3)
    }
    assert len(ids) == 1


def test_it_corrects_and_cancels_through_the_api(shop):
    merchant, client = shop
    invoice_id = client.post(
        f"{BASE}/invoices", body(merchant), content_type="application/json"
    ).json()["id"]
    lines = body(merchant)["lines"]
    replaced = client.post(
        f"{BASE}/invoices/{invoice_id}/replace",
        {"reason": "Sai tên", "buyer": {"name": "Chị Hoa Nguyễn"}, "lines": lines},
        content_type="application/json",
        headers={"Idempotency-Key": "r-1"},
    )
    assert replaced.status_code == 201
    assert (replaced.json()["kind"], replaced.json()["related_id"]) == ("replacement", invoice_id)
    adjusted = client.post(
        f"{BASE}/invoices/{replaced.json()['id']}/adjust",
        {"reason": "Giảm", "lines": [{"name": "Giảm giá", "amount": -5000, "tax_rate": "8%"}]},
        content_type="application/json",
    )
    assert adjusted.status_code == 201 and adjusted.json()["total_payable"] == -5400
    canceled = client.post(
        f"{BASE}/invoices/{invoice_id}/cancel", {"reason": "Hủy"}, content_type="application/json"
    )
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"


def test_series_are_created_and_listed(shop):
    merchant, client = shop
    r = client.post(
        f"{BASE}/series",
        {"merchant_id": merchant.pk, "form": "2", "symbol": "C26MXY", "register_prefix": "ABCDE"},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["register_prefix"] == "ABCDE"
    bad = client.post(
        f"{BASE}/series",
        {"merchant_id": merchant.pk, "form": "2", "symbol": "X"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert len(client.get(f"{BASE}/series", {"merchant_id": merchant.pk}).json()) == 2
