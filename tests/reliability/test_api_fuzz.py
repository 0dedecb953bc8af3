"""Schemathesis over the whole JSON API, from the app's own OpenAPI document.

Every operation is called with generated requests — valid ones (positive) and invalid ones
(negative: wrong types, missing fields, out-of-range numbers...) — first anonymously, then with
a merchant's API key. Each answer must be no server error (5xx), carry a status code the
document lists for that operation, and have the documented shape (`not_a_server_error`,
`status_code_conformance`, `response_schema_conformance`). Generated ids, slugs and tokens are
swapped half of the time for those of real objects (the key's merchant, its products, orders,
invoices, booth, leads...), so the calls get past "not found" into the services.

Runs in both passes of bin/test (SQLite and PostgreSQL): 156 tests (79 operations anonymously,
77 with the key), about 2½–3 minutes each on an idle 2-core box with the default 15 examples per
operation and caller; ``CHOSO_FUZZ_EXAMPLES=100`` digs deeper.
``CHOSO_FUZZ_SURVEY=/tmp/fuzz.jsonl`` fails nothing and writes every failed check to that file
instead (one JSON object per line), to count findings before and after a change.

Not run with the API key: the two payment webhooks. They take no API key or session (only
their provider's HMAC signature over the raw body, which the OpenAPI document does not
describe), so the key changes nothing there; the anonymous run covers them.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.signals import got_request_exception
from django.test import Client
from django.test.client import ClientHandler
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import DataGenerationMethod
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.api import api
from market.models import FulfilmentStatus, Order, StallApplication
from market.sales import orders
from tests import factories
from tests.market.test_online_merchant import open_shop, pay_by_bank, place

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("CHOSO_FUZZ_EXAMPLES", "15"))
SURVEY = os.environ.get("CHOSO_FUZZ_SURVEY", "")
CHECKS = (not_a_server_error, status_code_conformance, response_schema_conformance)
WALLET_KEY = "sk_test_fuzz"


class DjangoApp:
    """Django's request handling as in production (every middleware, CSRF enforced, exceptions
    answered 500), as a WSGI app that leaves the test's database transaction open."""

    def __init__(self) -> None:
        self.handler = ClientHandler(enforce_csrf_checks=True)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        response = self.handler(environ)
        headers = list(response.items())
        headers += [("Set-Cookie", c.output(header="").strip()) for c in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response


schemathesis.experimental.OPEN_API_3_1.enable()  # django-ninja writes OpenAPI 3.1
schema = schemathesis.from_dict(
    api.get_openapi_schema(),
    app=DjangoApp(),
    data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
)

# The ids of real objects, set by the `world` fixture before any case is generated.
REAL: dict[str, Any] = {}
ID_NAMES = frozenset(
    {
        "merchant_id",
        "product_id",
        "order_id",
        "intent_id",
        "invoice_id",
        "close_id",
        "booth_id",
        "inquiry_id",
        "exhibition_id",
        "application_id",
        "series_id",
        "key_id",
        "account_id",
    }
)


def _slug_for(path: str) -> str | None:
    if path.startswith("/api/v1/expo/exhibitions/"):
        return REAL["exhibition_slug"]
    if path.startswith("/api/v1/shop/merchants/"):
        return REAL["merchant_slug"]
    if "/markets/{slug}" in path:
        return REAL["market_slug"]
    return None


def _aim(case: Any, real: bool) -> Any:
    """The case with its ids (path, query, body) swapped for real ones when ``real``."""
    if not real or not REAL:
        return case
    case = case.partial_deepcopy()
    path = case.operation.path
    for name in list(case.path_parameters or {}):
        if name in ID_NAMES and name in REAL:
            case.path_parameters[name] = REAL[name]
        elif name == "slug" and _slug_for(path):
            case.path_parameters[name] = _slug_for(path)
        elif name == "token":
            case.path_parameters[name] = REAL["token"]
    if isinstance(case.query, dict) and "merchant_id" in case.query:
        case.query["merchant_id"] = REAL["merchant_id"]
    if isinstance(case.body, dict):
        for name in ("merchant_id", "product_id"):
            if name in case.body:
                case.body[name] = REAL[name]
        lines = case.body.get("lines")
        for line in lines if isinstance(lines, list) else []:
            if isinstance(line, dict) and line.get("product_id") is not None:
                line["product_id"] = REAL["product_id"]
    return case


@schema.hook
def before_generate_case(context: Any, strategy: Any) -> Any:
    return strategy.flatmap(lambda case: st.booleans().map(lambda real: _aim(case, real)))


@pytest.fixture(scope="module")
def wallet_provider() -> Iterator[str]:
    """The e-wallet sandbox on loopback: e-wallet payments and refunds reach a provider (its
    webhooks go nowhere), so the fuzz meets no 503 "provider unavailable"."""
    from sandboxes.ewallet.server import EWalletSandbox

    sandbox = EWalletSandbox(
        webhook_url="http://127.0.0.1:9/nowhere",
        webhook_secret="fuzz-webhook-secret",
        api_keys=[WALLET_KEY],
        max_attempts=1,
        backoff_base=0.01,
    ).start()
    yield sandbox.url
    sandbox.stop()


@pytest.fixture
def world(settings, wallet_provider) -> dict[str, Any]:
    """One merchant with a bit of everything, and the raw API key of that merchant."""
    from einvoice import services as einvoice_services
    from tests.virtual_expo.conftest import approve, booth_input, make_curator, make_exhibition
    from virtual_expo import leads
    from virtual_expo import services as expo_services

    settings.EWALLET_URL, settings.EWALLET_API_KEY = wallet_provider, WALLET_KEY
    settings.RATELIMIT_ENABLE = False  # hundreds of calls a minute from one key and one address
    market = factories.MarketFactory()
    merchant = factories.merchant_with_account()
    owner = factories.member_of(merchant)
    factories.StallFactory(market=market, merchant=merchant)
    open_shop(merchant)
    fish = factories.ProductFactory(merchant=merchant, name="Cá thu", search_name="ca thu")
    greens = factories.ProductFactory(
        merchant=merchant,
        name="Rau muống",
        search_name="rau muong",
        unit="bó",
        price=10_000,
        sold_by_weight=False,
    )
    key = factories.api_key_for(merchant, owner)
    sale = orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=fish.pk, quantity=Decimal("0.35"))],
        payment_method="cash",
        actor=owner,
    )
    # Paid online orders (their after-commit news does not run here): one new, one completed.
    online = pay_by_bank(Client(), place(merchant, greens, quantity="2"))
    done = pay_by_bank(Client(), place(merchant, fish))
    Order.objects.filter(pk=online.pk).update(fulfilment_status=FulfilmentStatus.NEW)
    Order.objects.filter(pk=done.pk).update(fulfilment_status=FulfilmentStatus.COMPLETED)
    series = einvoice_services.series_create(merchant=merchant, form="1", symbol="C26TAA")
    invoice = Client(headers={"Authorization": f"Bearer {key}"}).post(
        "/api/v1/einvoice/invoices",
        {
            "merchant_id": merchant.pk,
            "lines": [
                {
                    "name": "Cá thu",
                    "unit": "kg",
                    "quantity": "1",
                    "unit_price": 180_000,
                    "amount": 180_000,
                    "tax_rate": "KCT",
                }
            ],
        },
        content_type="application/json",
    )
    assert invoice.status_code == 201, invoice.content
    curator = make_curator()
    exhibition = make_exhibition(curator, opens_at=timezone.now() - timedelta(days=1))
    booth = expo_services.booth_apply(
        actor=owner,
        merchant=merchant,
        exhibition=exhibition,
        data=booth_input(exhibition, [greens]),
        submit=True,
    )
    approve(curator, booth)
    inquiry = leads.inquiry_submit(
        booth=booth, name="Anh Khoa", phone="0905222333", message="Giá sỉ?", ip="10.0.0.1"
    )
    assert inquiry is not None
    application = StallApplication.objects.create(
        merchant=merchant, market=market, goods_category="seafood"
    )
    assert sale.intent is not None
    REAL.clear()
    REAL.update(
        merchant_id=merchant.pk,
        merchant_slug=merchant.slug,
        market_slug=market.slug,
        product_id=fish.pk,
        order_id=online.pk,
        intent_id=sale.intent.pk,
        invoice_id=invoice.json()["id"],
        series_id=series.pk,
        booth_id=booth.pk,
        inquiry_id=inquiry.pk,
        exhibition_id=exhibition.pk,
        exhibition_slug=exhibition.slug,
        application_id=application.pk,
        token=done.receipt_token,
    )
    return {"key": key}


@pytest.fixture
def server_errors() -> Iterator[list[str]]:
    """Tracebacks of the exceptions that became 500s, for the failure message."""
    seen: list[str] = []

    def keep(sender: Any, request: Any = None, **kwargs: Any) -> None:
        seen.append(traceback.format_exc())

    got_request_exception.connect(keep)
    yield seen
    got_request_exception.disconnect(keep)


def _survey(case: Any, caller: str, response: Any, headers: dict, errors: list[str]) -> None:
    for check in CHECKS:
        try:
            case.validate_response(response, checks=(check,), headers=headers)
        except AssertionError as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            cause = errors[-1].strip().splitlines()[-1] if errors and check is CHECKS[0] else ""
            finding = {
                "operation": case.operation.verbose_name,
                "caller": caller,
                "check": check.__name__,
                "status": response.status_code,
                "detail": lines[1] if len(lines) > 1 else "",
                "cause": cause,
                "request": [case.path_parameters, case.query, repr(case.body)[:300]],
            }
            with open(SURVEY, "a", encoding="utf-8") as out:
                out.write(json.dumps(finding, ensure_ascii=False) + "\n")
    errors.clear()


def _call_and_check(case: Any, caller: str, headers: dict[str, str], errors: list[str]) -> None:
    if case.media_type == "multipart/form-data" and not isinstance(case.body, dict):
        # A negative case whose multipart body is a list or a scalar: no HTTP client can send
        # that as form fields (werkzeug's test client raises before any request is made).
        return
    response = case.call(headers=headers)
    if SURVEY:
        _survey(case, caller, response, headers, errors)
        return
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except AssertionError:
        if errors:
            print(errors[-1])  # the server's traceback, shown with the failure
        raise


FUZZ = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure in CI is one you can replay
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_anonymous_calls_get_a_documented_answer_never_a_server_error(case, world, server_errors):
    _call_and_check(case, "anonymous", {}, server_errors)


@schema.exclude(path_regex=r"^/api/v1/payments/webhooks/").parametrize()
@FUZZ
def test_calls_with_a_merchant_api_key_get_a_documented_answer_never_a_server_error(
    case, world, server_errors
):
    headers = {"Authorization": f"Bearer {world['key']}"}
    _call_and_check(case, "api_key", headers, server_errors)
