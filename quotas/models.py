"""Quota data: one row per user and kind, holding the limit and the use (-1 = unlimited)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

UNLIMITED = -1


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
    # For pulls: the local day `use` counts; a consume on a later day starts the count again.
    day = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="quota_one_per_user_and_kind"),
            models.CheckConstraint(condition=models.Q(use__gte=0), name="quota_use_not_negative"),
            models.CheckConstraint(condition=models.Q(quota__gte=UNLIMITED), name="quota_limit_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.use}/{self.quota}"

    @property
    def unlimited(self) -> bool:
        return self.quota == UNLIMITED
