"""Idempotency-Key handling for POSTs that create documents or move money.

Same key + same body -> the saved answer is replayed; same key + another body -> 422; the same
key while the first request is still running -> 409. Validation failures are not saved, so the
caller can fix the body and retry with the same key (as Stripe does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from .errors import Conflict, ValidationFailed
from .models import IdempotencyKey

MAX_KEY_LENGTH = 255


def _fingerprint(method: str, path: str, payload: Any) -> str:
    raw = json.dumps([method, path, payload], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def run_idempotent(
    *,
    scope: str,
    key: str | None,
    method: str,
    path: str,
    payload: Any,
    handler: Callable[[], tuple[int, Any]],
) -> tuple[int, Any]:
    """Run handler once per (scope, key); handler returns (status, JSON-able body)."""
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _("Idempotency-Key dài tối đa 255 ký tự."), fields={"Idempotency-Key": _("Quá dài.")}
        )
    fingerprint = _fingerprint(method, path, payload)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=fingerprint)
    except IntegrityError:
        existing = IdempotencyKey.objects.get(scope=scope, key=key)
        if existing.fingerprint != fingerprint:
            raise ValidationFailed(
                _("Idempotency-Key này đã được dùng cho một yêu cầu khác."),
                code="idempotency_key_reused",
            ) from None
        if existing.state != IdempotencyKey.State.DONE:
            raise Conflict(
                _("Yêu cầu với Idempotency-Key này đang được xử lý, vui lòng thử lại sau."),
                code="idempotency_in_progress",
            ) from None
        return existing.response_status or 200, existing.response_body

    try:
        status, body = handler()
    except Exception:
        # Not saved: a validation failure (or a crash) lets the caller retry with the same key.
        record.delete()
        raise
    record.state = IdempotencyKey.State.DONE
    record.response_status = status
    record.response_body = body
    record.save(update_fields=["state", "response_status", "response_body"])
    return status, body


def idempotent_post(
    request: Any,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    handler: Callable[[], tuple[int, Any]],
) -> Any:
    """For a django-ninja POST handler: run_idempotent on this request, as a ninja Status."""
    from ninja import Status

    status, body = run_idempotent(
        scope=scope,
        key=key,
        method=request.method,
        path=request.path,
        payload=payload,
        handler=handler,
    )
    return Status(status, body)
