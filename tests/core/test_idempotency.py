"""`run_idempotent`: one answer per (scope, Idempotency-Key), replayed; misuse is refused."""

from __future__ import annotations

import pytest

from core.errors import Conflict, ValidationFailed
from core.idempotency import MAX_KEY_LENGTH, run_idempotent
from core.models import IdempotencyKey

pytestmark = pytest.mark.django_db


class Handler:
    """Counts its runs and answers (201, {"n": <run number>})."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[int, dict]:
        self.calls += 1
        return 201, {"n": self.calls, "note": "Đã tạo"}


def run(handler, *, key="key-1", payload=None, scope="payments.intent", path="/api/v1/x"):
    return run_idempotent(
        scope=scope,
        key=key,
        method="POST",
        path=path,
        payload={"amount": 150_000} if payload is None else payload,
        handler=handler,
    )


def test_it_runs_the_handler_and_saves_its_answer():
    handler = Handler()

    assert run(handler) == (201, {"n": 1, "note": "Đã tạo"})

    record = IdempotencyKey.objects.get(scope="payments.intent", key="key-1")
    assert record.state == IdempotencyKey.State.DONE
    assert (record.response_status, record.response_body) == (201, {"n": 1, "note": "Đã tạo"})


def test_it_replays_the_saved_answer_without_running_the_handler_again():
    handler = Handler()
    first = run(handler)

    second = run(handler)

    assert second == first
    assert handler.calls == 1
    assert IdempotencyKey.objects.count() == 1


def test_it_treats_the_same_payload_in_another_key_order_as_the_same_request():
    handler = Handler()
    run(handler, payload={"a": 1, "b": 2})

    run(handler, payload={"b": 2, "a": 1})

    assert handler.calls == 1


def test_it_refuses_the_same_key_with_another_payload():
    handler = Handler()
    run(handler, payload={"amount": 150_000})

    with pytest.raises(ValidationFailed) as caught:
        run(handler, payload={"amount": 250_000})

    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.status == 422
    assert handler.calls == 1


def test_it_refuses_the_same_key_on_another_path():
    handler = Handler()
    run(handler, path="/api/v1/a")

    with pytest.raises(ValidationFailed) as caught:
        run(handler, path="/api/v1/b")

    assert caught.value.code == "idempotency_key_reused"


def test_it_answers_conflict_while_the_first_request_is_in_flight():
    seen: list[Exception] = []

    def reentrant():
        # While this request runs, the same request arrives again.
        with pytest.raises(Conflict) as caught:
            run(Handler())
        seen.append(caught.value)
        return 201, {"ok": True}

    assert run(reentrant) == (201, {"ok": True})
    assert seen[0].code == "idempotency_in_progress"
    assert seen[0].status == 409


def test_it_does_not_save_the_key_when_the_handler_fails_so_a_retry_runs_again():
    attempts = 0

    def flaky():
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ValidationFailed(fields={"amount": ["Sai số tiền."]})
        return 201, {"attempt": attempts}

    with pytest.raises(ValidationFailed):
        run(flaky)
    assert not IdempotencyKey.objects.exists()

    assert run(flaky) == (201, {"attempt": 2})
    assert attempts == 2


def test_it_lets_a_failed_request_be_retried_with_a_corrected_payload():
    def failing():
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError):
        run(failing, payload={"amount": 1})

    assert run(Handler(), payload={"amount": 2}) == (201, {"n": 1, "note": "Đã tạo"})


def test_it_accepts_a_key_of_the_maximum_length():
    handler = Handler()

    run(handler, key="k" * MAX_KEY_LENGTH)

    assert handler.calls == 1


def test_it_rejects_a_key_longer_than_255_characters_without_running_the_handler():
    handler = Handler()

    with pytest.raises(ValidationFailed) as caught:
        run(handler, key="k" * (MAX_KEY_LENGTH + 1))

    assert "Idempotency-Key" in caught.value.fields
    assert handler.calls == 0
    assert not IdempotencyKey.objects.exists()


def test_it_keeps_scopes_apart():
    intents, invoices = Handler(), Handler()

    run(intents, scope="payments.intent", payload={"amount": 1})
    # The same key in another scope is another request, even with another payload.
    run(invoices, scope="einvoice.issue", payload={"invoice": 7})

    assert (intents.calls, invoices.calls) == (1, 1)
    assert IdempotencyKey.objects.filter(key="key-1").count() == 2


@pytest.mark.parametrize("key", [None, ""])
def test_it_runs_the_handler_every_time_without_a_key(key):
    handler = Handler()

    run(handler, key=key)
    run(handler, key=key)

    assert handler.calls == 2
    assert not IdempotencyKey.objects.exists()
