"""`run_idempotent`: one answer per (scope, Idempotency-Key), replayed; misuse is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core import tasks
from core.errors import Conflict, ValidationFailed
from core.idempotency import (
    MAX_KEY_LENGTH,
    _fingerprint,
    effect_key,
    idempotency_key_take_over,
    idempotency_keys_expire,
    run_idempotent,
)
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


# --- a worker killed inside the request: the lease ------------------------------------------


def abandoned(*, payload=None, path="/api/v1/x", **fields) -> IdempotencyKey:
    """The row a worker killed inside `run("key-1")` leaves behind: in progress, never finished."""
    return IdempotencyKey.objects.create(
        scope="payments.intent",
        key="key-1",
        fingerprint=_fingerprint("POST", path, {"amount": 150_000} if payload is None else payload),
        **{"locked_at": timezone.now(), **fields},
    )


def test_a_key_left_in_progress_answers_conflict_while_its_lease_runs(settings):
    abandoned()
    handler = Handler()

    lease = timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS - 1)
    with time_machine.travel(lease), pytest.raises(Conflict) as caught:
        run(handler)

    assert caught.value.code == "idempotency_in_progress"
    assert caught.value.status == 409
    assert handler.calls == 0


def test_a_retry_after_the_lease_takes_the_key_over_runs_and_then_replays(settings):
    abandoned()
    handler = Handler()

    with time_machine.travel(timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)):
        assert run(handler) == (201, {"n": 1, "note": "Đã tạo"})
        assert run(handler) == (201, {"n": 1, "note": "Đã tạo"})

    assert handler.calls == 1
    record = IdempotencyKey.objects.get(scope="payments.intent", key="key-1")
    assert record.state == IdempotencyKey.State.DONE
    assert (record.response_status, record.response_body) == (201, {"n": 1, "note": "Đã tạo"})


def test_a_key_left_in_progress_before_leases_existed_is_taken_over_too(settings):
    abandoned(locked_at=None)
    handler = Handler()

    with time_machine.travel(timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)):
        assert run(handler) == (201, {"n": 1, "note": "Đã tạo"})

    assert handler.calls == 1


def test_a_taken_over_key_holds_a_fresh_lease_against_the_next_retry(settings):
    abandoned()
    seen: list[Exception] = []

    def reentrant():
        # While the retry that took the key over runs, a third copy of the request arrives.
        with pytest.raises(Conflict) as caught:
            run(Handler())
        seen.append(caught.value)
        return 201, {"ok": True}

    with time_machine.travel(timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)):
        assert run(reentrant) == (201, {"ok": True})

    assert seen[0].code == "idempotency_in_progress"


def test_of_two_retries_racing_to_take_over_exactly_one_wins(settings):
    abandoned()
    # Both retries read the abandoned row, with the same lease, before either writes.
    first = IdempotencyKey.objects.get(key="key-1")
    second = IdempotencyKey.objects.get(key="key-1")
    later = timezone.now() + timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)

    won = [
        idempotency_key_take_over(first, now=later),
        idempotency_key_take_over(second, now=later + timedelta(milliseconds=1)),
    ]

    assert won == [True, False]
    assert IdempotencyKey.objects.get(key="key-1").locked_at == later


def test_a_retry_with_another_payload_is_refused_even_after_the_lease(settings):
    abandoned(payload={"amount": 1})
    handler = Handler()

    lease = timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)
    with time_machine.travel(lease), pytest.raises(ValidationFailed) as caught:
        run(handler, payload={"amount": 2})

    assert caught.value.code == "idempotency_key_reused"
    assert handler.calls == 0


def test_a_run_whose_lease_was_taken_over_gives_the_answer_saved_first(settings):
    def slow():
        # This run outlives its lease; a retry takes the key over and finishes first.
        with time_machine.travel(timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)):
            assert run(Handler()) == (201, {"n": 1, "note": "Đã tạo"})
        return 201, {"n": 99}

    assert run(slow) == (201, {"n": 1, "note": "Đã tạo"})
    record = IdempotencyKey.objects.get(key="key-1")
    assert record.response_body == {"n": 1, "note": "Đã tạo"}


def test_a_run_that_fails_after_losing_its_lease_leaves_the_new_holder_alone(settings):
    def slow_then_fails():
        with time_machine.travel(timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)):
            run(Handler())
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError):
        run(slow_then_fails)

    record = IdempotencyKey.objects.get(key="key-1")
    assert record.state == IdempotencyKey.State.DONE


# --- keys are forgotten after the TTL ----------------------------------------------------------


def test_a_key_older_than_the_ttl_is_unknown_and_runs_again(settings):
    handler = Handler()
    run(handler)

    with time_machine.travel(timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS + 1)):
        assert run(handler) == (201, {"n": 2, "note": "Đã tạo"})
        # The new row is the one replayed from now on.
        assert run(handler) == (201, {"n": 2, "note": "Đã tạo"})

    assert handler.calls == 2
    assert IdempotencyKey.objects.count() == 1


def test_a_key_older_than_the_ttl_may_be_used_for_another_payload(settings):
    handler = Handler()
    run(handler, payload={"amount": 1})

    with time_machine.travel(timedelta(hours=25)):
        run(handler, payload={"amount": 2})

    assert handler.calls == 2


def test_a_key_just_within_the_ttl_is_still_replayed(settings):
    handler = Handler()
    run(handler)

    with time_machine.travel(timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS, seconds=-1)):
        run(handler)

    assert handler.calls == 1


def test_the_sweep_deletes_keys_older_than_the_ttl_and_keeps_fresh_ones(settings):
    with time_machine.travel(timedelta(hours=-25)):
        run(Handler(), key="old-done")
        abandoned()  # old and still in progress: its worker died long ago
    run(Handler(), key="fresh")

    assert idempotency_keys_expire() == 2

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert idempotency_keys_expire() == 0


def test_the_sweep_works_in_batches(monkeypatch):
    monkeypatch.setattr("core.idempotency.EXPIRE_BATCH_SIZE", 2)
    with time_machine.travel(timedelta(hours=-25)):
        for n in range(5):
            run(Handler(), key=f"old-{n}")

    assert idempotency_keys_expire() == 5
    assert not IdempotencyKey.objects.exists()


def test_the_hourly_task_sweeps_old_keys():
    run(Handler(), key="old")

    with time_machine.travel(timedelta(hours=25)):
        assert tasks.expire_idempotency_keys.apply().get(disable_sync_subtasks=False) == 1

    assert not IdempotencyKey.objects.exists()


def test_the_sweep_is_on_the_beat_schedule_hourly():
    from config.celery import app

    entries = [
        e
        for e in app.conf.beat_schedule.values()
        if e["task"] == tasks.expire_idempotency_keys.name
    ]

    assert [e["schedule"] for e in entries] == [3600.0]


# --- effect_key ------------------------------------------------------------------------------


def test_effect_key_is_stable_short_and_differs_by_scope_and_key():
    one = effect_key("payments.intent", "key-1")

    assert one == effect_key("payments.intent", "key-1")
    assert len(one) <= 64
    assert len(effect_key("s" * 80, "k" * MAX_KEY_LENGTH)) <= 64
    assert one != effect_key("einvoice.issue", "key-1")
    assert one != effect_key("payments.intent", "key-2")
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert effect_key("ab", "c") != effect_key("a", "bc")


@pytest.mark.parametrize("key", [None, ""])
def test_effect_key_is_empty_without_a_key(key):
    assert effect_key("payments.intent", key) == ""
