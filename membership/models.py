"""Membership data: the tier table (data, editable by operators) and each user's current membership."""

from django.conf import settings
from django.db import models
from django.utils import timezone

UNLIMITED = -1


class PayWay(models.IntegerChoices):
    FREE = 0, "free"
    PREPAID = 1, "prepaid"
    POSTPAID = 2, "postpaid"


class Tier(models.Model):
    """One row of the original service's tier table (CONTRACT section 5). -1 means unlimited."""

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
        return f"{self.user_type} {self.name}"


class Membership(models.Model):
    """The tier a user holds and until when. An expired paid tier reads as tier 1 (selectors)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="membership")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="memberships")
    expires_at = models.DateTimeField("invalid at", null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} {self.tier.name}"
