"""Membership data: the tier table (data, editable by operators) and each user's current membership."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from accountsite.text import ONE_LINE
from quotas.models import QuotaKind
from quotas.units import UNLIMITED


def _day(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d}"


class TierType(models.IntegerChoices):
    """The original service's tiers (`userType`). The tier table is data; these are the numbers the
    rules name: tier 1 is the base every lapsed membership returns to, tier 2 belongs to administrators."""

    REGISTERED = 1, "registered"
    ADMIN = 2, "admin"
    CERTIFIED = 3, "certified"
    GOLD = 4, "gold"
    DIAMOND = 5, "diamond"


class PayWay(models.IntegerChoices):
    FREE = 0, "free"
    PREPAID = 1, "prepaid"
    POSTPAID = 2, "postpaid"


class Tier(models.Model):
    """One row of the original service's tier table (docs/tiers.md). -1 means unlimited."""

    user_type = models.PositiveSmallIntegerField("userType", unique=True)
    name = models.CharField(max_length=32, unique=True)
    repo_public = models.IntegerField("public repositories", default=0)
    repo_private = models.IntegerField("private repositories", default=0)
    deposit_bytes = models.BigIntegerField("storage (bytes)", default=0)
    pulls_per_day = models.IntegerField(default=0)
    pay_way = models.PositiveSmallIntegerField(choices=PayWay.choices, default=PayWay.PREPAID)
    fee = models.DecimalField("fee per year", max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["user_type"]
        constraints = [
            models.CheckConstraint(condition=models.Q(repo_public__gte=UNLIMITED), name="tier_repo_public_valid"),
            models.CheckConstraint(condition=models.Q(repo_private__gte=UNLIMITED), name="tier_repo_private_valid"),
            models.CheckConstraint(condition=models.Q(deposit_bytes__gte=UNLIMITED), name="tier_deposit_valid"),
            models.CheckConstraint(condition=models.Q(pulls_per_day__gte=UNLIMITED), name="tier_pulls_valid"),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="tier_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (userType {self.user_type})"

    def quota_limits(self) -> dict[str, int]:
        """The tier's limits by quota kind, as membership pushes them to quotas."""
        return {
            QuotaKind.REPO_PUBLIC: self.repo_public,
            QuotaKind.REPO_PRIVATE: self.repo_private,
            QuotaKind.DEPOSIT: self.deposit_bytes,
            QuotaKind.PULLS: self.pulls_per_day,
        }


class Membership(models.Model):
    """The tier a user holds and until when. An expired paid tier reads as tier 1 (selectors)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="membership")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="memberships")
    expires_at = models.DateTimeField("invalid at", null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(default=timezone.now)
    # The current paid period (membership.pricing): when it started and how many years were bought;
    # 0 years means nothing was paid (base tier, operator grant), so an upgrade credits nothing.
    period_started_at = models.DateTimeField(null=True, blank=True)
    period_years = models.PositiveSmallIntegerField(default=0)
    # What those years were bought at (the fees of the purchase and of the renewals that extended it): the
    # credit of an upgrade is its unused share, whatever the tier's fee is now.
    period_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        """ "alice · gold until 2027-05-01" (the tier held, even if it has lapsed since)."""
        until = f" until {_day(self.expires_at)}" if self.expires_at else ""
        return f"{self.user} · {self.tier.name}{until}"


class Wallet(models.Model):
    """A user's prepaid balance. Only membership.services moves it, always with a ledger row."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="wallet")
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("topup_wallet", "Can top up other users' wallets")]
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallet_balance_not_negative")]

    def __str__(self) -> str:
        return f"{self.user} · wallet {self.balance}"


class LedgerKind(models.TextChoices):
    TOPUP = "topup", "top-up"
    CHARGE = "charge", "charge"
    REFUND = "refund", "refund"


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes would rewrite history: refused (PostgreSQL also refuses them by trigger)."""

    def update(self, **kwargs):
        raise PermissionError("ledger entries are append-only")

    def delete(self):
        raise PermissionError("ledger entries are append-only")


class LedgerEntry(models.Model):
    """One money movement. Append-only: the wallet's balance is the sum of a user's entries."""

    # PROTECT: money history outlives a purge of the account it belongs to.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=8, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="signed: charges are negative")
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    note = models.CharField(max_length=200, blank=True, default="", validators=[ONE_LINE])
    from_user_type = models.PositiveSmallIntegerField(null=True, blank=True)
    to_user_type = models.PositiveSmallIntegerField(null=True, blank=True)
    validity = models.PositiveSmallIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="ledger_user_recent")]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(
                condition=models.Q(kind=LedgerKind.CHARGE, amount__lt=0)
                | models.Q(kind__in=[LedgerKind.TOPUP, LedgerKind.REFUND], amount__gt=0),
                name="ledger_amount_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        """ "alice · top-up +100.00 → 100.00 on 2026-11-29"."""
        return (f"{self.user} · {self.get_kind_display()} {self.amount:+} → {self.balance_after}"
                f" on {_day(self.created_at)}")

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("ledger entries are append-only")


class IdempotencyRecord(models.Model):
    """The first successful reply to a request sent with an `Idempotency-Key`, replayed for its twins.

    Written in the same transaction as the charge; the unique key makes a concurrent twin wait for it. It
    replays for IDEMPOTENCY_KEY_TTL_HOURS after `created_at`, then counts as gone (membership.idempotency).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(default=200)
    # The reply's JSON text, not a JSONField: jsonb would reorder the keys, and a replay must be the same bytes.
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]  # the prune's range

    def __str__(self) -> str:
        return f"{self.user} · Idempotency-Key {self.key!r}"
