"""Helpers for membership tests: fund a wallet, read its balance, and check the ledger adds up to it."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from membership.models import LedgerEntry, Membership, Wallet
from membership.services import wallet_topup


def balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance


def tier(user) -> int:
    """The tier stored on the user's membership (expired or not)."""
    return Membership.objects.select_related("tier").get(user=user).tier.user_type


def assert_ledger_balances(user) -> None:
    """The money invariant: the wallet balance is the sum of the user's ledger entries."""
    total = LedgerEntry.objects.filter(user=user).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    assert balance(user) == total, (balance(user), total)


@pytest.fixture
def fund(admin_user):
    def fund(user, amount: str) -> None:
        wallet_topup(user=user, amount=Decimal(amount), actor=admin_user, note="test funds")
    return fund


@pytest.fixture
def rich_alice(user, fund):
    """alice with 50,000.00 in her wallet: enough for any tier and term the tests buy."""
    fund(user, "50000.00")
    return user
