"""Thin Celery tasks: they call services. Scheduled by celery beat (see config/celery.py)."""

import logging

from celery import shared_task

from .heartbeat import beat_heartbeat_record
from .idempotency import idempotency_keys_expire

log = logging.getLogger(__name__)


@shared_task(name="core.expire_idempotency_keys")
def expire_idempotency_keys() -> int:
    return idempotency_keys_expire()


@shared_task(name="core.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> int:
    """Beat → worker → cache: /readyz says the schedule has stopped when this goes stale."""
    return beat_heartbeat_record()


# A code must arrive within seconds: the first retry comes soon, the last within ~5 minutes.
SMS_RETRY_DELAYS = (2, 10, 30, 90, 240)


@shared_task(name="core.send_sms", bind=True, ignore_result=True, max_retries=len(SMS_RETRY_DELAYS))
def send_sms_task(self, sealed: str, reference: str = "") -> str:
    """One text through the SMS provider (core/sms.py), sealed in the queue (``sms.seal``). A
    provider outage is retried with growing delays (the reference keeps a retry from sending
    twice); a refusal or the last failure is an ERROR log (Sentry), never silence. Run eagerly
    (the embedded default, tests) there is no retry: the caller's request must not fail because
    the provider did."""
    from .sealing import InvalidToken
    from .sms import SmsError, send_sms, unseal

    try:
        phone, text = unseal(sealed)
    except (InvalidToken, ValueError, KeyError, TypeError):
        log.error("SMS %s not sent: the queued message cannot be opened", reference or "-")
        return "failed"
    try:
        receipt = send_sms(phone, text, reference=reference)
    except SmsError as exc:
        retries = self.request.retries
        if exc.transient and not self.request.is_eager and retries < len(SMS_RETRY_DELAYS):
            raise self.retry(countdown=SMS_RETRY_DELAYS[retries]) from None
        log.error(
            "SMS %s not sent (%s %s): %s", reference or "-", exc.code, exc.http_status, exc.message
        )
        return "failed"
    return "duplicate" if receipt.duplicate else "sent"
