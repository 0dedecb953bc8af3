"""The sandbox tax-authority gateway: an HTTP JSON server on loopback.

It stands in for the tax authority's e-invoice gateway as reached through a provider (T-VAN):
series registration, submission of signed invoices whose answer comes later (asynchronous
validation), end-of-day batches of cash-register invoices, cancellations. Wire protocol:
PROTOCOL.md beside this file. Usage::

    with TaxGatewaySandbox(["sk_test_tax"], answer_delay=0) as gateway:
        ...  # POST {gateway.url}/v1/invoices with Authorization: Bearer sk_test_tax
        gateway.stats()  # per-UUID counters: submissions, duplicates, accepted, rejected

All state lives in memory under one lock. **An invoice's UUID is its identity**: a second
submission of the same UUID never makes a second record, it answers the existing one.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from lxml import etree

from .._common import LoopbackSandbox, bearer_key, key_list
from .authority import AuthoritySigner
from .state import (
    Counter,
    Fault,
    Faults,
    GatewayError,
    Record,
    Registration,
    canonical_uuid,
    invalid,
    new_id,
    only_params,
    xml_param,
)
from .validation import SERIES_RE, Facts, Schema, examine, reason, tax_code_valid

logger = logging.getLogger("sandboxes.taxgateway")

MAX_BATCH_ITEMS = 1000
PREFIX_ALPHABET = string.ascii_uppercase + string.digits
PREFIX_RE = re.compile(r"^[A-Z0-9]{5}$")


# --------------------------------------------------------------------------- #
# The sandbox
# --------------------------------------------------------------------------- #


class TaxGatewaySandbox(LoopbackSandbox):
    """A stand-in tax gateway on ``http://host:port``.

    ``api_keys``: the accepted ``Bearer`` keys. Invoices belong to the key that sent them (another
    key gets 404). ``xsd_path``: the schema (default ``einvoice/schema/hdon.xsd`` of this repo;
    skipped with a log line while it does not exist). ``answer_delay``/``gap_timeout``/``seed``
    set those knobs. ``clock`` returns unix seconds (tests may pass a fake one). Stopping also
    ends the hangs of timeout faults.
    """

    name = "taxgateway"
    title = "tax gateway sandbox"

    def __init__(
        self,
        api_keys: Iterable[str] | str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        xsd_path: Path | str | None = None,
        answer_delay: float = 1.0,
        gap_timeout: float = 86_400.0,
        seed: int | None = None,
        clock: Callable[[], float] | None = None,
        quiet: bool = True,
    ) -> None:
        keys = key_list(api_keys)
        super().__init__(host, port, quiet=quiet)
        self.schema = Schema(Path(xsd_path) if xsd_path else None)
        self._keys = keys
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._faults = Faults(answer_delay=answer_delay, gap_timeout=gap_timeout, seed=seed)
        self._rng = random.Random(seed)
        self.authority = AuthoritySigner()
        self._reset_state()

    def _reset_state(self) -> None:
        self._registrations: dict[tuple[str, str, str], Registration] = {}
        self._prefixes: set[str] = set()
        self._log: list[Record] = []  # every record ever made, in order (append-only)
        self._records: dict[str, Record] = {}
        self._numbers: dict[tuple[str, str, str, int], dict[int, str]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._counters: dict[str, Counter] = {}
        self._totals = {"requests": 0, "faults": 0}
        self._sequence = 0

    # -- lifecycle ------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        from .handler import Handler  # the handler imports this module

        return Handler

    # -- auth and faults --------------------------------------------------------

    def authenticate(self, header: str | None) -> str | None:
        """The API key of an ``Authorization: Bearer <key>`` header, if it is one of ours."""
        return bearer_key(header, self._keys)

    def take_fault(self) -> Fault:
        with self._lock:
            f = self._faults
            self._totals["requests"] += 1
            mode: str | None = None
            if f.fail_next > 0:
                f.fail_next -= 1
                mode = f.fail_next_mode
            elif f.error_rate and self._rng.random() < f.error_rate:
                mode = "error"
            elif f.timeout_rate and self._rng.random() < f.timeout_rate:
                mode = "timeout"
            elif f.error_after_rate and self._rng.random() < f.error_after_rate:
                mode = "error_after"
            if mode is not None:
                self._totals["faults"] += 1
            return Fault(mode, f.latency_ms / 1000, f.hang_seconds)

    def hang(self, seconds: float) -> None:
        """Sleep ``seconds`` (a timeout fault), or until the sandbox stops."""
        self._stopping.wait(seconds)

    def get_faults(self) -> dict[str, Any]:
        with self._lock:
            return self._faults.as_dict()

    def set_faults(self, changes: object = None, /, **faults: Any) -> dict[str, Any]:
        update: object = faults
        if changes is not None:
            update = {**changes, **faults} if isinstance(changes, Mapping) else changes
        with self._lock:
            if self._faults.update(update):
                self._rng = random.Random(self._faults.seed)
            return self._faults.as_dict()

    # -- registrations ----------------------------------------------------------

    def register(self, key: str, data: object) -> tuple[int, dict[str, Any]]:
        params = only_params(data, ("tax_code", "form", "series", "register_prefix"))
        tax_code = params.get("tax_code")
        form = params.get("form")
        series = params.get("series")
        wanted = params.get("register_prefix")
        if not isinstance(tax_code, str) or not tax_code_valid(tax_code.strip()):
            raise invalid("tax_code_invalid", f"Mã số thuế không hợp lệ: {tax_code!r}.", "tax_code")
        if not isinstance(form, str) or form not in ("1", "2", "3", "4", "5", "6"):
            raise invalid("form_invalid", "Ký hiệu mẫu số phải từ 1 đến 6.", "form")
        if not isinstance(series, str) or not SERIES_RE.match(series):
            raise invalid("series_invalid", f"Ký hiệu hoá đơn sai: {series!r}.", "series")
        if wanted is not None and (not isinstance(wanted, str) or not PREFIX_RE.match(wanted)):
            raise invalid(
                "parameter_invalid", "register_prefix: 5 chữ in hoa hoặc số.", "register_prefix"
            )
        triple = (tax_code.strip(), form, series)
        with self._lock:
            existing = self._registrations.get(triple)
            if existing is not None:
                if wanted is not None and wanted != existing.register_prefix:
                    raise invalid(
                        "registration_conflict",
                        f"Ký hiệu đã đăng ký với tiền tố {existing.register_prefix}.",
                        "register_prefix",
                        status=409,
                    )
                return 200, existing.as_dict()
            if wanted is not None:
                if wanted in self._prefixes:
                    raise invalid(
                        "prefix_taken",
                        f"Tiền tố {wanted} đã được cấp cho ký hiệu khác.",
                        "register_prefix",
                        status=409,
                    )
                prefix = wanted
            else:
                while True:
                    prefix = "".join(self._rng.choice(PREFIX_ALPHABET) for _ in range(5))
                    if prefix not in self._prefixes:
                        break
            self._prefixes.add(prefix)
            registration = Registration(
                id=new_id("reg"),
                tax_code=triple[0],
                form=form,
                series=series,
                register_prefix=prefix,
                created=self._clock(),
            )
            self._registrations[triple] = registration
            return 201, registration.as_dict()

    # -- invoices -----------------------------------------------------------------

    def submit(self, key: str, data: object) -> tuple[int, dict[str, Any]]:
        params = only_params(data, ("uuid", "xml"))
        invoice_uuid = canonical_uuid(params.get("uuid"))
        xml = xml_param(params.get("xml"))
        facts = examine(xml, self.schema)  # outside the lock: parsing can take a while
        with self._lock:
            record, created = self._receive(key, invoice_uuid, xml, facts, None)
            self._advance()
            return (202 if created else 200), record.as_dict()

    def submit_batch(self, key: str, data: object) -> tuple[int, dict[str, Any]]:
        params = only_params(data, ("date", "items"))
        day = params.get("date")
        items = params.get("items")
        if not isinstance(day, str) or len(day) != 10:
            raise invalid("parameter_invalid", "date phải có dạng YYYY-MM-DD.", "date")
        if not isinstance(items, list) or not items:
            raise invalid("parameter_missing", "items phải là danh sách hoá đơn.", "items")
        if len(items) > MAX_BATCH_ITEMS:
            raise invalid("batch_too_large", f"Tối đa {MAX_BATCH_ITEMS} hoá đơn mỗi lô.", "items")
        prepared: dict[int, tuple[str, str, Facts]] = {}
        refused: dict[int, GatewayError] = {}
        for index, item in enumerate(items):
            try:
                fields = only_params(item, ("uuid", "xml"))
                invoice_uuid = canonical_uuid(fields.get("uuid"))
                xml = xml_param(fields.get("xml"), f"items[{index}].xml")
                facts = examine(xml, self.schema)
                if not facts.is_cash_register and facts.series is not None:
                    raise invalid(
                        "not_cash_register",
                        f"Hoá đơn ký hiệu {facts.series} không phải hoá đơn máy tính tiền; "
                        "gửi riêng qua POST /v1/invoices.",
                        f"items[{index}]",
                    )
                prepared[index] = (invoice_uuid, xml, facts)
            except GatewayError as error:
                refused[index] = error
        batch_id = new_id("bat")
        results: list[dict[str, Any]] = []
        with self._lock:
            for index, item in enumerate(items):
                if index in refused:
                    uuid_text = item.get("uuid") if isinstance(item, dict) else None
                    results.append({"uuid": uuid_text, **refused[index].as_dict()})
                    continue
                invoice_uuid, xml, facts = prepared[index]
                try:
                    record, created = self._receive(key, invoice_uuid, xml, facts, batch_id)
                except GatewayError as error:  # a UUID conflict
                    results.append({"uuid": invoice_uuid, **error.as_dict()})
                    continue
                results.append({"uuid": record.uuid, "duplicate": not created})
            self._advance()
            for result in results:
                if "error" not in result:
                    result["invoice"] = self._records[result["uuid"]].as_dict()
            batch = {
                "object": "batch",
                "id": batch_id,
                "date": day,
                "count": len(items),
                "received": sum("error" not in r for r in results),
                "created": round(self._clock(), 3),
                "uuids": [r["uuid"] for r in results if "error" not in r],
                "errors": [r for r in results if "error" in r],
            }
            self._batches[batch_id] = {**batch, "owner": key}
            return 202, {**batch, "results": results}

    def retrieve_batch(self, key: str, batch_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._advance()
            batch = self._batches.get(batch_id)
            if batch is None or batch["owner"] != key:
                raise invalid("resource_missing", f"Không tìm thấy lô {batch_id}.", "id", 404)
            results = [{"uuid": u, "invoice": self._records[u].as_dict()} for u in batch["uuids"]]
            public = {k: v for k, v in batch.items() if k != "owner"}
            return 200, {**public, "results": results + batch["errors"]}

    def retrieve(self, key: str, invoice_uuid: str) -> tuple[int, dict[str, Any]]:
        canonical = canonical_uuid(invoice_uuid)
        with self._lock:
            self._advance()
            return 200, self._owned(key, canonical).as_dict()

    def cancel(self, key: str, invoice_uuid: str, data: object) -> tuple[int, dict[str, Any]]:
        params = only_params(data if data is not None else {}, ("reason",))
        why = params.get("reason")
        if not isinstance(why, str) or not why.strip():
            raise invalid("parameter_missing", "Cần lý do huỷ (reason).", "reason")
        if len(why) > 255:
            raise invalid("parameter_invalid", "Lý do huỷ tối đa 255 ký tự.", "reason")
        canonical = canonical_uuid(invoice_uuid)
        with self._lock:
            self._advance()
            record = self._owned(key, canonical)
            if record.canceled_at is not None:
                return 200, record.as_dict()  # idempotent
            if record.status != "accepted":
                raise invalid(
                    "invoice_not_cancelable",
                    f"Chỉ huỷ được hoá đơn đã được chấp nhận (hiện tại: {record.status}).",
                    status=409,
                )
            record.canceled_at = self._clock()
            record.cancel_reason = why.strip()
            self._counter(canonical).cancellations += 1
            return 200, record.as_dict()

    # -- tests ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Totals and per-UUID counters (``GET /v1/_sandbox/stats``)."""
        with self._lock:
            self._advance()
            per_uuid = {u: c.as_dict() for u, c in self._counters.items()}
            for counter in per_uuid.values():
                counter["records"] = 0
            for record in self._log:
                per_uuid[record.uuid]["records"] += 1
                per_uuid[record.uuid]["status"] = record.status  # type: ignore[assignment]
            totals = {
                "invoices": len(self._log),
                "submissions": sum(c.submissions for c in self._counters.values()),
                "duplicates": sum(c.duplicates for c in self._counters.values()),
                "accepted": sum(r.status == "accepted" for r in self._log),
                "rejected": sum(r.status == "rejected" for r in self._log),
                "processing": sum(r.status == "processing" for r in self._log),
                "registrations": len(self._registrations),
                "batches": len(self._batches),
                **self._totals,
            }
            return {"totals": totals, "invoices": per_uuid}

    def reset(self) -> None:
        with self._lock:
            self._reset_state()
            self._faults = Faults()
            self._rng = random.Random()

    def settle(self) -> None:
        """Decide every answer that is due (every request does this first)."""
        with self._lock:
            self._advance()

    # -- internals (expect the lock held) ----------------------------------------

    def _counter(self, invoice_uuid: str) -> Counter:
        return self._counters.setdefault(invoice_uuid, Counter())

    def _owned(self, key: str, invoice_uuid: str) -> Record:
        record = self._records.get(invoice_uuid)
        if record is None or record.owner != key:
            raise invalid(
                "resource_missing", f"Không tìm thấy hoá đơn {invoice_uuid}.", "uuid", 404
            )
        return record

    def _receive(
        self, key: str, invoice_uuid: str, xml: str, facts: Facts, batch: str | None
    ) -> tuple[Record, bool]:
        counter = self._counter(invoice_uuid)
        counter.submissions += 1
        digest = hashlib.sha256(xml.encode("utf-8")).hexdigest()
        existing = self._records.get(invoice_uuid)
        if existing is not None:
            if existing.owner != key:
                counter.conflicts += 1
                raise invalid(
                    "invoice_uuid_conflict",
                    "UUID này đã được gửi bởi một bên khác.",
                    "uuid",
                    status=409,
                )
            if existing.sha256 != digest:
                counter.conflicts += 1
                raise invalid(
                    "invoice_uuid_conflict",
                    "UUID này đã được gửi với một nội dung XML khác; hoá đơn đã phát hành "
                    "không được sửa.",
                    "uuid",
                    status=409,
                )
            counter.duplicates += 1
            return existing, False
        now = self._clock()
        reasons = list(facts.reasons)
        record = Record(
            uuid=invoice_uuid,
            owner=key,
            sha256=digest,
            facts=facts,
            received_at=now,
            ready_at=now + self._faults.answer_delay,
            gap_deadline=now + self._faults.gap_timeout,
            batch=batch,
            xml=xml,
        )
        registration = None
        if facts.tax_code and facts.form and facts.series:
            registration = self._registrations.get((facts.tax_code, facts.form, facts.series))
            if registration is None:
                reasons.append(
                    reason(
                        "series_not_registered",
                        f"Ký hiệu {facts.form}{facts.series} của MST {facts.tax_code} "
                        "chưa được đăng ký.",
                    )
                )
        code = facts.cash_register_code
        if (
            registration is not None
            and facts.is_cash_register
            and code
            and (code[1] != facts.form or code[6:11] != registration.register_prefix)
        ):
            reasons.append(
                reason(
                    "register_code_mismatch",
                    f"Mã máy tính tiền {code} không khớp mẫu số {facts.form} và tiền tố "
                    f"đăng ký {registration.register_prefix}.",
                )
            )
        series_key = record.series_key
        if series_key is not None and facts.number is not None:
            numbers = self._numbers.setdefault(series_key, {})
            holder = numbers.get(facts.number)
            if holder is not None:
                reasons.append(
                    reason(
                        "number_duplicate",
                        f"Số {facts.number} của ký hiệu {facts.form}{facts.series} năm "
                        f"{facts.year} đã được dùng cho hoá đơn khác.",
                    )
                )
            else:
                numbers[facts.number] = invoice_uuid
                record.holds_number = True
        record.reasons = reasons
        self._records[invoice_uuid] = record
        self._log.append(record)
        counter.records += 1
        return record, True

    def _advance(self) -> None:
        now = self._clock()
        for record in self._log:
            if record.status != "processing" or now < record.ready_at:
                continue
            if record.reasons:
                self._decide(record, "rejected", now)
                continue
            number = record.facts.number
            series_key = record.series_key
            if (
                number is not None
                and number > 1
                and series_key is not None
                and number - 1 not in self._numbers.get(series_key, {})
            ):
                if now >= record.gap_deadline:
                    record.reasons = [
                        reason(
                            "number_gap",
                            f"Chưa nhận được hoá đơn số {number - 1} trước số {number} "
                            "(số phải liên tục).",
                        )
                    ]
                    self._decide(record, "rejected", now)
                continue  # wait for the previous number
            self._decide(record, "accepted", now)

    def _decide(self, record: Record, status: str, now: float) -> None:
        record.status = status
        record.answered_at = now
        counter = self._counter(record.uuid)
        if status == "accepted":
            counter.accepted += 1
            self._sequence += 1
            if record.facts.is_cash_register:
                record.authority_code = record.facts.cash_register_code
            elif record.facts.is_coded:
                # MCCQT: a transaction number + a string derived from the invoice (34 chars).
                digest = hashlib.sha256(f"{record.uuid}:{record.sha256}".encode()).hexdigest()
                record.authority_code = f"{self._sequence:010d}{digest[:24].upper()}"
                try:
                    record.document = self.authority.coded_document(
                        record.xml, record.authority_code
                    )
                except etree.XMLSyntaxError:  # pragma: no cover - examined at receipt
                    record.document = None
        else:
            counter.rejected += 1
