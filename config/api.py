"""The one NinjaAPI: mounts each app's router and maps every error to one JSON shape."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from core.errors import ApplicationError, validation_error_from_django
from core.ratelimits import install_api_throttle
from core.schemas import document_common_errors
from core.text import INVALID_TEXT_CODE, INVALID_TEXT_MESSAGE
from einvoice.api import router as einvoice_router
from market.api import router as market_router
from market.figures.api import router as reports_router
from market.shop.api import router as shop_router
from merchants.api import router as merchants_router
from payments.api import router as payments_router
from virtual_expo.api import router as expo_router


class Utf8JSONRenderer(JSONRenderer):
    """Vietnamese text as UTF-8, not \\u escapes: about a third fewer bytes on a weak 3G link."""

    json_dumps_params = {"ensure_ascii": False}


class UnencodableText(ValueError):
    """A JSON body holding a lone surrogate ("\\ud800"): no database or answer can hold it."""


class StrictJSONParser(Parser):
    """JSON bodies as json.loads reads them, refusing any string (or key) UTF-8 cannot encode."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body)
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            raise UnencodableText(str(exc)) from exc
        return data


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    parser=StrictJSONParser(),
    title="Chợ Số API",
    version="1",
    description=(
        "Chợ Số: cashless wet markets, online stalls, e-invoices and virtual exhibitions. "
        'Amounts are integer VND. Errors: `{"error": {"code", "message", "fields"}}`, '
        "in Vietnamese or English following `Accept-Language`."
    ),
    urls_namespace="api",
    docs_url="/docs",
)
# Rate limits per API key / user / client IP, 429 `rate_limited` + Retry-After (core/ratelimits.py).
install_api_throttle(api)


def _error(request: HttpRequest, status: int, code: str, message: str, fields=None) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
    )


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    err = validation_error_from_django(exc)
    return api.create_response(request, err.as_dict(), status=err.status)


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        loc = [_printable(p) for p in item.get("loc", []) if p not in _LOCATIONS]
        fields.setdefault(".".join(loc) or "body", []).append(_schema_message(item))
    return _error(
        request, 422, "validation_error", _("Dữ liệu chưa hợp lệ, vui lòng kiểm tra lại."), fields
    )


_LOCATIONS = ("body", "payload", "query", "path")


def _printable(part: Any) -> str:
    # A field name as it can be sent back: a dict key may be any text the caller sent.
    return str(part).encode("utf-8", "backslashreplace").decode("utf-8")


def _limit(item: dict, *names: str) -> str:
    ctx = item.get("ctx") or {}
    value = next((ctx[n] for n in names if n in ctx), "")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", get_format("THOUSAND_SEPARATOR"))  # 10.000 / 10,000
    return str(value)


def _schema_message(item: dict) -> str:
    kind = item.get("type", "")
    if kind == INVALID_TEXT_CODE:
        return str(INVALID_TEXT_MESSAGE)
    if kind in ("less_than_equal", "less_than"):
        return _("Tối đa là %(limit)s.") % {"limit": _limit(item, "le", "lt")}
    if kind in ("greater_than_equal", "greater_than"):
        return _("Tối thiểu là %(limit)s.") % {"limit": _limit(item, "ge", "gt")}
    if kind == "string_too_long":
        return _("Dài tối đa %(limit)s ký tự.") % {"limit": _limit(item, "max_length")}
    if kind == "too_long":
        return _("Tối đa %(limit)s mục.") % {"limit": _limit(item, "max_length")}
    if kind == "missing":
        return _("Trường này là bắt buộc.")
    if kind.startswith("int"):
        return _("Cần một số nguyên.")
    if kind.startswith("bool"):
        return _("Cần giá trị đúng/sai (true/false).")
    if kind.startswith("string"):
        return _("Cần một chuỗi ký tự.")
    if kind == "json_invalid":
        return _("Nội dung JSON không đọc được.")
    return _("Giá trị không hợp lệ.")


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, "not_authenticated", _("Bạn cần đăng nhập hoặc dùng khóa API hợp lệ.")
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Không tìm thấy."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403:
        # ninja's CSRF check for session-authenticated writes
        return _error(
            request,
            403,
            "csrf_failed",
            _("Phiên làm việc đã hết hạn hoặc thiếu mã CSRF; vui lòng tải lại trang."),
        )
    if exc.status_code == 400:
        if isinstance(exc.__cause__, UnencodableText):
            return _error(request, 400, INVALID_TEXT_CODE, str(INVALID_TEXT_MESSAGE))
        # ninja could not parse the body (broken JSON, wrong content type)
        return _error(request, 400, "bad_request", _("Nội dung JSON không đọc được."))
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(RequestDataTooBig)
def on_body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read the body.
    return _error(request, 413, "payload_too_large", _("Nội dung gửi lên quá lớn."))


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Too many fields, a malformed multipart body...: what Django answers 400, in our shape.
    return _error(request, 400, "bad_request", _("Yêu cầu không hợp lệ."))


class HealthOut(Schema):
    ok: bool
    database: bool


@api.get("/health", response=HealthOut, auth=None, tags=["system"])
def health(request: HttpRequest):
    """Liveness: answers without touching business tables (also the bench's bare endpoint)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "database": True}


api.add_router("/merchants/", merchants_router)
api.add_router("/market/", market_router)
api.add_router("/payments/", payments_router)
api.add_router("/reports/", reports_router)
api.add_router("/einvoice/", einvoice_router)
api.add_router("/shop/", shop_router)
api.add_router("/expo/", expo_router)

# 400, 401, 413, 422 and 429 where an operation can answer them, in the OpenAPI document.
document_common_errors(api)
