"""Outcome report: visits and unique visitors counted server-side, inquiries and answers with
answer time, and orders attributed by source_ref to the booth, its category and the fair."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from market.sales import orders
from market.sales.orders import LineInput, OnlineInput
from tests.factories import banknotify_deliver, banknotify_payload
from virtual_expo import leads, reports

pytestmark = pytest.mark.django_db(transaction=True)


def _order(booth, product, method="cash", source=None):
    return orders.order_create(
        merchant=booth.merchant,
        lines=[LineInput(product_id=product.pk, quantity=Decimal(1))],
        payment_method=method,
        actor=None,
        actor_label="shop",
        channel="expo",
        source_ref=source or booth.source_ref,
        online=OnlineInput(fulfilment="pickup"),
    )


def test_an_order_from_a_booth_counts_for_the_booth_its_category_and_the_fair(
    client, curator, exhibition, live_booth, pots, potter_owner
):
    _order(live_booth, pots[0])  # cash: paid at once, 350.000
    bank = _order(live_booth, pots[1], method="bank_qr")  # 480.000 once the bank says so
    _order(live_booth, pots[1], method="bank_qr")  # never paid: not counted
    _order(live_booth, pots[0], source="expo:999:1")  # another fair
    intent = bank.intent
    response = banknotify_deliver(
        client,
        banknotify_payload(
            account=intent.bank_account,
            amount=intent.amount,
            description=f"{intent.reference_code} chuyen tien",
        ),
    )
    assert response.status_code == 200

    report = reports.exhibition_report(exhibition=exhibition)
    assert (report.total.orders, report.total.revenue) == (2, 830_000)
    [row] = report.booths
    assert (row.orders, row.revenue) == (2, 830_000)
    [category] = report.categories
    assert (category.label, category.orders, category.revenue) == ("Gốm sứ", 2, 830_000)


def test_it_counts_visits_and_unique_visitors_and_answers(
    client, exhibition, live_booth, potter_owner
):
    home = f"/hoi-cho/{exhibition.slug}/"
    booth = f"/hoi-cho/{exhibition.slug}/gian/{live_booth.pk}/"
    client.get(home)
    client.get(booth)
    client.get(booth)  # the same visitor, by the cookie set on the first page
    other = client.__class__()
    other.get(booth, REMOTE_ADDR="10.0.0.9")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        inquiry = leads.inquiry_submit(
            booth=live_booth,
            name="Anh Khoa",
            phone="0905 222 333",
            message="Giá sỉ 200 bộ?",
            ip="10.0.0.9",
        )
        leads.inquiry_submit(
            booth=live_booth,
            name="Chị Hà",
            email="ha@example.com",
            message="Có giao Huế không?",
            ip="10.0.0.10",
        )
    with time_machine.travel(start + timedelta(minutes=42), tick=False):
        leads.inquiry_answer(
            actor=potter_owner, inquiry=inquiry, text="Dạ có, giá sỉ 300.000 đ/bộ."
        )

    report = reports.exhibition_report(exhibition=exhibition)
    assert (report.total.visits, report.total.visitors, report.home_visits) == (4, 2, 1)
    [row] = report.booths
    assert (row.visits, row.visitors) == (3, 2)
    assert (row.inquiries, row.answered, row.median_answer_minutes) == (2, 1, 42)
    assert visits_hash_only(live_booth)


def visits_hash_only(booth) -> bool:
    """No cookie or IP is stored, only salted hashes."""
    return all(
        len(v) == 64 and "10.0.0" not in v for v in booth.visits.values_list("visitor", flat=True)
    )


def test_the_report_page_chart_and_csv_are_for_curators_only(
    client, curator, exhibition, live_booth, pots, potter_owner
):
    _order(live_booth, pots[0])
    url = f"/quan-ly/hoi-cho/{exhibition.pk}/bao-cao/"
    client.force_login(potter_owner)
    assert client.get(url).status_code == 403
    client.force_login(curator)
    page = client.get(url).content.decode()
    assert 'id="revenue-chart"' in page and "Gốm Thanh Hà" in page and "350.000 đ" in page
    csv = client.get(f"/quan-ly/hoi-cho/{exhibition.pk}/bao-cao.csv")
    text = csv.content.decode("utf-8-sig")
    assert csv["Content-Type"].startswith("text/csv")
    assert "Gốm Thanh Hà" in text and "350000" in text
    api = client.get(f"/api/v1/expo/staff/exhibitions/{exhibition.pk}/report").json()
    assert api["total"]["orders"] == 1 and api["total"]["revenue"] == 350_000
