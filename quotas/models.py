"""Quota data: one row per user and kind, holding the limit and the use (-1 = unlimited)."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone

from quotas.units import UNLIMITED, size_label


class QuotaKind(models.TextChoices):
    REPO_PUBLIC = "repo_public", "public repositories"
    REPO_PRIVATE = "repo_private", "private repositories"
    DEPOSIT = "deposit", "storage (bytes)"
    PULLS = "pullnum", "pulls per day"


class Quota(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotas")
    kind = models.CharField(max_length=16, choices=QuotaKind.choices)
    quota = models.BigIntegerField(default=0)
    use = models.BigIntegerField(default=0)
    # A limit that came with a paid period: `quota` holds until `quota_until`, then `fallback_quota` does
    # (the base tier's), at that very instant, for reads and enforcement alike, not when a job runs.
    quota_until = models.DateTimeField(null=True, blank=True)
    fallback_quota = models.BigIntegerField(null=True, blank=True)
    # For pulls: the local day `use` counts; a consume on a later day starts the count again.
    day = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="quota_one_per_user_and_kind"),
            # A kind no code knows would be a row no limit reaches and no rule spends.
            models.CheckConstraint(condition=models.Q(kind__in=QuotaKind.values), name="quota_kind_valid"),
            models.CheckConstraint(condition=models.Q(use__gte=0), name="quota_use_not_negative"),
            models.CheckConstraint(condition=models.Q(quota__gte=UNLIMITED), name="quota_limit_valid"),
            models.CheckConstraint(condition=models.Q(quota_until__isnull=True)
                                   | models.Q(fallback_quota__gte=UNLIMITED), name="quota_fallback_valid"),
        ]

    def __str__(self) -> str:
        """ "alice · storage 0 B / 200 MiB", "bob · public repositories 2 / unlimited"."""
        kind = "storage" if self.kind == QuotaKind.DEPOSIT else self.get_kind_display()
        return f"{self.user} · {kind} {self.amount_label(self.use)} / {self.amount_label(self.quota)}"

    def amount_label(self, amount: int) -> str:
        """A limit or use of this kind for people: sizes in binary units, counts as numbers."""
        if self.kind == QuotaKind.DEPOSIT:
            return size_label(amount)
        return "unlimited" if amount == UNLIMITED else str(amount)

    def limit_at(self, now: datetime) -> int:
        """The limit in force at `now`."""
        if self.quota_until is not None and self.quota_until <= now and self.fallback_quota is not None:
            return self.fallback_quota
        return self.quota

    @property
    def limit(self) -> int:
        return self.limit_at(timezone.now())


def limit_in_force(now: datetime) -> Case:
    """Quota.limit_at(now) as an SQL expression, for the conditional UPDATE that spends quota."""
    return Case(When(Q(quota_until__isnull=False, quota_until__lte=now), then=F("fallback_quota")),
                default=F("quota"))
