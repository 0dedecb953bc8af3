"""A sale's bank account (what its VietQR pays into), read along with a read the request makes
anyway: the cashier's membership (``with_qr_account``), the sale's products
(``PRODUCT_QR_ACCOUNT``). ``order_create`` then makes no read of its own for it."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from merchants.models import BankAccount, Merchant

from ..models import Stall

_QR_ACCOUNT_FIELDS = ("id", "bank_bin", "account_number", "holder_name")
IN_HAND = "_qr_account_in_hand"
UNREAD = object()  # "not read along": the sale reads the account itself


def _qr_account_sql(outer_merchant: str) -> list[str]:
    """Scalar subqueries for the default bank account of the merchant ``outer_merchant`` names
    (a column of the outer query), and its first stall."""
    account = (
        'SELECT a."{}" FROM "merchants_bankaccount" a WHERE a."merchant_id" = '  # noqa: S608
        + outer_merchant
        + ' AND a."is_default" ORDER BY a."id" LIMIT 1'
    )
    stall = (
        'SELECT s."id" FROM "market_stall" s WHERE s."merchant_id" = '  # noqa: S608
        + outer_merchant
        + ' ORDER BY s."id" LIMIT 1'
    )
    return [f"({account.format(name)})" for name in _QR_ACCOUNT_FIELDS] + [f"({stall})"]


QR_NAMES = [f"qr_account_{name}" for name in _QR_ACCOUNT_FIELDS] + ["qr_first_stall_id"]


def with_qr_account(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` (of a model with a ``merchant_id``) with, on each row, its merchant's default
    bank account (what a QR needs of it) and first stall: a sale's account read rides along with
    a read the request makes anyway (the cashier's membership; the products read theirs in
    ``_build_lines``). Scalar subqueries on the account's and the stall's merchant index, as
    SQL text (compiling them as querysets cost more CPU than the round trip they save);
    ``qr_account_keep`` reads them back."""
    outer = f'"{queryset.model._meta.db_table}"."merchant_id"'
    sqls = _qr_account_sql(outer)
    return queryset.annotate(
        **{name: RawSQL(sql, ()) for name, sql in zip(QR_NAMES, sqls, strict=True)}  # noqa: S611
    )


PRODUCT_QR_ACCOUNT = ", ".join(_qr_account_sql('"merchants_product"."merchant_id"'))


def qr_account_keep(merchant: Merchant, row: Any) -> None:
    """Keep on ``merchant`` (for this request) the account ``with_qr_account`` read on ``row``:
    ``order_create`` then makes no read of its own."""
    account = None
    if row.qr_account_id is not None:
        account = BankAccount(
            merchant_id=merchant.pk,
            is_default=True,
            **{name: getattr(row, f"qr_account_{name}") for name in _QR_ACCOUNT_FIELDS},
        )
        account._state.adding = False
        account._state.db = row._state.db
        account.first_stall_id = row.qr_first_stall_id  # type: ignore[attr-defined]
    setattr(merchant, IN_HAND, account)


def default_account(merchant: Merchant, *, with_first_stall: bool) -> BankAccount | None:
    """The account a QR pays into, and (for a POS sale with no stall named) the merchant's first
    stall as ``first_stall_id``, in one read."""
    accounts = BankAccount.objects.filter(merchant=merchant, is_default=True)
    if with_first_stall:
        first = Stall.objects.filter(merchant_id=OuterRef("merchant_id")).order_by("pk")
        accounts = accounts.annotate(first_stall_id=Subquery(first.values("pk")[:1]))
    return accounts.order_by("pk").first()


def read_along(row: Any) -> None:
    """Name the account columns ``PRODUCT_QR_ACCOUNT`` added to a product row (``select_rows``)."""
    row.__dict__.update(zip(QR_NAMES, row._extra, strict=False))


def take(merchant: Merchant, default: Any = UNREAD) -> Any:
    """The account ``qr_account_keep`` left on ``merchant`` (None: it has none), taken once;
    ``default`` when none was left."""
    return merchant.__dict__.pop(IN_HAND, default)
