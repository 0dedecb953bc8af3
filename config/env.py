"""Small typed readers of environment variables that fail loudly on bad values."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from core.rates import RATE_PATTERN

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A django-ratelimit rate, "count/period" (``600/m``, ``30/15m``; period s, m, h or d).
    ``off`` turns the limit off (returned as ""); unset or empty gives the default."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value == "off":
        return ""
    if not RATE_PATTERN.match(value):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 600/m or 30/15m (or off), got {raw!r}"
        )
    return value


def env_tax_code(name: str, default: str = "") -> str:
    """An enterprise tax code (MST): 10 digits with a valid check digit, or a branch's
    10 + "-" + 3 digits (python-stdnum ``vn.mst``); empty when unset."""
    raw = os.environ.get(name)
    value = (default if raw is None else raw).strip()
    if not value:
        return ""
    from stdnum.exceptions import ValidationError
    from stdnum.vn import mst

    try:
        compact = mst.validate(value)
    except ValidationError as exc:
        raise ImproperlyConfigured(
            f"{name} must be a Vietnamese enterprise tax code (MST: 10 digits with a valid check "
            f"digit, or 10 + '-' + 3 for a branch), got {raw!r}"
        ) from exc
    if len(compact) not in (10, 13):
        raise ImproperlyConfigured(f"{name} must be a 10- or 13-digit MST, got {raw!r}")
    return compact if len(compact) == 10 else f"{compact[:10]}-{compact[10:]}"
