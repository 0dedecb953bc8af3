"""Adapter for the SMS provider (tin nhắn SMS): the only module that speaks its HTTP protocol
(sandboxes/sms/PROTOCOL.md). Nothing else in the product knows how a text is sent.

``send_sms(phone, text, reference=…)`` sends one message and returns an :class:`SmsReceipt`, or
raises:

* :class:`SmsUnavailable`: the provider could not be reached, timed out, failed (5xx) or is not
  configured. Try again later; with a ``reference`` a retry never sends the text twice.
* :class:`SmsRejected`: the provider refused the message itself (4xx: a bad number, a bad
  key). Sending it again will not help.

``send_sms_after_commit`` is what services call: the text goes out from a Celery task
(``core.send_sms``) once the transaction that decided it has committed, never from inside it.
The number and the text travel through the task queue sealed (``seal``/``unseal``: a one-time
code is not left readable in Redis), and a message without a reference of its own gets one, so
a retry after a lost answer never sends it twice.
Settings: ``SMS_URL``, ``SMS_API_KEY``, ``SMS_TIMEOUT_SECONDS``, ``SMS_CONNECT_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from functools import partial

import requests
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

USER_AGENT = "choso-sms/1.0"


class SmsError(Exception):
    """Base class: ``message``, ``http_status`` (None without an answer), ``code``."""

    transient = False

    def __init__(self, message: str, *, http_status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code


class SmsUnavailable(SmsError):
    transient = True


class SmsRejected(SmsError):
    pass


@dataclass(frozen=True)
class SmsReceipt:
    id: str
    to: str
    segments: int
    duplicate: bool  # the provider had this reference already: nothing was sent again


def send_sms(phone: str, text: str, *, reference: str = "") -> SmsReceipt:
    """Send ``text`` to ``phone`` (E.164, ``+84…``). ``reference``: our id for the message."""
    url = (settings.SMS_URL or "").rstrip("/")
    key = settings.SMS_API_KEY or ""
    if not url or not key.strip():
        raise SmsUnavailable("SMS is not configured (SMS_URL, SMS_API_KEY).", code="not_configured")
    body: dict[str, str] = {"to": phone, "text": text}
    if reference:
        body["reference"] = reference
    try:
        answer = requests.post(
            f"{url}/v1/messages",
            json=body,
            headers={"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT},
            timeout=(settings.SMS_CONNECT_TIMEOUT_SECONDS, settings.SMS_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except requests.Timeout:
        raise SmsUnavailable("The SMS provider timed out.", code="timeout") from None
    except requests.RequestException as exc:
        raise SmsUnavailable(
            f"The SMS provider cannot be reached: {type(exc).__name__}.", code="connection"
        ) from None
    data = _json(answer)
    if answer.status_code in (200, 201) and isinstance(data.get("id"), str):
        return SmsReceipt(
            id=data["id"],
            to=str(data.get("to") or phone),
            segments=int(data.get("segments") or 1),
            duplicate=answer.status_code == 200,
        )
    found = data.get("error")
    error: dict = found if isinstance(found, dict) else {}
    message = str(error.get("message") or f"HTTP {answer.status_code}")
    code = str(error.get("code") or "")
    if answer.status_code >= 500 or answer.status_code == 429 or answer.status_code < 400:
        raise SmsUnavailable(message, http_status=answer.status_code, code=code)
    raise SmsRejected(message, http_status=answer.status_code, code=code)


def _json(answer: requests.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def send_sms_after_commit(phone: str, text: str, *, reference: str = "") -> None:
    """Queue the text for when the current transaction commits (at once outside one)."""
    reference = reference or f"sms-{secrets.token_hex(8)}"
    transaction.on_commit(partial(_queue, phone, text, reference))


def _queue(phone: str, text: str, reference: str) -> None:
    from .tasks import send_sms_task  # tasks import services that import this module

    send_sms_task.delay(seal(phone, text), reference)


def _fernet():
    from . import sealing

    return sealing.fernet(settings.SECRET_KEY, salt=b"choso-sms", info=b"message-in-the-queue")


def seal(phone: str, text: str) -> str:
    """The message as the task queue carries it: unreadable without the site's secret."""
    return _fernet().encrypt(json.dumps({"to": phone, "text": text}).encode()).decode("ascii")


def unseal(sealed: str) -> tuple[str, str]:
    """(phone, text) of a sealed message. Raises ``sealing.InvalidToken`` for one that was not
    sealed with this site's secret."""
    message = json.loads(_fernet().decrypt(sealed.encode("ascii")))
    return message["to"], message["text"]
