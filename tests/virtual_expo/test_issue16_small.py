"""Issue 16, item 9 (small ones) on the exhibition pages: the booth page's cart link, buying from
an exhibitor with no market stall, the fair report's booth names, the media form in Vietnamese,
phone numbers as people write them."""

from __future__ import annotations

import re
from datetime import time

import pytest

from market.models import Storefront
from tests import factories
from virtual_expo import reports

pytestmark = pytest.mark.django_db


def _booth_url(booth) -> str:
    return f"/hoi-cho/{booth.exhibition.slug}/gian/{booth.pk}/"


@pytest.fixture
def shop(potter) -> Storefront:
    potter.address = "12 Bạch Đằng, Hải Châu, Đà Nẵng"
    potter.save(update_fields=["address"])
    return Storefront.objects.create(
        merchant=potter,
        is_open=True,
        opens_at=time(0, 0),
        closes_at=time(23, 59),
        delivers=True,
        delivery_fee=30_000,
        delivery_area="Toàn Đà Nẵng",
    )


def test_the_booth_page_links_to_the_cart_with_its_count(client, live_booth, pots, shop):
    page = client.get(_booth_url(live_booth)).content.decode()
    assert 'id="cart-link"' in page and 'href="/gio-hang/"' in page

    client.post("/gio-hang/them/", {"product": pots[0].pk, "qty": "1", "next": "/"})

    page = client.get(_booth_url(live_booth)).content.decode()
    link = re.search(r'<a[^>]*id="cart-link"[^>]*>(.*?)</a>', page, re.S)
    assert link and ">1<" in link.group(1)


def test_an_exhibitor_without_a_stall_offers_its_address_and_delivery(
    client, live_booth, pots, shop
):
    client.post("/gio-hang/them/", {"product": pots[0].pk, "qty": "1", "next": "/"})

    page = client.get(f"/gio-hang/{live_booth.merchant_id}/dat-hang/").content.decode()

    assert "Lấy tại cửa hàng · 12 Bạch Đằng, Hải Châu, Đà Nẵng" in page
    assert "Lấy tại sạp" not in page
    assert 'value="delivery"' in page and "Toàn Đà Nẵng" in page
    assert "làm sạch cá" not in page  # no fish-stall placeholder for a potter


def test_a_stall_holder_still_offers_pickup_at_the_stall(client, potter, pots, shop):
    market = factories.MarketFactory(name="Chợ Hàn", slug="cho-han")
    factories.StallFactory(market=market, code="B-07", merchant=potter)
    client.post("/gio-hang/them/", {"product": pots[0].pk, "qty": "1", "next": "/"})

    page = client.get(f"/gio-hang/{potter.pk}/dat-hang/").content.decode()

    assert "Lấy tại sạp B-07 · Chợ Hàn" in page


def test_the_fair_report_names_each_booth_in_its_chart(
    client, curator, exhibition, live_booth, potter
):
    client.force_login(curator)

    page = client.get(f"/quan-ly/hoi-cho/{exhibition.pk}/bao-cao/").content.decode()

    chart = re.search(r'<section class="card" id="revenue-chart">(.*?)</section>', page, re.S)
    assert chart, "no revenue chart"
    names = re.findall(r'<span class="hbar-name">(.*?)</span>', chart.group(1))
    assert names == [r.label for r in reports.exhibition_report(exhibition=exhibition).booths]
    assert "Gốm Thanh Hà" in names
    # Every figure of the booth table has its label with it: a phone shows rows as cards.
    assert 'class="figures stack" id="booth-table"' in page
    assert 'data-label="Doanh thu"' in page


def test_the_media_form_speaks_vietnamese(client, live_booth, potter_owner):
    client.force_login(potter_owner)

    page = client.get(
        f"/cua-hang/{live_booth.merchant_id}/hoi-cho/gian/{live_booth.pk}/"
    ).content.decode()

    assert "Kind" not in page
    assert "Loại tệp" in page


def test_the_booth_page_shows_the_phone_as_people_write_it(client, live_booth):
    live_booth.contact_phone = "+84905123456"
    live_booth.save(update_fields=["contact_phone"])

    page = client.get(_booth_url(live_booth)).content.decode()

    assert ">0905 123 456</a>" in page
    assert ">+84905123456<" not in page
