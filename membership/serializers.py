"""Shapes of the /vip API: input validation and output rendering (money as strings with 2 places)."""

from decimal import Decimal

from rest_framework import serializers

from accountsite.numbers import MoneyField, WholeNumberField
from accountsite.serializers import ModelSerializer, instant
from accountsite.text import ONE_LINE
from membership import pricing, selectors
from membership.models import LedgerEntry, Tier
from quotas.units import size_human


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def tier_terms(tier: Tier) -> dict:
    """A plan's limits and price under the seed's names, with the deposit also in exact bytes."""
    return {
        "userType": tier.user_type,
        "repoPub": tier.repo_public,
        "repoPri": tier.repo_private,
        "pullNum": tier.pulls_per_day,
        "payWay": tier.pay_way,
        "deposit": size_human(tier.deposit_bytes),
        "depositBytes": tier.deposit_bytes,
        "fee": money(tier.fee),
    }


class VipSerializer(serializers.Serializer):
    """GET /vip/{name}: the tier in force (instance: {"tier", "expires_at"}, plus "balance" for self/admin)."""

    def to_representation(self, instance: dict) -> dict:
        tier: Tier = instance["tier"]
        reply = {
            **tier_terms(tier),
            "invalidTime": instant(instance["expires_at"]),
        }
        if instance.get("balance") is not None:
            reply["balance"] = money(instance["balance"])
        return reply


class TierSerializer(serializers.Serializer):
    """GET /vip/tiers: one plan, as a client shows it (the seed's names, and the name and exact bytes)."""

    def to_representation(self, tier: Tier) -> dict:
        return {"name": tier.name, **tier_terms(tier)}


class CostQuerySerializer(serializers.Serializer):
    type = WholeNumberField(min_value=1, max_value=32767)
    validity = WholeNumberField(min_value=1, max_value=pricing.VALIDITY_MAX, default=1)

    def validate_type(self, value: int) -> int:
        """Checked here so that the error names the query's own parameter (the price service says userType)."""
        try:
            selectors.tier_by_user_type(value)
        except Tier.DoesNotExist:
            raise serializers.ValidationError("Unknown tier.") from None
        return value


class PurchaseInputSerializer(serializers.Serializer):
    userType = WholeNumberField(min_value=1, max_value=32767)
    cost = MoneyField(min_value=Decimal("0"))
    validity = WholeNumberField(min_value=1, max_value=pricing.VALIDITY_MAX, default=1)


class TopupInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=Decimal("0.01"))
    note = serializers.CharField(max_length=200, allow_blank=True, default="", validators=[ONE_LINE])


class LedgerEntrySerializer(ModelSerializer):
    """A ledger row, in the contract's snake_case (`balance_after`); only the seed-004 VIP fields are camelCase."""

    amount = serializers.SerializerMethodField()
    balance_after = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "balance_after", "note", "from_user_type", "to_user_type", "validity",
                  "actor", "created_at"]

    def get_amount(self, entry: LedgerEntry) -> str:
        return money(entry.amount)

    def get_balance_after(self, entry: LedgerEntry) -> str:
        return money(entry.balance_after)

    def get_actor(self, entry: LedgerEntry) -> str | None:
        return entry.actor.username if entry.actor else None
