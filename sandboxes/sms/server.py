"""The sandbox SMS gateway: an HTTP JSON server on loopback.

It stands in for a Vietnamese SMS brand-name provider: the platform sends a text to a mobile
number with an API key; nothing leaves the machine. Every accepted message lands in an *outbox*
that tests and the demo read (``GET /v1/_sandbox/outbox``). Wire protocol: PROTOCOL.md beside
this file. Usage::

    with SmsSandbox(["sk_test_sms"]) as gateway:
        ...  # POST {gateway.url}/v1/messages with Authorization: Bearer sk_test_sms
        gateway.outbox(to="+84905123456")  # what that phone received, oldest first

All state lives in memory under one lock. A message sent with a ``reference`` already seen
(for the same key) is not sent again: the first message is answered (idempotent retries).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from .._common import LoopbackSandbox, bearer_key, key_list

logger = logging.getLogger("sandboxes.sms")

PHONE_RE = re.compile(r"^\+84[35789]\d{8}$")
REFERENCE_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_TEXT = 612  # four concatenated 153-character segments
GSM_SEGMENT, UNICODE_SEGMENT = 153, 67


class SmsError(Exception):
    """An answer other than success: ``status``, ``code``, a Vietnamese ``message``."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "param": self.param}}


@dataclass
class Message:
    id: str
    key: str
    to: str
    text: str
    reference: str | None
    created: float
    segments: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.to,
            "text": self.text,
            "reference": self.reference,
            "status": "sent",
            "segments": self.segments,
            "created": int(self.created),
        }


@dataclass
class Faults:
    """Knobs: ``fail_next`` answers the next n sends 503; ``error_rate`` a random share of them;
    ``latency_ms`` is added to every API answer."""

    fail_next: int = 0
    error_rate: float = 0.0
    latency_ms: int = 0
    _fields: tuple[str, ...] = field(default=("fail_next", "error_rate", "latency_ms"), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def update(self, changes: object) -> None:
        if not isinstance(changes, Mapping):
            raise SmsError(400, "invalid_request", "Cần một đối tượng JSON.")
        for name, value in changes.items():
            if name not in self._fields:
                raise SmsError(400, "parameter_unknown", f"Không có nút {name}.", name)
            if name == "error_rate":
                if not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise SmsError(400, "parameter_invalid", "error_rate: 0 đến 1.", name)
                self.error_rate = float(value)
            else:
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise SmsError(400, "parameter_invalid", f"{name}: số nguyên ≥ 0.", name)
                setattr(self, name, value)


def segments(text: str) -> int:
    """How many SMS parts the text takes (Vietnamese with diacritics is UCS-2: 67 a part)."""
    size = UNICODE_SEGMENT if any(ord(ch) > 127 for ch in text) else GSM_SEGMENT
    return max(1, -(-len(text) // size))


class SmsSandbox(LoopbackSandbox):
    """A stand-in SMS gateway on ``http://host:port``; ``api_keys`` are the accepted keys."""

    name = "sms"
    title = "SMS sandbox"

    def __init__(
        self,
        api_keys: Iterable[str] | str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
    ) -> None:
        keys = key_list(api_keys)
        super().__init__(host, port, quiet=quiet)
        self._keys = keys
        self._lock = threading.Lock()
        self._reset_state()

    def _reset_state(self) -> None:
        self._messages: list[Message] = []
        self._by_reference: dict[tuple[str, str], Message] = {}
        self._faults = Faults()
        self._totals = {"requests": 0, "faults": 0, "duplicates": 0}

    # -- lifecycle ------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        from .handler import Handler  # the handler imports this module

        return Handler

    # -- auth and faults --------------------------------------------------------

    def authenticate(self, header: str | None) -> str | None:
        """The API key of an ``Authorization: Bearer <key>`` header, if it is one of ours."""
        return bearer_key(header, self._keys)

    def take_fault(self) -> tuple[bool, float]:
        """(answer 503?, latency seconds) for one API request."""
        with self._lock:
            f = self._faults
            self._totals["requests"] += 1
            fail = False
            if f.fail_next > 0:
                f.fail_next -= 1
                fail = True
            elif f.error_rate and secrets.randbelow(1_000_000) < f.error_rate * 1_000_000:
                fail = True
            if fail:
                self._totals["faults"] += 1
            return fail, f.latency_ms / 1000

    def get_faults(self) -> dict[str, Any]:
        with self._lock:
            return self._faults.as_dict()

    def set_faults(self, changes: object = None, /, **faults: Any) -> dict[str, Any]:
        update = {**changes, **faults} if isinstance(changes, Mapping) else (changes or faults)
        with self._lock:
            self._faults.update(update)
            return self._faults.as_dict()

    def reset(self) -> None:
        with self._lock:
            self._reset_state()

    # -- the API ----------------------------------------------------------------

    def send(self, key: str, data: object) -> tuple[int, dict[str, Any]]:
        if not isinstance(data, Mapping):
            raise SmsError(400, "invalid_request", "Cần một đối tượng JSON.")
        unknown = sorted(set(data) - {"to", "text", "reference"})
        if unknown:
            raise SmsError(400, "parameter_unknown", f"Tham số lạ: {unknown[0]}.", unknown[0])
        to, text, reference = data.get("to"), data.get("text"), data.get("reference")
        if not isinstance(to, str) or not PHONE_RE.match(to):
            raise SmsError(400, "phone_invalid", "Số di động Việt Nam dạng +84xxxxxxxxx.", "to")
        if not isinstance(text, str) or not text.strip():
            raise SmsError(400, "text_missing", "Tin nhắn trống.", "text")
        if len(text) > MAX_TEXT:
            raise SmsError(400, "text_too_long", f"Tin nhắn tối đa {MAX_TEXT} ký tự.", "text")
        if reference is not None and (
            not isinstance(reference, str) or not REFERENCE_RE.match(reference)
        ):
            raise SmsError(
                400, "reference_invalid", "reference: 1–64 chữ, số hoặc ._:-", "reference"
            )
        with self._lock:
            if reference is not None:
                earlier = self._by_reference.get((key, reference))
                if earlier is not None:
                    self._totals["duplicates"] += 1
                    return 200, earlier.as_dict()
            message = Message(
                id=f"sms_{secrets.token_hex(10)}",
                key=key,
                to=to,
                text=text,
                reference=reference,
                created=time.time(),
                segments=segments(text),
            )
            self._messages.append(message)
            if reference is not None:
                self._by_reference[(key, reference)] = message
        logger.info("SMS to %s: %s", to, text)
        return 201, message.as_dict()

    def retrieve(self, key: str, message_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            for message in self._messages:
                if message.id == message_id and message.key == key:
                    return 200, message.as_dict()
        raise SmsError(404, "message_not_found", "Không có tin nhắn này.")

    # -- test helpers -------------------------------------------------------------

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        """Every message sent (to one number when ``to`` is given), oldest first."""
        with self._lock:
            return [m.as_dict() for m in self._messages if to is None or m.to == to]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self._totals, "messages": len(self._messages)}
