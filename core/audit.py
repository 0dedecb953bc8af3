from __future__ import annotations

from typing import Any

from django.db import models

from .db import insert_row
from .models import AuditLog


def audit_entry(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditLog:
    """One audit row, not yet saved: for a service that writes several in one insert
    (``AuditLog.objects.bulk_create``) inside the transaction of the change they describe."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = actor_label or (f"user:{user.pk}" if user else "system")
    return AuditLog(
        actor=user,
        actor_label=label,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        reason=reason,
        data=data or {},
    )


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditLog:
    """Write one audit row. Call it inside the transaction of the change it describes."""
    entry = audit_entry(
        actor=actor, action=action, target=target, reason=reason, data=data, actor_label=actor_label
    )
    insert_row(entry)  # the INSERT written once (core.db), not compiled per call
    return entry
