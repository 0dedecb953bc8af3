"""The request id every log line carries.

``core.middleware.RequestIdMiddleware`` sets it for the length of a request (the caller's
``X-Request-ID`` when well-formed, else a new one; forgotten when the response is closed);
:class:`RequestIdFilter`, on the console handler (config/settings.py, LOGGING), copies it onto
each record as ``request_id``, so the JSON formatter writes it on every line and a plain-text
line shows it in brackets. Outside a request (Celery tasks, management commands) it is ``-``.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

NO_REQUEST = "-"

request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

# What we accept from a caller (a proxy's or a client's X-Request-ID): a UUID, nginx's
# $request_id, Heroku's, … Anything else (too long, spaces, control characters, quotes) is
# replaced, so a log line can never be forged or split through it.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(header: str | None) -> str:
    """The caller's id if it is well-formed, else a new one (32 hex digits)."""
    if header and _WELL_FORMED.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


def forget_request_id(**kwargs: object) -> None:
    """``request_finished`` receiver: lines written after a response was sent (in the same
    worker thread) belong to no request."""
    request_id_var.set(NO_REQUEST)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (never filters one out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True
