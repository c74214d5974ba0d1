"""Helpers for membership tests: fund a wallet and snapshot everything money touches."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from membership.models import LedgerEntry, Membership, Wallet
from membership.services import wallet_topup
from quotas.models import Quota


def money_state(user) -> dict:
    """Balance, ledger rows and their sum, tier and expiry, and quota limits: what a refusal must not change."""
    membership = Membership.objects.select_related("tier").get(user=user)
    wallet = Wallet.objects.filter(user=user).first()
    entries = LedgerEntry.objects.filter(user=user)
    return {
        "balance": wallet.balance if wallet else None,
        "ledger": list(entries.values_list("id", "amount", "balance_after")),
        "sum": entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00"),
        "tier": membership.tier.user_type,
        "expires_at": membership.expires_at,
        "quotas": sorted(Quota.objects.filter(user=user).values_list("kind", "quota", "use")),
    }


@pytest.fixture
def fund(admin_user):
    def fund(user, amount: str) -> None:
        wallet_topup(user=user, amount=Decimal(amount), actor=admin_user, note="test funds")
    return fund
