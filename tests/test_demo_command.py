"""``manage.py demo``: Da Nang demo data, loaded twice without duplicates."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from core.models import AuditLog
from market.models import Market, Stall, StallApplication
from market.stalls.services import REVIEW_PERMISSION
from merchants.models import BankAccount, Membership, Merchant, Product, User

pytestmark = pytest.mark.django_db

STAFF_PHONE = "+84905000001"


def _demo() -> str:
    out = io.StringIO()
    call_command("demo", sales_days=0, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    models = [
        Market,
        Stall,
        StallApplication,
        Merchant,
        User,
        Membership,
        BankAccount,
        Product,
        Group,
        AuditLog,
    ]
    counts = {model.__name__: model.objects.count() for model in models}
    counts["occupied stalls"] = Stall.objects.filter(merchant__isnull=False).count()
    return counts


def test_it_loads_the_same_data_when_run_twice() -> None:
    _demo()
    first = _counts()

    _demo()

    assert _counts() == first


def test_it_loads_three_markets_with_about_forty_stalls() -> None:
    _demo()

    assert Market.objects.count() == 3
    assert 35 <= Stall.objects.count() <= 45
    assert set(Market.objects.values_list("slug", flat=True)) == {
        "cho-han",
        "cho-con",
        "cho-bac-my-an",
    }
    assert all(m.stalls.exists() for m in Market.objects.all())


def test_it_loads_eight_traders_with_catalogues_and_bank_accounts() -> None:
    _demo()

    traders = User.objects.filter(is_staff=False)
    assert traders.count() == 8
    for trader in traders:
        household = Merchant.objects.get(
            kind=Merchant.Kind.HOUSEHOLD,
            memberships__user=trader,
            memberships__role=Membership.Role.OWNER,
        )
        assert household.bank_accounts.filter(is_default=True).exists(), household
        assert household.products.count() >= 3, household
    assert Stall.objects.filter(merchant__isnull=False).count() == 7


def test_it_leaves_one_application_pending_for_staff() -> None:
    _demo()

    [application] = StallApplication.objects.all()
    assert application.status == StallApplication.Status.PENDING
    assert application.market.slug == "cho-bac-my-an"
    assert application.requested_code == "B-3"
    assert Stall.objects.get(market=application.market, code="B-3").merchant is None


def test_it_gives_the_staff_user_review_rights_through_a_group_only() -> None:
    _demo()

    staff = User.objects.get(phone=STAFF_PHONE)
    assert staff.is_staff
    assert not staff.is_superuser
    assert not staff.user_permissions.exists()
    # the market officers' group, and (issue 16) the community digital-technology team's
    assert staff.groups.count() == 2
    assert staff.has_perm(REVIEW_PERMISSION)
    assert staff.has_perm("merchants.register_on_behalf")
    assert not any(
        u.has_perm("merchants.register_on_behalf") for u in User.objects.filter(is_staff=False)
    )
    assert not any(u.has_perm(REVIEW_PERMISSION) for u in User.objects.filter(is_staff=False))


def test_it_lets_the_demo_staff_user_approve_the_pending_application(client) -> None:
    _demo()
    application = StallApplication.objects.get()
    client.force_login(User.objects.get(phone=STAFF_PHONE))

    response = client.post(
        f"/api/v1/market/review/applications/{application.pk}/approve",
        {},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["stall_code"] == "B-3"


def test_it_prints_the_logins() -> None:
    output = _demo()

    assert "cho-so-2026" in output
    assert "0905 000 001" in output  # staff
    for n in range(1, 9):
        assert f"0905 111 00{n}" in output
    assert "application pending" in output


def test_it_prints_the_logins_again_on_a_second_run() -> None:
    _demo()

    output = _demo()

    assert "0905 000 001" in output
    assert "0905 111 008" in output


@pytest.mark.django_db(transaction=True)
def test_it_makes_a_few_days_of_real_sales_once() -> None:
    from market.models import Order
    from tests.factories import assert_ledger_invariant

    call_command("demo", sales_days=2, stdout=io.StringIO())
    orders = Order.objects.all()
    assert orders.count() > 10
    assert not orders.exclude(status=Order.Status.PAID).exists()
    assert orders.filter(payment_method="bank_qr").exists()
    # The last stall has taken no cashless payment yet (the dashboard's "needs help" example).
    assert orders.filter(payment_method="cash").exists()
    for merchant in Merchant.objects.filter(orders__isnull=False).distinct():
        assert_ledger_invariant(merchant)
        bank_sales = sum(o.total for o in merchant.orders.filter(payment_method="bank_qr"))
        assert bank_sales == sum(e.amount for e in merchant.ledger.all())
    count = orders.count()
    call_command("demo", sales_days=2, stdout=io.StringIO())
    assert Order.objects.count() == count


def test_each_stalls_sales_are_numbered_in_the_order_they_happened() -> None:
    """The POS's "Đơn gần đây" lists a stall's sales newest first: by time and by number alike."""
    from market.models import Order
    from market.sales.selectors import pos_recent_sales

    call_command("demo", sales_days=3, stdout=io.StringIO())
    for merchant in Merchant.objects.filter(orders__isnull=False).distinct():
        by_time = list(
            Order.objects.filter(merchant=merchant)
            .order_by("created_at")
            .values_list("pk", flat=True)
        )
        assert by_time == sorted(by_time), merchant
        recent = list(pos_recent_sales(merchant=merchant))
        assert [o.created_at for o in recent] == sorted(
            (o.created_at for o in recent), reverse=True
        )


def test_the_readme_trader_sells_by_weight_and_by_the_piece() -> None:
    """README: trader 0905 111 002 keys a fish by weight, then taps an item sold by the piece."""
    _demo()

    seller = Merchant.objects.get(memberships__user__phone="+84905111002")
    products = {p.name: p for p in seller.products.all()}
    assert products["Cá thu"].sold_by_weight
    assert not products["Ghẹ xanh"].sold_by_weight and products["Ghẹ xanh"].unit == "con"


@pytest.mark.django_db(transaction=True)
def test_the_first_three_stalls_have_an_invoice_for_every_paid_sale_since_their_series() -> None:
    """README: "Hóa đơn" lists the invoices of the first three stalls' recent sales at once,
    not only those made after ``bin/run`` started."""
    from einvoice.models import Invoice
    from market.models import Order

    call_command("demo", sales_days=2, stdout=io.StringIO())

    for phone in ("+84905111001", "+84905111002", "+84905111003"):
        merchant = Merchant.objects.get(
            memberships__user__phone=phone, kind=Merchant.Kind.HOUSEHOLD
        )
        series = merchant.invoice_series.get()
        paid = set(
            Order.objects.filter(
                merchant=merchant, status=Order.Status.PAID, paid_at__gte=series.created_at
            ).values_list("number", flat=True)
        )
        invoiced = set(merchant.invoices.values_list("source_ref", flat=True))
        assert paid, f"{merchant}: no sale since the series was registered"
        assert paid <= invoiced
    # The other stalls do not invoice automatically.
    assert not Invoice.objects.exclude(
        merchant__memberships__user__phone__in=["+84905111001", "+84905111002", "+84905111003"]
    ).exists()
