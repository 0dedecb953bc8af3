"""The route table's parts: a row (`Route`), the project's routes as the table spells them
(`project_routes`, walking Django's resolver; django-ninja's operations are URL patterns too),
and a row's request for one World (tests/routes_world.py) with real objects in its URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.views.static import serve

from tests.routes_world import World


@dataclass(frozen=True)
class Route:
    """One row: `route` is "METHOD /api/v1/path" for API operations (ninja's path syntax as
    Django sees it, `<merchant_id>`), "/page/<int:x>/" for pages (any method; `method` says which
    one the checks send, "post" for POST-only views)."""

    route: str
    audience: str
    perm: str = ""  # STAFF: the permission, "app_label.codename"
    method: str = "get"
    key_ok: bool = False  # API: an API key of the merchant is a credential here too
    # URL kwargs taken from the world other than by name (see World.value): {"slug": "..."}
    fill: dict[str, str] = field(default_factory=dict)
    query: str = ""  # appended to the URL, with {kwargs} from the world: "?merchant_id={m}"
    ok: int = 200  # what a GET of someone let in answers
    body: dict[str, Any] | None = None  # API: the body sent (JSON), else an empty one
    multipart: bool = False  # API: the body is a form with a file

    def __str__(self) -> str:
        return self.route

    @property
    def is_api(self) -> bool:
        return " " in self.route

    @property
    def path(self) -> str:
        return self.route.split(" ", 1)[1] if self.is_api else self.route

    @property
    def http_method(self) -> str:
        return self.route.split(" ", 1)[0].lower() if self.is_api else self.method


def page(path: str, audience: str, **kw: Any) -> Route:
    return Route(path, audience, **kw)


def api(method_and_path: str, audience: str, **kw: Any) -> Route:
    method, path = method_and_path.split(" ", 1)
    return Route(f"{method} /api/v1{path}", audience, **kw)


# URL kwargs by name, from the victim's world; a row's `fill` overrides (World.value paths).
DEFAULT_FILL = {
    "merchant_id": "merchant.pk",
    "account_id": "account.pk",
    "product_id": "product.pk",
    "key_id": "key.pk",
    "registration_id": "registration.pk",
    "application_id": "application.pk",
    "stall_id": "stall.pk",
    "slug": "market.slug",
    "job_id": "job.pk",
    "order_id": "order.pk",
    "intent_id": "intent.pk",
    "token": "order.receipt_token",
    "close_id": "close.pk",
    "review_id": "review.pk",
    "market_slug": "market.slug",
    "merchant_slug": "storefront.merchant.slug",
    "connection_id": "connection.pk",
    "code": "invoice.lookup_code",
    "invoice_id": "invoice.pk",
    "purchase_id": "purchase.pk",
    "series_id": "series.pk",
    "booth_id": "booth.pk",
    "inquiry_id": "inquiry.pk",
    "exhibition_id": "exhibition.pk",
    "lang": "'vi'",
}
KWARG = re.compile(r"<(?:\w+:)?(\w+)>")


def _ninja_methods(callback: Any, name: str | None) -> list[str]:
    """The HTTP methods of the django-ninja operation a URL pattern stands for (ninja makes one
    pattern per operation, all with its PathView's view; the pattern's name is the operation's)."""
    from ninja.operation import PathView

    cells = [c.cell_contents for c in (getattr(callback, "__closure__", None) or ())]
    view = next((c for c in cells if isinstance(c, PathView)), None)
    if view is None:
        return []
    for op in view.operations:
        if getattr(op, "url_name", None) == name or op.view_func.__name__ == name:
            return [m.upper() for m in op.methods]
    return []


def project_routes() -> Iterator[str]:
    """Every route of the project as the table spells it."""

    def walk(resolver: URLResolver, prefix: str) -> Iterator[str]:
        for p in resolver.url_patterns:
            here = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if p.app_name == "admin":
                    yield "/" + here
                else:
                    yield from walk(p, here)
            elif isinstance(p, URLPattern):
                if p.callback is serve:
                    # /media/: Django's file server, added only when the URLconf is first loaded
                    # with DEBUG on (development); no route of the product's own.
                    continue
                methods = _ninja_methods(p.callback, p.name)
                if methods:
                    yield from (f"{m} /{here}" for m in methods)
                else:
                    yield "/" + here

    yield from walk(get_resolver(), "")


def value_of(route: Route, world: World, name: str, **given: str) -> str:
    if name in given:
        return given[name]
    dotted = route.fill.get(name) or DEFAULT_FILL[name]
    return dotted.strip("'") if dotted.startswith("'") else str(world.value(dotted))


def url_of(route: Route, world: World, **given: str) -> str:
    path = KWARG.sub(lambda m: value_of(route, world, m.group(1), **given), route.path)
    if route.query:
        path += route.query.format(merchant_id=value_of(route, world, "merchant_id", **given))
    return path


@dataclass
class Request:
    """A route's request for one world, made (with every object it names) before the counts."""

    method: str
    url: str
    kwargs: dict[str, Any]

    def send(self, client, **headers):
        extra: dict[str, Any] = {"headers": headers} if headers else {}
        return getattr(client, self.method)(self.url, **self.kwargs, **extra)


def request(route: Route, world: World, **given: str) -> Request:
    kwargs: dict[str, Any] = {}
    if route.is_api and route.http_method != "get":
        body = {k: filled(route, world, v, **given) for k, v in (route.body or {}).items()}
        if route.multipart:
            kwargs.update(data=body)
        else:
            kwargs.update(data=body, content_type="application/json")
    return Request(route.http_method, url_of(route, world, **given), kwargs)


def filled(route: Route, world: World, v: Any, **given: str) -> Any:
    if v == "{purchase_file}":
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.routes_world import EINVOICE_FIXTURES

        data = (EINVOICE_FIXTURES / "sales_form2.xml").read_bytes()
        return SimpleUploadedFile("hoa-don.xml", data, "text/xml")
    if isinstance(v, str) and v.startswith("{") and v.endswith("}"):
        return value_of(route, world, v[1:-1], **given)
    return v


def assert_api_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response.json()["error"]["code"] == code, response.json()


def assert_sent_to_sign_in(response) -> None:
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith("/dang-nhap/?next="), response["Location"]


def names_merchant_and_object(route: Route) -> bool:
    # objects of a merchant (an exhibition or a market, by slug, belongs to no merchant)
    kwargs = set(KWARG.findall(route.path)) - {"merchant_id", "lang", "slug"}
    in_body = "{merchant_id}" in (route.body or {}).values()
    named = "merchant_id" in KWARG.findall(route.path) or bool(route.query) or in_body
    return named and bool(kwargs)
