"""The trader registers an invoice series from the phone: a cash-register series gets its
5-character prefix from the tax authority's gateway (the sandbox here, over HTTP); automatic
invoicing can be switched; only the owner may."""

from __future__ import annotations

import pytest

from einvoice.models import Series
from sandboxes.taxgateway import TaxGatewaySandbox
from tests.factories import member_of, merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk_tax_test"


@pytest.fixture
def gateway(settings):
    with TaxGatewaySandbox([KEY], answer_delay=0, seed=3) as gw:
        settings.TAXGATEWAY_URL = gw.url
        settings.TAXGATEWAY_API_KEY = KEY
        yield gw


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


def test_a_cash_register_series_gets_its_prefix_from_the_gateway(client, gateway, merchant):
    client.force_login(member_of(merchant))
    url = f"/cua-hang/{merchant.pk}/hoa-don/ky-hieu/"
    response = client.post(url, {"kind": "register", "letters": "bl", "auto_issue": "on"})
    assert response.status_code == 302
    series = Series.objects.get(merchant=merchant)
    assert (series.form, series.symbol[0], series.symbol[3:], series.auto_issue) == (
        "2",
        "C",
        "MBL",
        True,
    )
    assert len(series.register_prefix) == 5
    page = client.get(url).content.decode()
    assert series.register_prefix in page
    client.post(f"{url}{series.pk}/", {"action": "auto_off"})
    series.refresh_from_db()
    assert not series.auto_issue


def test_a_bad_symbol_is_explained(client, gateway, merchant):
    client.force_login(member_of(merchant))
    response = client.post(
        f"/cua-hang/{merchant.pk}/hoa-don/ky-hieu/", {"kind": "register", "letters": "1"}
    )
    assert response.status_code == 422
    assert not Series.objects.exists()


def test_without_the_gateway_the_series_waits_for_registration(client, settings, merchant):
    settings.TAXGATEWAY_URL = "http://127.0.0.1:9"
    client.force_login(member_of(merchant))
    url = f"/cua-hang/{merchant.pk}/hoa-don/ky-hieu/"
    client.post(url, {"kind": "register", "letters": "AA"})
    series = Series.objects.get()
    assert series.register_prefix is None
    assert "Chưa kết nối được cổng của cơ quan thuế" in client.get(url).content.decode()


def test_a_cashier_cannot_manage_series(client, merchant):
    client.force_login(member_of(merchant, role="cashier"))
    assert client.get(f"/cua-hang/{merchant.pk}/hoa-don/ky-hieu/").status_code == 403


def test_it_says_when_no_active_series_is_of_this_year(client, merchant):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from einvoice import services

    services.series_create(merchant=merchant, form="2", symbol="K26TBL", auto_issue=True)
    client.force_login(member_of(merchant))
    url = f"/cua-hang/{merchant.pk}/hoa-don/ky-hieu/"
    assert 'id="series-year-missing"' not in client.get(url).content.decode()
    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    with time_machine.travel(datetime(2027, 1, 1, 7, tzinfo=vn), tick=False):
        page = client.get(url).content.decode()
    assert 'id="series-year-missing"' in page and "2027" in page
