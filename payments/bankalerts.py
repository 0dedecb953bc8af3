"""Traders' own bank-alert accounts (SePay, or the sandbox bank-notification service).

Services (writes) for a BankAlertConnection: connect, disconnect, ask for a test notification,
receive a webhook through it, and reconcile through its provider's transaction list. A received
transfer joins the one settlement path (notifications.notification_receive: stored first, processed
exactly once), so a sale is paid once whichever provider told us.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import live, sealing
from core.audit import audit_record
from core.checks import sandbox_url_problem
from core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from core.locking import lock_row
from merchants.models import BankAccount, Merchant, User

from .models import BankAlertConnection
from .notifications import notification_receive
from .providers import banknotify, sepay

log = logging.getLogger(__name__)

Provider = BankAlertConnection.Provider

# A test notification counts for this long after "Gửi thử" was pressed.
TEST_WINDOW = timedelta(minutes=30)
TEST_PREFIX = "CSTEST"


# --- secrets at rest --------------------------------------------------------------------------


def _fernet() -> Fernet:
    secret = (
        settings.BANK_ALERT_KEY_SECRET
        or getattr(settings, "EINVOICE_KEY_SECRET", "")
        or settings.SECRET_KEY
    )
    return sealing.fernet(secret, salt=b"choso-bank-alerts", info=b"webhook-secret")


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode("ascii") if text else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise RuntimeError("bank-alert secret cannot be decrypted: key secret changed?") from exc


# --- connecting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    connection: BankAlertConnection
    secret: str  # shown to the trader once, never again


def bank_alert_connect(
    *, merchant: Merchant, provider: str, auth: str, api_token: str = "", actor: User
) -> Connected:
    """Draw a webhook key (or HMAC secret) for a new connection and store it encrypted."""
    if provider not in Provider.values:
        raise ValidationFailed(fields={"provider": [_("Chọn nhà cung cấp báo có.")]})
    if auth not in BankAlertConnection.Auth.values:
        raise ValidationFailed(fields={"auth": [_("Chọn cách xác thực.")]})
    api_token = api_token.strip()
    if len(api_token) > 200:
        raise ValidationFailed(fields={"api_token": [_("Mã API quá dài.")]})
    secret = secrets.token_urlsafe(24)
    with transaction.atomic(durable=True):
        connection = BankAlertConnection.objects.create(
            merchant=merchant,
            provider=provider,
            auth=auth if provider == Provider.SEPAY else BankAlertConnection.Auth.HMAC,
            secret_encrypted=encrypt(secret),
            api_token_encrypted=encrypt(api_token),
            secret_hint=secret[-4:],
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="bank_alert.connect",
            target=connection,
            data={"provider": provider, "auth": connection.auth},
        )
    return Connected(connection=connection, secret=secret)


def bank_alert_disconnect(*, connection_id: int, actor: User) -> BankAlertConnection:
    with transaction.atomic(durable=True):
        connection = lock_row(BankAlertConnection, connection_id)
        if connection.disconnected_at is None:
            connection.disconnected_at = timezone.now()
            connection.save(update_fields=["disconnected_at"])
            audit_record(actor=actor, action="bank_alert.disconnect", target=connection)
    return connection


def bank_alert_test_request(
    *, connection_id: int, webhook_url: str, actor: User
) -> tuple[BankAlertConnection, bool]:
    """ "Gửi thử": draw a test code; with the sandbox, have it deliver a test notification now.
    Returns (connection, whether the provider was asked). With a real provider the trader sends
    the test from its dashboard, or transfers a little with the code as the message."""
    code = TEST_PREFIX + secrets.token_hex(3).upper()
    with transaction.atomic(durable=True):
        connection = lock_row(BankAlertConnection, connection_id)
        connection.test_code = code
        connection.test_requested_at = timezone.now()
        connection.save(update_fields=["test_code", "test_requested_at"])
        audit_record(actor=actor, action="bank_alert.test", target=connection, data={"code": code})
    # Only ever the loopback sandbox: the request carries the connection's secret.
    if (
        not settings.SANDBOX_LINKS
        or connection.provider != Provider.SEPAY
        or not sandbox_url_problem(settings.SEPAY_API_URL)
    ):
        return connection, False
    account = connection.merchant.bank_accounts.filter(is_default=True).first()
    if account is None:
        return connection, False
    client = sepay.SePayClient(settings.SEPAY_API_URL, decrypt(connection.api_token_encrypted))
    try:
        client.send_test(
            webhook_url=webhook_url,
            mode=connection.auth,
            secret=decrypt(connection.secret_encrypted),
            account_number=account.account_number,
            gateway=account.bank_short_name,
            code=code,
        )
    except sepay.SePayUnavailable as exc:
        log.warning("SePay sandbox could not send a test to connection %s: %s", connection_id, exc)
        return connection, False
    return connection, True


# --- receiving --------------------------------------------------------------------------------


def _connection(connection_id: int, provider: str) -> BankAlertConnection:
    connection = (
        BankAlertConnection.objects.filter(
            pk=connection_id, provider=provider, disconnected_at__isnull=True
        )
        .select_related("merchant")
        .first()
    )
    if connection is None:
        raise NotFound(_("Không có kết nối báo có này."), code="unknown_connection")
    return connection


def _account_of(merchant_id: int, *numbers: str) -> BankAccount | None:
    wanted = [n for n in numbers if n]
    return (
        BankAccount.objects.filter(merchant_id=merchant_id, account_number__in=wanted)
        .order_by("-is_default", "id")
        .first()
    )


def _refuse_foreign(connection: BankAlertConnection, account_number: str, provider_id: str) -> None:
    log.warning(
        "bank alert %s through connection %s names account %s, not merchant %s's: refused",
        provider_id,
        connection.pk,
        account_number,
        connection.merchant_id,
    )
    with transaction.atomic(durable=True):
        audit_record(
            actor=None,
            actor_label=f"webhook:{connection.provider}:{connection.pk}",
            action="bank_alert.foreign_account",
            target=connection,
            data={"account_number": account_number, "id": provider_id},
        )
    raise PermissionDenied(
        _("Tài khoản trong thông báo không phải của cửa hàng này."), code="foreign_account"
    )


def _is_pending_test(connection: BankAlertConnection, content: str) -> bool:
    return bool(
        connection.test_code
        and connection.test_requested_at
        and connection.test_requested_at > timezone.now() - TEST_WINDOW
        and connection.test_code in content.upper().replace(" ", "")
    )


def _tested(connection: BankAlertConnection, *, amount: int, at: datetime) -> None:
    now = timezone.now()
    BankAlertConnection.objects.filter(pk=connection.pk).update(
        last_test_at=now, test_code="", last_notification_at=now
    )
    event = {
        "type": "bank_alert_test",
        "connection_id": connection.pk,
        "amount": amount,
        "at": timezone.localtime(at).isoformat(),
    }
    try:
        live.publish(connection.merchant_id, event)
    except Exception:  # the test arrived; a lost live event shows on the next page load
        log.exception("could not publish bank-alert test event")


def bank_alert_receive(*, connection_id: int, provider: str, body: bytes, headers: Any) -> str:
    """One webhook through a connection: authenticate with its secret, check the account is
    the merchant's, then settle through the one path. Returns the outcome ("test" for a test)."""
    connection = _connection(connection_id, provider)
    secret = decrypt(connection.secret_encrypted)
    try:
        if provider == Provider.SEPAY:
            sepay.verify(body, headers, mode=connection.auth, secret=secret)
            alert = sepay.parse_body(body)
            account = _account_of(connection.merchant_id, alert.account_number, alert.sub_account)
            if account is None:
                _refuse_foreign(connection, alert.account_number, alert.sepay_id)
            assert account is not None
            if alert.is_test:
                if not _is_pending_test(connection, alert.content):
                    raise sepay.PayloadError("transferAmount must be positive")
                _tested(connection, amount=0, at=alert.transaction_date)
                return "test"
            tx = alert.transaction(
                connection_id=connection.pk,
                bank_bin=account.bank_bin,
                account_number=account.account_number,
            )
        else:
            banknotify.verify_signature(
                body,
                headers.get(banknotify.SIGNATURE_HEADER),
                secret,
                tolerance=settings.BANKNOTIFY_TOLERANCE_SECONDS,
            )
            tx = banknotify.parse_notification(body)
            if _account_of(connection.merchant_id, tx.account_number) is None:
                _refuse_foreign(connection, tx.account_number, tx.provider_id)
            tx = _per_connection(tx, connection)
    except banknotify.SignatureError as exc:
        log.info("bank alert through connection %s refused: %s", connection_id, exc)
        raise NotAuthenticated(
            _("Chữ ký thông báo ngân hàng không hợp lệ."), code="bad_signature"
        ) from exc
    except banknotify.PayloadError as exc:
        raise ValidationFailed(str(exc), code="bad_payload") from exc
    row = notification_receive(tx=tx)
    if _is_pending_test(connection, tx.description):
        _tested(connection, amount=tx.amount, at=tx.transaction_date)
    else:
        BankAlertConnection.objects.filter(pk=connection.pk).update(
            last_notification_at=timezone.now()
        )
    return str(row.outcome)


def _per_connection(
    tx: banknotify.BankTransaction, connection: BankAlertConnection
) -> banknotify.BankTransaction:
    return replace(tx, provider_id=f"{connection.pk}:{tx.provider_id}"[:64])
