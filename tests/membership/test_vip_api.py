"""The /vip API: permission matrices, bad input that changes nothing, purchases, idempotency, ledger, top-up."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import UserStatus
from accountsite import errors
from membership.models import IdempotencyRecord, LedgerEntry, Membership, TierType
from membership.services import membership_tier_assign
from tests.conftest import client_for, envelope
from tests.membership.conftest import assert_ledger_balances, balance, tier
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

CLIENTS = ["anon_client", "user_client", "other_client", "admin_client"]
GOLD_FOR_A_YEAR = {"userType": TierType.GOLD, "cost": "10000.00"}  # the tier table's fee (docs/tiers.md)
# Anyone may see a membership; its cost, purchase and ledger are the member's and operators' (someone else's
# is not found, as if it did not exist).
SELF_OR_ADMIN = [("anon_client", errors.NotAuthenticatedError), ("user_client", None),
                 ("other_client", errors.NotFoundError), ("admin_client", None)]


# --- GET /vip/{name} ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", CLIENTS)
def test_vip_is_public_and_money_is_only_for_self_and_admin(request, who, user):
    body = envelope(request.getfixturevalue(who).get("/vip/alice"), status=200)
    assert body["data"] == {**body["data"], "userType": TierType.REGISTERED, "repoPub": 0, "repoPri": 0,
                            "pullNum": 500, "payWay": 1, "deposit": "0M", "fee": "0.00", "invalidTime": None}
    assert ("balance" in body["data"]) == (who in ("user_client", "admin_client"))


@pytest.mark.parametrize(("who", "error"), [
    ("anon_client", errors.NotFoundError), ("other_client", errors.NotFoundError), ("admin_client", None),
])
def test_deleted_members_are_visible_to_admins_only(request, who, error, user):
    user.status = UserStatus.DELETED
    user.save(update_fields=["status"])
    envelope(request.getfixturevalue(who).get("/vip/alice"), error, status=None if error else 200)


def plain_client(user=None) -> Client:
    # Django's plain test client: the APIClient of the accounts tests scans replies with a query of its own.
    return Client(HTTP_AUTHORIZATION=f"Bearer {client_for(user).tokens.access}") if user else Client()


@pytest.mark.parametrize("path", ["/vip/alice", "/vip/ALICE"])
def test_own_vip_costs_two_queries(user, path, django_assert_num_queries):
    client = plain_client(user)
    expected = envelope(client.get("/vip/alice"))["data"]  # a warm worker: its copy of the tier table is loaded
    # The session and user (the path names them: no second user query); the membership with the wallet's
    # balance (its tier from the tier table).
    with django_assert_num_queries(2):
        data = envelope(client.get(path))["data"]
    assert data == expected and data["balance"] == "0.00"


def test_someone_elses_vip_costs_one_more_query(user, other, django_assert_num_queries):
    client = plain_client(other)
    envelope(client.get("/vip/alice"))
    with django_assert_num_queries(3):  # the session and user; the user the path names; the membership
        data = envelope(client.get("/vip/alice"))["data"]
    assert "balance" not in data
    with django_assert_num_queries(2):  # anonymous: the user the path names; the membership
        envelope(plain_client().get("/vip/alice"))


def test_a_lapsed_tier_reads_as_tier_1_without_a_query(user, django_assert_num_queries):
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None,
                           expires_at=timezone.now() + timedelta(days=1))
    client = plain_client(user)
    assert envelope(client.get("/vip/alice"))["data"]["userType"] == TierType.GOLD
    Membership.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_assert_num_queries(2):
        data = envelope(client.get("/vip/alice"))["data"]
    assert (data["userType"], data["invalidTime"], data["fee"]) == (TierType.REGISTERED, None, "0.00")


def test_vip_shows_the_tier_in_force_with_deposit_as_a_string(user_client, rich_alice):
    cost = envelope(user_client.get("/vip/alice/cost", {"type": TierType.DIAMOND}), status=200)["data"]["cost"]
    assert cost == "20000.00"
    envelope(user_client.put("/vip/alice", {"userType": TierType.DIAMOND, "cost": cost}, format="json"), status=200)
    data = envelope(user_client.get("/vip/alice"))["data"]
    assert (data["userType"], data["deposit"], data["fee"], data["payWay"]) == (TierType.DIAMOND, "2G", "20000.00", 2)
    assert data["invalidTime"] is not None and data["balance"] == "30000.00"


def test_unknown_user_is_404(anon_client, db):
    envelope(anon_client.get("/vip/nobody"), errors.NotFoundError)


# --- permission matrices ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "error"), SELF_OR_ADMIN)
def test_cost_permissions(request, who, error, user):
    body = envelope(request.getfixturevalue(who).get("/vip/alice/cost?type=4&validity=2"), error,
                    status=None if error else 200)
    if error is None:
        assert body["data"] == {"cost": "20000.00"}


@pytest.mark.parametrize(("who", "error"), SELF_OR_ADMIN)
def test_purchase_permissions(request, who, error, rich_alice):
    client = request.getfixturevalue(who)
    balance_before, before = balance(rich_alice), snapshot()
    response = client.put("/vip/alice", GOLD_FOR_A_YEAR, format="json")
    envelope(response, error, status=None if error else 200)
    if error is None:
        assert balance(rich_alice) == balance_before - Decimal("10000.00") and tier(rich_alice) == TierType.GOLD
        assert_ledger_balances(rich_alice)
    else:
        before.assert_unchanged()


@pytest.mark.parametrize(("who", "error"), SELF_OR_ADMIN)
def test_ledger_permissions(request, who, error, rich_alice):
    body = envelope(request.getfixturevalue(who).get("/vip/alice/ledger"), error, status=None if error else 200)
    if error is None:
        assert body["data"]["total"] == 1
        assert body["data"]["results"][0]["kind"] == "topup"
        assert body["data"]["results"][0]["amount"] == "50000.00"


@pytest.mark.parametrize(("who", "error"), [
    ("anon_client", errors.NotAuthenticatedError), ("user_client", errors.PermissionDeniedError),
    ("other_client", errors.PermissionDeniedError), ("admin_client", None),
])
def test_topup_permissions(request, who, error, user):
    client = request.getfixturevalue(who)
    before = snapshot()
    response = client.post("/vip/alice/topup", {"amount": "12.34", "note": "cash"}, format="json")
    body = envelope(response, error, status=None if error else 201)
    if error is None:
        assert body["data"]["amount"] == "12.34" and body["data"]["balance_after"] == "12.34"
        assert balance(user) == Decimal("12.34")
        assert_ledger_balances(user)
    else:
        before.assert_unchanged()


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    {"type": 0}, {"type": 6}, {"type": "x"}, {"type": ""}, {}, {"type": TierType.GOLD, "validity": 0},
    {"type": TierType.GOLD, "validity": -1}, {"type": TierType.GOLD, "validity": "x"},
    {"type": TierType.GOLD, "validity": 100}, {"type": TierType.GOLD, "validity": "1.5"},
])
def test_cost_bad_input(user_client, user, query):
    reply = envelope(user_client.get("/vip/alice/cost", query), errors.InvalidParametersError)
    assert set(reply["error"]) <= set(query) | {"type"}  # the query's own names


def test_an_unknown_tier_in_a_cost_query_is_named_as_the_query_names_it(user_client, user):
    reply = envelope(user_client.get("/vip/alice/cost", {"type": 9}), errors.InvalidParametersError)
    assert reply["error"] == {"type": ["Unknown tier."]}


@pytest.mark.parametrize(("body", "field"), [
    ({"userType": 0, "cost": "0.00"}, "userType"),
    ({"userType": 6, "cost": "0.00"}, "userType"),
    ({"userType": "x", "cost": "0.00"}, "userType"),
    ({"cost": "10000.00"}, "userType"),
    ({"userType": TierType.GOLD, "cost": "10000.00", "validity": 0}, "validity"),
    ({"userType": TierType.GOLD, "cost": "10000.00", "validity": -1}, "validity"),
    ({"userType": TierType.GOLD, "cost": "10000.00", "validity": "x"}, "validity"),
    ({"userType": TierType.GOLD, "cost": "10000.00", "validity": 100}, "validity"),
    ({"userType": TierType.GOLD}, "cost"),
    ({"userType": TierType.GOLD, "cost": "ten"}, "cost"),
    ({"userType": TierType.GOLD, "cost": "10000.001"}, "cost"),
    ({"userType": TierType.GOLD, "cost": "-1"}, "cost"),
])
def test_purchase_bad_input_changes_nothing(user_client, rich_alice, body, field):
    before = snapshot()
    reply = envelope(user_client.put("/vip/alice", body, format="json"), errors.InvalidParametersError)
    assert field in reply["error"]
    before.assert_unchanged()


def test_wrong_cost_is_8010_with_the_current_quote(user_client, rich_alice):
    before = snapshot()
    reply = envelope(user_client.put("/vip/alice", {"userType": TierType.GOLD, "cost": "9999.99"}, format="json"),
                     errors.CostMismatchError)
    assert reply["error"] == {"cost": "10000.00"}
    before.assert_unchanged()


def test_low_balance_is_8007_and_changes_nothing(user_client, user, fund):
    fund(user, "9999.99")
    before = snapshot()
    envelope(user_client.put("/vip/alice", GOLD_FOR_A_YEAR, format="json"), errors.InsufficientBalanceError)
    before.assert_unchanged()


def test_early_downgrade_is_8009_and_changes_nothing(user_client, rich_alice):
    envelope(user_client.put("/vip/alice", {"userType": TierType.DIAMOND, "cost": "20000.00"}, format="json"),
             status=200)
    before = snapshot()
    refusal = envelope(user_client.get("/vip/alice/cost", {"type": TierType.GOLD}), errors.MembershipChangeError)
    # The expiry is written as every reply writes it (UTC as Z), not in Python's isoformat.
    assert refusal["error"]["invalidTime"] == envelope(user_client.get("/vip/alice"))["data"]["invalidTime"]
    assert refusal["error"]["invalidTime"].endswith("Z")
    envelope(user_client.put("/vip/alice", GOLD_FOR_A_YEAR, format="json"), errors.MembershipChangeError)
    envelope(user_client.put("/vip/alice", {"userType": TierType.REGISTERED, "cost": "0.00"}, format="json"),
             errors.MembershipChangeError)
    before.assert_unchanged()


def test_admin_tier_is_not_for_sale(user_client, rich_alice):
    before = snapshot()
    envelope(user_client.put("/vip/alice", {"userType": TierType.ADMIN, "cost": "0.00"}, format="json"),
             errors.MembershipChangeError)
    before.assert_unchanged()



@pytest.mark.parametrize("expires_in_years", [95, 7975])
def test_a_membership_is_paid_at_most_a_hundred_years_ahead(user_client, user, expires_in_years):
    """Renewals add up: the free tier renewed again and again ran past the year 9999 (a 500 for the quote
    and the purchase). Past the horizon, or from an expiry already near the calendar's end, it is 8009."""
    envelope(user_client.put("/vip/alice", {"userType": TierType.CERTIFIED, "cost": "0.00", "validity": 10},
                             format="json"))
    Membership.objects.filter(user=user).update(expires_at=timezone.now() + timedelta(days=365 * expires_in_years))
    before = snapshot()
    for reply in (user_client.get("/vip/alice/cost", {"type": TierType.CERTIFIED, "validity": 10}),
                  user_client.put("/vip/alice", {"userType": TierType.CERTIFIED, "cost": "0.00", "validity": 10},
                                  format="json")):
        body = envelope(reply, errors.MembershipChangeError)
        assert "validity" in body["error"]
    before.assert_unchanged()
    if expires_in_years == 95:  # within the horizon a shorter renewal is still sold
        envelope(user_client.get("/vip/alice/cost", {"type": TierType.CERTIFIED, "validity": 1}))

@pytest.mark.parametrize("body", [
    {"amount": "0"}, {"amount": "-5.00"}, {"amount": "1.001"}, {"amount": "x"}, {}, {"amount": "NaN"},
    {"amount": "1000000000000.00"},
])
def test_topup_bad_input_changes_nothing(admin_client, user, body):
    before = snapshot()
    envelope(admin_client.post("/vip/alice/topup", body, format="json"), errors.InvalidParametersError)
    before.assert_unchanged()


# --- purchases by admins and strings for numbers ------------------------------------------------------------

def test_numbers_as_strings_and_admin_buys_for_a_member(admin_client, rich_alice):
    reply = envelope(admin_client.put("/vip/alice", {"userType": "4", "cost": "20000", "validity": "2"},
                                      format="json"), status=200)
    assert (reply["data"]["cost"], reply["data"]["balance"], reply["data"]["userType"]) == (
        "20000.00", "30000.00", TierType.GOLD)
    entry = LedgerEntry.objects.get(user=rich_alice, kind="charge")
    assert entry.actor.username == "root" and entry.validity == 2


def test_nothing_is_bought_for_an_administrator(admin_client, admin_user):
    envelope(admin_client.get("/vip/root/cost", {"type": TierType.DIAMOND}), errors.MembershipChangeError)
    before = snapshot()
    envelope(admin_client.put("/vip/root", {"userType": TierType.DIAMOND, "cost": "0.00"}, format="json"),
             errors.MembershipChangeError)
    before.assert_unchanged()
    assert envelope(admin_client.get("/vip/root"))["data"]["userType"] == TierType.ADMIN


# --- Idempotency-Key ----------------------------------------------------------------------------------------

def test_same_key_charges_once_and_replays_the_first_reply(user_client, rich_alice):
    headers = {"Idempotency-Key": "order-1"}
    first = user_client.put("/vip/alice", GOLD_FOR_A_YEAR, format="json", headers=headers)
    second = user_client.put("/vip/alice", {"userType": "4", "cost": "10000"}, format="json", headers=headers)
    third = user_client.put("/vip/ALICE/", GOLD_FOR_A_YEAR, format="json", headers=headers)  # the same, spelled so
    assert (first.status_code, first.content) == (second.status_code, second.content) == (
        third.status_code, third.content)
    envelope(first, status=200)
    assert balance(rich_alice) == Decimal("40000.00")
    assert_ledger_balances(rich_alice)
    assert LedgerEntry.objects.filter(user=rich_alice, kind="charge").count() == 1


def test_same_key_with_a_different_body_is_8012(user_client, rich_alice):
    headers = {"Idempotency-Key": "order-2"}
    envelope(user_client.put("/vip/alice", GOLD_FOR_A_YEAR, format="json", headers=headers))
    before = snapshot()
    reply = user_client.put("/vip/alice", {"userType": TierType.GOLD, "cost": "20000.00", "validity": 2}, format="json",
                            headers=headers)
    envelope(reply, errors.IdempotencyKeyReusedError)
    before.assert_unchanged()


def test_a_refused_request_does_not_burn_its_key(user_client, user, fund):
    headers = {"Idempotency-Key": "order-3"}
    body = GOLD_FOR_A_YEAR
    envelope(user_client.put("/vip/alice", body, format="json", headers=headers), errors.InsufficientBalanceError)
    assert not IdempotencyRecord.objects.exists()
    fund(user, "10000.00")
    envelope(user_client.put("/vip/alice", body, format="json", headers=headers), status=200)
    assert balance(user) == Decimal("0.00")


def test_topup_key_credits_once(admin_client, user):
    headers = {"Idempotency-Key": "wire-77"}
    first = admin_client.post("/vip/alice/topup", {"amount": "5.00"}, format="json", headers=headers)
    second = admin_client.post("/vip/alice/topup", {"amount": "5.00"}, format="json", headers=headers)
    assert (first.status_code, first.json()) == (second.status_code, second.json()) and first.status_code == 201
    assert balance(user) == Decimal("5.00")
    envelope(admin_client.post("/vip/alice/topup", {"amount": "6.00"}, format="json", headers=headers),
             errors.IdempotencyKeyReusedError)


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé"])
def test_bad_idempotency_key_is_1007(user_client, rich_alice, key):
    before = snapshot()
    envelope(user_client.put("/vip/alice", GOLD_FOR_A_YEAR, format="json",
                             headers={"Idempotency-Key": key}), errors.InvalidParametersError)
    before.assert_unchanged()


# --- ledger -------------------------------------------------------------------------------------------------

def test_ledger_is_paginated_newest_first_and_sums_to_the_balance(admin_client, user_client, user, fund,
                                                                  django_assert_max_num_queries):
    for amount in ["1.00", "2.00", "3.00"]:
        fund(user, amount)
    envelope(user_client.put("/vip/alice", {"userType": TierType.CERTIFIED, "cost": "0.00"}, format="json"))
    with django_assert_max_num_queries(8):
        page = envelope(user_client.get("/vip/alice/ledger", {"page": 1, "size": 2}))["data"]
    assert (page["total"], page["page"], page["size"]) == (3, 1, 2)
    assert [row["amount"] for row in page["results"]] == ["3.00", "2.00"]
    assert page["results"][0]["balance_after"] == "6.00" and page["results"][0]["actor"] == "root"
    assert balance(user) == Decimal("6.00")
    assert_ledger_balances(user)
    envelope(user_client.get("/vip/alice/ledger", {"page": 0}), errors.InvalidParametersError)


def test_anyone_lists_the_tiers_with_their_fees_and_limits(anon_client):
    tiers = envelope(anon_client.get("/vip/tiers"))["data"]
    assert [tier["userType"] for tier in tiers] == [1, 2, 3, 4, 5]
    gold = tiers[3]
    assert gold == {"userType": 4, "name": "gold", "repoPub": 20, "repoPri": 2, "pullNum": 2000, "payWay": 1,
                    "deposit": "200M", "depositBytes": 200 * 1024**2, "fee": "10000.00"}
    assert tiers[1]["repoPub"] == -1 and tiers[4]["deposit"] == "2G" and tiers[4]["fee"] == "20000.00"
