"""MONEY ENGINE data: payment intents, bank notifications (stored first), the ledger.

Vietnamese terms: *chuyển khoản* is a bank transfer; *nội dung chuyển khoản* the transfer message
that carries our reference code; *khách vãng lai* a walk-in payer (a transfer to the stall's
static QR with no sale attached).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import BankAccount, Merchant

# NAPAS 247 instant transfers: banks allow at most 500 million đồng per transfer.
MIN_INTENT_AMOUNT = 1_000
MAX_INTENT_AMOUNT = 500_000_000


class PaymentIntent(models.Model):
    """One request to be paid a given amount, shown as a dynamic VietQR with a reference code."""

    class Status(models.TextChoices):
        REQUIRES_PAYMENT = "requires_payment", _("Chờ thanh toán")
        SUCCEEDED = "succeeded", _("Đã thanh toán")
        EXPIRED = "expired", _("Hết hạn")
        CANCELED = "canceled", _("Đã hủy")
        PARTIALLY_REFUNDED = "partially_refunded", _("Hoàn một phần")
        REFUNDED = "refunded", _("Đã hoàn tiền")

    class Method(models.TextChoices):
        BANK_QR = "bank_qr", _("Chuyển khoản VietQR")
        EWALLET = "ewallet", _("Ví điện tử")
        # Notes the cashier took: recorded as paid at once, never in the bank ledger.
        CASH = "cash", _("Tiền mặt")

    class PaidVia(models.TextChoices):
        """How the money really came, whatever was asked: a shopper may pay an e-wallet
        intent's code by bank transfer. Refunds go back the same way."""

        BANK = "bank", _("Chuyển khoản ngân hàng")
        EWALLET = "ewallet", _("Ví điện tử")
        CASH = "cash", _("Tiền mặt")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="intents")
    amount = models.BigIntegerField(_("số tiền"))
    # Short code in the transfer message, e.g. "CS7K4PX"; the bank sends it back. Unique per
    # merchant (a transfer is matched among the receiving merchant's intents only), so the
    # 6.4 million codes of the alphabet are each merchant's, not the whole city's.
    reference_code = models.CharField(max_length=12)
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.BANK_QR)
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.REQUIRES_PAYMENT, db_index=True
    )
    # The receiving account, copied at creation: the QR shown must stay what was paid to.
    bank_account = models.ForeignKey(BankAccount, null=True, on_delete=models.SET_NULL)
    bank_bin = models.CharField(max_length=6, blank=True)
    account_number = models.CharField(max_length=19, blank=True)
    account_holder = models.CharField(max_length=50, blank=True)
    # What the QR shows: a VietQR payload, or the e-wallet provider's pay URL.
    qr_payload = models.TextField()
    # E-wallet: the provider's payment (unique: one provider payment pays one intent).
    provider_payment_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    failure_reason = models.CharField(max_length=64, blank=True)
    # Opaque reference of the caller (an order number, later).
    reference = models.CharField(max_length=64, blank=True, db_index=True)
    description = models.CharField(max_length=140, blank=True)
    amount_received = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    paid_via = models.CharField(max_length=8, choices=PaidVia.choices, blank=True)
    # The caller's reference names one sale, paid once (market's orders): money for another
    # intent of it is a second payment. Off for an integrator's free-form reference.
    one_per_reference = models.BooleanField(default=False)
    # The request that asked for it (core.idempotency.effect_key): a request retried after a
    # crash resumes this intent instead of showing a second QR.
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    bank_reference = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_via = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__lte=MAX_INTENT_AMOUNT)
                & (Q(amount__gte=MIN_INTENT_AMOUNT) | Q(method="cash", amount__gte=1)),
                name="intent_amount_within_limits",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0)
                & Q(amount_refunded__lte=models.F("amount_received")),
                name="intent_refund_not_above_received",
            ),
            models.UniqueConstraint(
                fields=["merchant", "reference_code"], name="intent_code_unique_per_merchant"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "created_at"])]

    def __str__(self) -> str:
        return f"{self.reference_code} {self.amount} đ ({self.status})"

    @property
    def overpaid_amount(self) -> int:
        return max(0, self.amount_received - self.amount) if self.amount_received else 0

    @property
    def is_paid(self) -> bool:
        """Money came in (some may have been given back since)."""
        return self.status in (
            self.Status.SUCCEEDED,
            self.Status.PARTIALLY_REFUNDED,
            self.Status.REFUNDED,
        )

    @property
    def refundable_amount(self) -> int:
        return self.amount_received - self.amount_refunded


class BankNotification(models.Model):
    """A bank-notification webhook as received: stored before anything else happens."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Chưa xử lý")
        SETTLED = "settled", _("Đã khớp đơn")
        LATE = "late", _("Khớp đơn đã hết hạn")
        WALK_IN = "walk_in", _("Khách chuyển khoản không kèm đơn")
        UNDERPAID = "underpaid", _("Chuyển thiếu")
        ALREADY_PAID = "already_paid", _("Đơn đã được trả trước đó")
        AFTER_CANCEL = "after_cancel", _("Trả vào đơn đã hủy")
        UNKNOWN_ACCOUNT = "unknown_account", _("Tài khoản không thuộc Chợ Số")
        OUTGOING = "outgoing", _("Tiền ra")
        SAME_TRANSFER = "same_transfer", _("Giao dịch đã nhận qua nguồn báo có khác")

    provider_id = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=24, default="banknotify")
    payload = models.JSONField()
    bank_bin = models.CharField(max_length=6)
    account_number = models.CharField(max_length=19)
    transfer_type = models.CharField(max_length=8)
    amount = models.BigIntegerField()
    description = models.CharField(max_length=255, blank=True)
    bank_reference = models.CharField(max_length=64, blank=True)
    counter_name = models.CharField(max_length=120, blank=True)
    transaction_date = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    received_via = models.CharField(max_length=16, default="webhook")  # or "reconcile"
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_notifications"
    )
    intent = models.ForeignKey(
        PaymentIntent, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # The bank's own identity of the transfer (``notifications.transfer_key``), the same whichever
    # provider passes it on: held by the first notification of a transfer only, so one transfer
    # watched by two providers is booked once (a second row of it is ``same_transfer``).
    transfer_key = models.CharField(max_length=128, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.amount} đ → {self.account_number} ({self.outcome})"


class WalletEvent(models.Model):
    """An e-wallet provider webhook event as received: stored before it is processed."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    provider_object_id = models.CharField(max_length=64, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    received_via = models.CharField(max_length=16, default="webhook")  # or "reconcile"
    intent = models.ForeignKey(
        PaymentIntent, null=True, blank=True, on_delete=models.PROTECT, related_name="wallet_events"
    )
    outcome = models.CharField(max_length=24, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome or 'pending'})"


class Refund(models.Model):
    """Money given back for an intent. For an e-wallet it counts once the provider confirms it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Đang chờ ví xác nhận")
        SUCCEEDED = "succeeded", _("Đã hoàn")
        FAILED = "failed", _("Không hoàn được")

    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider_refund_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The request that asked for it (core.idempotency.effect_key): a retried request resumes
    # this refund instead of starting a second one.
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The caller's own notes, opaque to payments (Stripe's metadata): e.g. {"line": 12}.
    metadata = models.JSONField(default=dict, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.intent_id} −{self.amount} ({self.status})"


class LedgerEntry(models.Model):
    """Append-only money record per merchant; a balance is the sum of its entries."""

    class Kind(models.TextChoices):
        SETTLEMENT = "settlement", _("Thanh toán khớp đơn")
        WALK_IN = "walk_in", _("Khách chuyển khoản")
        UNMATCHED = "unmatched", _("Tiền vào chưa khớp đơn")
        REFUND = "refund", _("Hoàn tiền")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField()  # positive in, negative out
    intent = models.ForeignKey(
        PaymentIntent, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    notification = models.ForeignKey(
        BankNotification, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    wallet_event = models.ForeignKey(
        WalletEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger"
    )
    # Attention for the trader: an overpayment, a tiny walk-in (possible "bait"), an underpayment.
    flag = models.CharField(max_length=24, blank=True)
    memo = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One money entry per notification, whatever happens to its deliveries.
            models.UniqueConstraint(
                fields=["notification"],
                condition=Q(notification__isnull=False),
                name="one_ledger_entry_per_notification",
            ),
            models.UniqueConstraint(
                fields=["wallet_event"],
                condition=Q(wallet_event__isnull=False),
                name="one_ledger_entry_per_wallet_event",
            ),
            models.UniqueConstraint(
                fields=["refund"],
                condition=Q(refund__isnull=False),
                name="one_ledger_entry_per_refund",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.kind} {self.amount}"


class BankAlertConnection(models.Model):
    """A trader's own bank-alert account (e.g. at SePay) that notifies us of their transfers.

    The provider POSTs to a webhook URL carrying this row's id, authenticated with this row's
    key or secret (stored encrypted, shown to the trader once): one trader's secret never opens
    another's door. Only accounts of this merchant are accepted through it.
    """

    class Provider(models.TextChoices):
        SEPAY = "sepay", "SePay"
        BANKNOTIFY = "banknotify", _("Dịch vụ báo có thử nghiệm")

    class Auth(models.TextChoices):
        APIKEY = "apikey", _("Khóa API (Authorization: Apikey)")
        HMAC = "hmac", _("Chữ ký HMAC-SHA256")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="bank_alert_connections"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    auth = models.CharField(max_length=8, choices=Auth.choices, default=Auth.APIKEY)
    # Fernet tokens (payments/bankalerts.py): the webhook key or HMAC secret we drew, and the
    # trader's API token at the provider for its transaction list (optional).
    secret_encrypted = models.TextField()
    api_token_encrypted = models.TextField(blank=True)
    secret_hint = models.CharField(max_length=8, blank=True)  # its last 4 characters
    # "Gửi thử": the code a test notification must carry, and when it was asked for.
    test_code = models.CharField(max_length=16, blank=True)
    test_requested_at = models.DateTimeField(null=True, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_notification_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.provider} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.disconnected_at is None
