"""What every JSON API operation shares at its edge: the checked base of request bodies, bounded
numbers, the one error shape (``ErrorOut``) and the error answers each operation documents.

- ``InSchema`` is the base of every request body: each string in it (in lists, and dict keys,
  too) goes through ``core.text`` — NUL, control characters and lone surrogates are a 422
  ``invalid_characters`` naming the field; fields listed in ``multiline_fields`` may hold line
  breaks and tabs.
- ``Amount`` and ``Id`` keep numbers within what the domain and the database take (a 10^30
  price is a 422, not an integer overflow in the database); ``MAX_OFFSET`` and
  ``MAX_PAGE_SIZE`` bound lists (``core.pagination`` for ``@paginate``).
- ``LocalTime`` documents a wall-clock time as what it is (no offset), not as RFC 3339 ``time``.
- ``errors(404, 409)`` documents the error answers an operation gives besides those every
  operation of its kind gives, which ``document_common_errors`` adds once all routers are
  mounted: 400 (a malformed request: broken JSON, characters no text may hold), 401 (an
  operation that needs a caller), 413 (a body above ``DATA_UPLOAD_MAX_MEMORY_SIZE``), 422 (an
  operation with parameters or a body) and 429 (an operation under the API's rate limits).
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, ClassVar

from ninja import Field, Schema
from pydantic import BaseModel, StrictInt, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from .text import INVALID_TEXT_CODE, text_is_clean

# NAPAS 247 moves at most 500.000.000 đ per transfer: no price, sale line, payment or refund of
# a stall is larger, and sums of a few of them stay far inside a 64-bit integer.
MAX_AMOUNT = 500_000_000
# Offsets of lists: far beyond any merchant's history, far inside a 64-bit OFFSET.
MAX_OFFSET = 100_000
MAX_PAGE_SIZE = 100

Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
"""Whole đồng as a JSON integer, 0 … 500.000.000 (1.5, "150000" and true are refused)."""

# Ids are 64-bit: a larger one given in a list (``pk__in``) overflows the database's integer.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
"""The id of a row named in a body; 0 … 2^63 − 1 (an unknown one is the service's 404/422)."""

LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
            "description": "Local time of day in Đà Nẵng (Asia/Ho_Chi_Minh), HH:MM:SS",
            "examples": ["06:00:00"],
        }
    ),
]
"""A wall-clock time of day (opening hours), shown without an offset: it is Đà Nẵng's."""


def _check_strings(value: Any, multiline: bool) -> None:
    if isinstance(value, str):
        if not text_is_clean(value, multiline=multiline):
            raise PydanticCustomError(INVALID_TEXT_CODE, "text holds characters it may not hold")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_strings(item, multiline)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, False)
            _check_strings(item, multiline)
    # Nested schemas are InSchemas and check their own fields; other values are not text.


class InSchema(Schema):
    """Base of request bodies: every string field is checked by ``core.text``."""

    # Fields that may hold line breaks and tabs (notes, messages, reviews).
    multiline_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any, info: Any) -> Any:
        _check_strings(value, info.field_name in cls.multiline_fields)
        return value


# --- the one error shape ------------------------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_error`")
    message: str = Field(description="For people, in the language of `Accept-Language`")
    fields: dict[str, list[str]] = Field(description="Messages per field (may be empty)")


class ErrorOut(Schema):
    """`{"error": {"code", "message", "fields"}}`: every 4xx (and 503) of the API."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "Malformed request (broken JSON, characters no text may hold)",
    401: "No valid API key or session",
    403: "Not allowed (a role too weak, a missing permission, a CSRF check failed)",
    404: "Not found (or another merchant's)",
    405: "Method not allowed",
    409: "Conflicts with the current state (or an Idempotency-Key in progress)",
    413: "Request body too large",
    422: "Invalid fields or parameters (`error.fields` names them)",
    429: "Too many requests",
    503: "A provider (bank, e-wallet, tax gateway) is unavailable; retry later",
}


def errors(*statuses: int) -> dict[int, Any]:
    """`response={200: X, **errors(404, 409)}`: ErrorOut for each of these statuses."""
    return dict.fromkeys(statuses, ErrorOut)


def _operations(api: Any) -> list[tuple[str, Any]]:
    """(path under the API's root, operation) of every operation, as mounted: nested routers
    included, auth and throttles inherited — what serves the URLs and what the OpenAPI document
    is made from. Building them closes the API to more routers."""
    return [
        (f"{bound.prefix.strip('/')}/{path.lstrip('/')}".strip("/"), operation)
        for bound in api._get_bound_routers()
        for path, path_view in bound.path_operations.items()
        for operation in path_view.operations
    ]


def document_common_errors(api: Any, *, root: str = "/api/v1/") -> None:
    """Add ErrorOut for the statuses every operation of its kind answers (see the module's
    docstring) to each operation of ``api`` (mounted at ``root``). Call once, after every
    router is mounted."""
    for path, operation in _operations(api):
        _add_common_errors(operation, root + path)


def _add_common_errors(operation: Any, path: str) -> None:
    from .ratelimits import API_UNTHROTTLED_PATHS

    models = operation.response_models
    if not isinstance(models, dict):  # pragma: no cover - every operation declares a response
        return
    statuses = {400}
    if operation.auth_callbacks:
        statuses.add(401)
    if operation.throttle_objects and not path.startswith(API_UNTHROTTLED_PATHS):
        statuses.add(429)
    params = [m for m in operation.models if m.__ninja_param_source__ != "header"]
    if params:
        statuses.add(422)
    if any(m.__ninja_param_source__ == "body" for m in operation.models):
        statuses.add(413)
    for status in sorted(statuses):
        if status not in models:
            models[status] = operation._create_response_model(ErrorOut)


def schema_models(api: Any) -> list[type[BaseModel]]:
    """Every schema the API's operations read or answer, nested ones included (for tests)."""
    found: dict[int, type[BaseModel]] = {}

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if id(annotation) in found:
                return
            found[id(annotation)] = annotation
            for field in annotation.model_fields.values():
                walk(field.annotation)
            return
        for arg in getattr(annotation, "__args__", ()) or ():
            walk(arg)

    for _path, operation in _operations(api):
        for params in operation.models:  # django-ninja's wrappers: path, query, body...
            for field in params.model_fields.values():
                walk(field.annotation)
        for response in (operation.response_models or {}).values():
            if response is not None:
                walk(response.__annotations__.get("response"))
    return list(found.values())
