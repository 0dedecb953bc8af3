"""Idempotency-Key handling for POSTs that create documents or move money, as Stripe does it.

Same key + same body -> the saved answer is replayed; same key + another body -> 422; the same
key while the first request is still running -> 409. Validation failures (and any other
exception in the handler) are not saved, so the caller can fix the body and retry with the same
key.

A running request holds its key on a lease of ``IDEMPOTENCY_LEASE_SECONDS``. If the worker is
killed inside the request, the key is left ``in_progress``; once the lease is over a retry with
the same key takes it over (compare-and-set on ``locked_at``: of two racing retries exactly one
wins, the other gets 409) and runs the handler again. The handler's money effects are bound to
the key by the services themselves (see ``effect_key``), so the second run resumes the effect the
first one may have committed instead of making another; the retry then saves and replays its
answer. Keys are forgotten ``IDEMPOTENCY_TTL_HOURS`` after they were first used: an older key is
treated as unknown, and ``idempotency_keys_expire`` (hourly, core.tasks) deletes them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .db import insert_row, one_statement, update_where_returning
from .errors import Conflict, ValidationFailed
from .models import IdempotencyKey

MAX_KEY_LENGTH = 255
EFFECT_KEY_LENGTH = 64
EXPIRE_BATCH_SIZE = 1000
_CLAIM_ATTEMPTS = 3

_IN_PROGRESS = IdempotencyKey.State.IN_PROGRESS
_DONE = IdempotencyKey.State.DONE


def _fingerprint(method: str, path: str, payload: Any) -> str:
    raw = json.dumps([method, path, payload], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def effect_key(scope: str, key: str | None) -> str:
    """A stable name of at most 64 characters for (scope, Idempotency-Key); "" without a key.

    Services store it in a unique column of the effect they make (a payment, an invoice...), so a
    retried request finds and resumes the effect of the first run instead of making a second one.
    """
    if not key:
        return ""
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()
    return ("idem:" + digest)[:EFFECT_KEY_LENGTH]


def _lease() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


def _ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def _lease_start(record: IdempotencyKey) -> datetime:
    # Rows from before locked_at existed: their lease started when they were created.
    return record.locked_at or record.created_at


def _lease_over(record: IdempotencyKey, now: datetime) -> bool:
    return record.state == _IN_PROGRESS and now - _lease_start(record) >= _lease()


def _expired(now: datetime) -> Q:
    """Keys older than the TTL, except one a live request is running on right now."""
    live = Q(state=_IN_PROGRESS, locked_at__gt=now - _lease())
    return Q(created_at__lt=now - _ttl()) & ~live


def _is_expired(record: IdempotencyKey, now: datetime) -> bool:
    live = record.state == _IN_PROGRESS and not _lease_over(record, now)
    return now - record.created_at > _ttl() and not live


def _held(record: IdempotencyKey) -> Q:
    """The row as this run holds it: still in progress on the lease this run took."""
    if record.locked_at is None:
        return Q(pk=record.pk, state=_IN_PROGRESS, locked_at__isnull=True)
    return Q(pk=record.pk, state=_IN_PROGRESS, locked_at=record.locked_at)


def _save_answer(record: IdempotencyKey, status: int, body: Any) -> int:
    """``filter(_held(record)).update(state=DONE, response_…)``, written once (core.db): how many
    rows it changed (0 when the lease was lost)."""
    held = '"id" = %s AND "state" = %s AND ' + (
        '"locked_at" IS NULL' if record.locked_at is None else '"locked_at" = %s'
    )
    params: list[Any] = [record.pk, _IN_PROGRESS]
    if record.locked_at is not None:  # as the ORM sends a datetime (SQLite stores text)
        field = IdempotencyKey._meta.get_field("locked_at")
        params.append(field.get_db_prep_value(record.locked_at, transaction.get_connection()))
    values = {"state": _DONE, "response_status": status, "response_body": body}
    return len(update_where_returning(IdempotencyKey, values, held, params, ("id",)))


def idempotency_key_take_over(record: IdempotencyKey, *, now: datetime | None = None) -> bool:
    """Take over an in-progress key whose lease (as read into ``record``) is over.

    Compare-and-set: the row is updated only if it still carries the lease that was read, so of
    two retries that read the same abandoned row exactly one wins. On success ``record`` holds
    the new lease and True is returned.
    """
    now = now or timezone.now()
    won = IdempotencyKey.objects.filter(_held(record)).update(locked_at=now)
    if won:
        record.locked_at = now
    return bool(won)


def idempotency_keys_expire(*, now: datetime | None = None) -> int:
    """Delete keys older than IDEMPOTENCY_TTL_HOURS, in batches (the hourly task calls this).
    Returns how many were deleted."""
    now = now or timezone.now()
    due = IdempotencyKey.objects.filter(_expired(now)).order_by("pk")
    deleted = 0
    while True:
        batch = list(due.values_list("pk", flat=True)[:EXPIRE_BATCH_SIZE])
        if not batch:
            return deleted
        # Checked again in the DELETE: a key reused meanwhile is not deleted under its user.
        count, _per_model = IdempotencyKey.objects.filter(_expired(now), pk__in=batch).delete()
        deleted += count
        if len(batch) < EXPIRE_BATCH_SIZE:
            return deleted


def _in_progress() -> Conflict:
    return Conflict(
        _("Yêu cầu với Idempotency-Key này đang được xử lý, vui lòng thử lại sau."),
        code="idempotency_in_progress",
    )


def _reused() -> ValidationFailed:
    return ValidationFailed(
        _("Idempotency-Key này đã được dùng cho một yêu cầu khác."),
        code="idempotency_key_reused",
    )


def _claim(*, scope: str, key: str, fingerprint: str) -> IdempotencyKey | tuple[int, Any]:
    """The key's row held by this run, or the saved answer to replay; raises 409/422."""
    for _attempt in range(_CLAIM_ATTEMPTS):
        now = timezone.now()
        try:
            with one_statement():  # no BEGIN/COMMIT round trips around the one INSERT
                record = IdempotencyKey(
                    scope=scope, key=key, fingerprint=fingerprint, locked_at=now
                )
                insert_row(record)  # the INSERT written once (core.db), not compiled per call
                return record
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if existing is None:  # deleted meanwhile (a failed run, the sweep): create it again
            continue
        if _is_expired(existing, now):
            # Forgotten: as if the key had never been used. Deleted only as it was read, so of
            # two requests replacing it one creates the new row and the other gets it as usual.
            IdempotencyKey.objects.filter(_expired(now), pk=existing.pk).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise _reused()
        if existing.state == _DONE:
            return existing.response_status or 200, existing.response_body
        if _lease_over(existing, now) and idempotency_key_take_over(existing, now=now):
            return existing
        raise _in_progress()
    raise _in_progress()


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
    claimed = _claim(scope=scope, key=key, fingerprint=fingerprint)
    if not isinstance(claimed, IdempotencyKey):
        return claimed
    record = claimed

    try:
        status, body = handler()
    except Exception:
        # Not saved: a validation failure (or a crash) lets the caller retry with the same key.
        # Only while this run still holds the key: after a takeover the row is another run's.
        IdempotencyKey.objects.filter(_held(record)).delete()
        raise
    saved = _save_answer(record, status, body)
    if not saved:
        # The lease ran out and another retry took the key over (and may have finished): the
        # answer saved first is the one every retry gets.
        current = IdempotencyKey.objects.filter(pk=record.pk, state=_DONE).first()
        if current is not None and current.fingerprint == fingerprint:
            return current.response_status or 200, current.response_body
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
