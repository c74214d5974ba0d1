"""The back office: tiers editable, membership actions and top-ups through the services, the ledger read-only."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accountsite.numbers import money_parse
from membership.models import LedgerEntry, Membership, Tier, TierType, Wallet
from membership.services import membership_tier_assign
from quotas.models import Quota, QuotaKind
from quotas.services import quota_limits_set
from tests.conftest import messages_of
from tests.membership.conftest import assert_ledger_balances, balance, tier

pytestmark = pytest.mark.django_db


def act(client, model, action, pks, **fields):
    return client.post(f"/admin/membership/{model}/", {"action": action, "_selected_action": pks, **fields},
                       follow=True)


def test_pages_open_and_the_ledger_is_read_only(operator, user, fund):
    fund(user, "1.00")
    for path in ["tier/", "tier/1/change/", "membership/", "membership/?tier__id__exact=1", "wallet/",
                 "ledgerentry/"]:
        assert operator.get(f"/admin/membership/{path}").status_code == 200, path
    entry = LedgerEntry.objects.get(user=user)
    assert operator.get("/admin/membership/ledgerentry/add/").status_code == 403
    assert operator.get(f"/admin/membership/ledgerentry/{entry.pk}/delete/").status_code == 403
    operator.post(f"/admin/membership/ledgerentry/{entry.pk}/change/", {"note": "edited"})
    assert LedgerEntry.objects.get(pk=entry.pk).note == "test funds"


def test_the_membership_form_edits_no_field_of_the_paid_period(operator, user):
    """What a period was bought at is what an upgrade credits: the change form must not let an operator
    write it (999999.00 made the next upgrade free, with no ledger row and no audit)."""
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None)
    page = operator.get(f"/admin/membership/membership/{user.pk}/change/")
    assert page.status_code == 200 and b'name="period_value"' not in page.content
    operator.post(f"/admin/membership/membership/{user.pk}/change/", {"period_value": "999999.00"})
    assert Membership.objects.get(user=user).period_value == Decimal("0.00")


def test_tier_fee_is_editable(operator):
    form = {"user_type": TierType.GOLD, "name": "gold", "repo_public": 20, "repo_private": 2,
            "deposit_bytes": 200 * 1024**2, "pulls_per_day": 2000, "pay_way": 1, "fee": "12000.00"}
    response = operator.post("/admin/membership/tier/4/change/", form)
    assert response.status_code == 302
    assert Tier.objects.get(user_type=TierType.GOLD).fee == Decimal("12000.00")


def test_a_tiers_new_limits_reach_its_members_but_not_an_operators_own(operator, user, other):
    """Limits follow the tier: gold's members get its new limit (they kept the old one until renewal), a
    member an operator gave their own limit keeps it, and tier 1's limits are the paid members' fallback."""
    for member in (user, other):
        membership_tier_assign(user=member, user_type=TierType.GOLD, actor=None,
                               expires_at=timezone.now() + timedelta(days=30))
    quota_limits_set(user=other, limits={QuotaKind.REPO_PUBLIC: 7}, actor=None)
    form = {"user_type": TierType.GOLD, "name": "gold", "repo_public": 30, "repo_private": 2,
            "deposit_bytes": 200 * 1024**2, "pulls_per_day": 2000, "pay_way": 1, "fee": "10000.00"}
    response = operator.post("/admin/membership/tier/4/change/", form, follow=True)
    assert any("1 quota limit(s)" in m for m in messages_of(response)), messages_of(response)
    assert Quota.objects.get(user=user, kind=QuotaKind.REPO_PUBLIC).quota == 30
    assert Quota.objects.get(user=other, kind=QuotaKind.REPO_PUBLIC).quota == 7
    registered = {"user_type": TierType.REGISTERED, "name": "registered", "repo_public": 1, "repo_private": 0,
                  "deposit_bytes": 0, "pulls_per_day": 500, "pay_way": 1, "fee": "0.00"}
    operator.post("/admin/membership/tier/1/change/", registered)
    assert Quota.objects.get(user=user, kind=QuotaKind.REPO_PUBLIC).fallback_quota == 1
    assert Quota.objects.get(user=user, kind=QuotaKind.REPO_PUBLIC).limit_at(
        timezone.now() + timedelta(days=60)) == 1


def test_wallet_topup_action_credits_through_the_service(operator, user):
    response = act(operator, "wallet", "topup", [user.pk], amount="250.50", note="bank transfer")
    assert any("balance 250.50" in m for m in messages_of(response))
    assert balance(user) == Decimal("250.50")
    assert_ledger_balances(user)
    for amount in ("-3", "-0.00"):
        response = act(operator, "wallet", "topup", [user.pk], amount=amount)
        assert any("positive amount" in m for m in messages_of(response)), messages_of(response)
    response = act(operator, "wallet", "topup", [user.pk], amount="1.001")
    assert any("at most two decimal places" in m for m in messages_of(response)), messages_of(response)
    assert Wallet.objects.get(user=user).balance == Decimal("250.50")


def test_a_topup_form_sent_twice_credits_once(operator, user, other):
    """The list's top-up form credits each wallet once: a double click or a second tab on the same page sent
    the action twice, crediting money received once twice (the API has Idempotency-Key for this). A new page
    is a new top-up."""
    page = operator.get("/admin/membership/wallet/").content.decode()
    key = re.search(r'<input type="hidden" name="key" value="([^"]+)"', page).group(1)
    form = {"amount": "100.00", "note": "bank transfer 42", "key": key}
    act(operator, "wallet", "topup", [user.pk, other.pk], **form)
    again = act(operator, "wallet", "topup", [user.pk, other.pk], **form)
    assert (balance(user), balance(other)) == (Decimal("100.00"), Decimal("100.00"))
    assert any("already" in m for m in messages_of(again)), messages_of(again)
    changed = act(operator, "wallet", "topup", [user.pk], **{**form, "amount": "5.00"})
    assert any("different request" in m for m in messages_of(changed)), messages_of(changed)
    fresh = operator.get("/admin/membership/wallet/").content.decode()
    assert re.search(r'name="key" value="([^"]+)"', fresh).group(1) != key
    act(operator, "wallet", "topup", [user.pk], amount="100.00")  # no key (an old page): credited as before
    assert balance(user) == Decimal("200.00")
    assert_ledger_balances(user)
    assert_ledger_balances(other)


@pytest.mark.parametrize("amount", ["1e999999999", "1E2", "1_000", "\u0661\u0662", "NaN", "Infinity", "9" * 13, " "])
def test_wallet_topup_action_takes_the_apis_amounts_only(operator, user, amount):
    """The API's money parser and its words (ASCII digits, two decimals at most, below 10**12): an exponent
    was a 500 here."""
    with pytest.raises(ValueError) as refused:
        money_parse(amount.strip())
    response = act(operator, "wallet", "topup", [user.pk], amount=amount)
    assert response.status_code == 200
    assert str(refused.value) in messages_of(response), messages_of(response)
    assert Wallet.objects.get(user=user).balance == 0


def test_change_tier_action_charges_and_reports_refusals(operator, user, fund):
    response = act(operator, "membership", "change_tier", [user.pk], user_type=TierType.GOLD, validity=1)
    assert any("too low" in m for m in messages_of(response))
    assert Membership.objects.get(user=user).tier.user_type == TierType.REGISTERED
    response = act(operator, "membership", "change_tier", [user.pk], user_type=TierType.GOLD, validity=11)
    assert any("validity: 1 to 10 years" in m for m in messages_of(response)), messages_of(response)
    fund(user, "10000.00")
    response = act(operator, "membership", "change_tier", [user.pk], user_type=TierType.GOLD, validity=1)
    assert any("charged 10000.00" in m for m in messages_of(response))
    assert tier(user) == TierType.GOLD and balance(user) == Decimal("0.00")
    response = act(operator, "membership", "change_tier", [user.pk], user_type=TierType.REGISTERED, validity=1)
    assert any("only after the current paid tier has expired" in m for m in messages_of(response))


def test_renew_action_extends_the_tier_in_force(operator, user, fund):
    fund(user, "30000.00")
    act(operator, "membership", "change_tier", [user.pk], user_type=TierType.GOLD, validity=1)
    expiry = Membership.objects.get(user=user).expires_at
    response = act(operator, "membership", "renew", [user.pk], validity=2)
    assert any("renew" in m for m in messages_of(response))
    assert Membership.objects.get(user=user).expires_at.year == expiry.year + 2
    assert balance(user) == Decimal("0.00")


@pytest.mark.parametrize("action", ["change_tier", "renew"])
def test_zero_years_in_the_list_actions_is_refused_not_sold_as_one(operator, user, fund, action):
    """"0" years in the action bar was read as an empty field (`or 1`): the member was charged for a year the
    operator never asked for, where the API refuses validity 0 (1007) and the bar refuses 11."""
    fund(user, "20000.00")
    act(operator, "membership", "change_tier", [user.pk], user_type=TierType.GOLD, validity=1)
    before = (balance(user), Membership.objects.get(user=user).expires_at, LedgerEntry.objects.count())
    response = act(operator, "membership", action, [user.pk], user_type=TierType.DIAMOND, validity="0")
    assert any("validity: 1 to 10 years" in m for m in messages_of(response)), messages_of(response)
    assert (balance(user), Membership.objects.get(user=user).expires_at, LedgerEntry.objects.count()) == before
    assert tier(user) == TierType.GOLD


def test_a_renewal_form_sent_twice_charges_once(operator, user, other, fund):
    """As the top-up: the memberships list's form sent twice (a double click) renewed and charged twice."""
    for member in (user, other):
        fund(member, "30000.00")
        act(operator, "membership", "change_tier", [member.pk], user_type=TierType.GOLD, validity=1)
    page = operator.get("/admin/membership/membership/").content.decode()
    key = re.search(r'<input type="hidden" name="key" value="([^"]+)"', page).group(1)
    act(operator, "membership", "renew", [user.pk, other.pk], validity=1, key=key)
    again = act(operator, "membership", "renew", [user.pk, other.pk], validity=1, key=key)
    assert any("already" in m for m in messages_of(again)), messages_of(again)
    for member in (user, other):
        assert (balance(member), Membership.objects.get(user=member).period_years) == (Decimal("10000.00"), 2)
        assert_ledger_balances(member)


@pytest.mark.parametrize("model", ["wallet", "membership"])
def test_a_wallet_or_membership_page_saves_nothing_over_the_services_writes(operator, user, fund, monkeypatch,
                                                                             model):
    """Wallets and memberships move through the services alone. Their change pages saved the whole row as
    it was read at the start of the request (every field read-only, but `obj.save()` writes them all): a
    top-up or purchase committed meanwhile was overwritten, the money kept in the ledger and lost from the
    balance, or paid for and the tier set back."""
    from membership.admin.memberships import MembershipAdmin
    from membership.admin.wallets import WalletAdmin

    fund(user, "30000.00")
    model_admin = {"wallet": WalletAdmin, "membership": MembershipAdmin}[model]
    original = model_admin.get_object

    def read_then_race(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST" and obj is not None:  # committed between the page's read and its save
            fund(user, "5.00")
            back_office_purchase(user)
        return obj

    def back_office_purchase(member):
        from membership.services import membership_cost, membership_purchase
        cost = membership_cost(user=member, user_type=TierType.GOLD, validity=1)
        membership_purchase(user=member, user_type=TierType.GOLD, validity=1, cost=cost, actor=None)

    monkeypatch.setattr(model_admin, "get_object", read_then_race)
    response = operator.post(f"/admin/membership/{model}/{user.pk}/change/", {"_save": "Save"})
    assert response.status_code == 403  # read-only: the services' actions and pages change it
    # (Here the "concurrent" writes share the refused request's transaction, so they roll back with it.)
    assert_ledger_balances(user)
    paid = LedgerEntry.objects.filter(user=user, kind="charge").exists()
    assert tier(user) == (TierType.GOLD if paid else TierType.REGISTERED)
    assert operator.get(f"/admin/membership/{model}/{user.pk}/change/").status_code == 200  # still readable
