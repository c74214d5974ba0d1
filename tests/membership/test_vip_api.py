"""The /vip API: permission matrices, bad input that changes nothing, purchases, idempotency, ledger, top-up."""

from decimal import Decimal

import pytest

from accounts.models import UserStatus
from membership.models import IdempotencyRecord, LedgerEntry
from tests.conftest import envelope
from tests.membership.conftest import money_state

pytestmark = pytest.mark.django_db

CLIENTS = ["anon_client", "user_client", "other_client", "admin_client"]


@pytest.fixture
def rich_alice(user, fund):
    fund(user, "50000.00")
    return user


# --- GET /vip/{name} ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", CLIENTS)
def test_vip_is_public_and_money_is_only_for_self_and_admin(request, who, user):
    body = envelope(request.getfixturevalue(who).get("/vip/alice"), 0, 200)
    assert body["data"] == {**body["data"], "userType": 1, "repoPub": 0, "repoPri": 0, "pullNum": 500, "payWay": 1,
                            "deposit": "0M", "fee": "0.00", "invalidTime": None}
    assert ("balance" in body["data"]) == (who in ("user_client", "admin_client"))


@pytest.mark.parametrize(("who", "code", "status"), [
    ("anon_client", 1009, 404), ("other_client", 1009, 404), ("admin_client", 0, 200),
])
def test_deleted_members_are_visible_to_admins_only(request, who, code, status, user):
    user.status = UserStatus.DELETED
    user.save(update_fields=["status"])
    envelope(request.getfixturevalue(who).get("/vip/alice"), code, status)


def test_vip_shows_the_tier_in_force_with_deposit_as_a_string(user_client, rich_alice):
    cost = envelope(user_client.get("/vip/alice/cost", {"type": 5}), 0, 200)["data"]["cost"]
    assert cost == "20000.00"
    envelope(user_client.put("/vip/alice", {"userType": 5, "cost": cost}, format="json"), 0, 200)
    data = envelope(user_client.get("/vip/alice"))["data"]
    assert (data["userType"], data["deposit"], data["fee"], data["payWay"]) == (5, "2G", "20000.00", 2)
    assert data["invalidTime"] is not None and data["balance"] == "30000.00"


def test_unknown_user_is_404(anon_client, db):
    envelope(anon_client.get("/vip/nobody"), 1009, 404)


# --- permission matrices ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "code", "status"), [
    ("anon_client", 7005, 401), ("user_client", 0, 200), ("other_client", 1009, 404), ("admin_client", 0, 200),
])
def test_cost_permissions(request, who, code, status, user):
    body = envelope(request.getfixturevalue(who).get("/vip/alice/cost?type=4&validity=2"), code, status)
    if code == 0:
        assert body["data"] == {"cost": "20000.00"}


@pytest.mark.parametrize(("who", "code", "status"), [
    ("anon_client", 7005, 401), ("user_client", 0, 200), ("other_client", 1009, 404), ("admin_client", 0, 200),
])
def test_purchase_permissions(request, who, code, status, rich_alice):
    before = money_state(rich_alice)
    response = request.getfixturevalue(who).put("/vip/alice", {"userType": 4, "cost": "10000.00"}, format="json")
    envelope(response, code, status)
    after = money_state(rich_alice)
    if code == 0:
        assert after["balance"] == before["balance"] - Decimal("10000.00") and after["tier"] == 4
        assert after["sum"] == after["balance"]
    else:
        assert after == before


@pytest.mark.parametrize(("who", "code", "status"), [
    ("anon_client", 7005, 401), ("user_client", 0, 200), ("other_client", 1009, 404), ("admin_client", 0, 200),
])
def test_ledger_permissions(request, who, code, status, rich_alice):
    body = envelope(request.getfixturevalue(who).get("/vip/alice/ledger"), code, status)
    if code == 0:
        assert body["data"]["total"] == 1
        assert body["data"]["results"][0]["kind"] == "topup"
        assert body["data"]["results"][0]["amount"] == "50000.00"


@pytest.mark.parametrize(("who", "code", "status"), [
    ("anon_client", 7005, 401), ("user_client", 7006, 403), ("other_client", 7006, 403), ("admin_client", 0, 201),
])
def test_topup_permissions(request, who, code, status, user):
    before = money_state(user)
    response = request.getfixturevalue(who).post("/vip/alice/topup", {"amount": "12.34", "note": "cash"},
                                                  format="json")
    body = envelope(response, code, status)
    after = money_state(user)
    if code == 0:
        assert body["data"]["amount"] == "12.34" and body["data"]["balance_after"] == "12.34"
        assert after["balance"] == Decimal("12.34") == after["sum"]
    else:
        assert after == before


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    {"type": 0}, {"type": 6}, {"type": "x"}, {"type": ""}, {}, {"type": 4, "validity": 0},
    {"type": 4, "validity": -1}, {"type": 4, "validity": "x"}, {"type": 4, "validity": 100},
    {"type": 4, "validity": "1.5"},
])
def test_cost_bad_input(user_client, user, query):
    envelope(user_client.get("/vip/alice/cost", query), 1007, 400)


@pytest.mark.parametrize(("body", "field"), [
    ({"userType": 0, "cost": "0.00"}, "userType"),
    ({"userType": 6, "cost": "0.00"}, "userType"),
    ({"userType": "x", "cost": "0.00"}, "userType"),
    ({"cost": "10000.00"}, "userType"),
    ({"userType": 4, "cost": "10000.00", "validity": 0}, "validity"),
    ({"userType": 4, "cost": "10000.00", "validity": -1}, "validity"),
    ({"userType": 4, "cost": "10000.00", "validity": "x"}, "validity"),
    ({"userType": 4, "cost": "10000.00", "validity": 100}, "validity"),
    ({"userType": 4}, "cost"),
    ({"userType": 4, "cost": "ten"}, "cost"),
    ({"userType": 4, "cost": "10000.001"}, "cost"),
    ({"userType": 4, "cost": "-1"}, "cost"),
])
def test_purchase_bad_input_changes_nothing(user_client, rich_alice, body, field):
    before = money_state(rich_alice)
    reply = envelope(user_client.put("/vip/alice", body, format="json"), 1007, 400)
    assert field in reply["error"]
    assert money_state(rich_alice) == before


def test_wrong_cost_is_8010_with_the_current_quote(user_client, rich_alice):
    before = money_state(rich_alice)
    reply = envelope(user_client.put("/vip/alice", {"userType": 4, "cost": "9999.99"}, format="json"), 8010, 409)
    assert reply["error"] == {"cost": "10000.00"}
    assert money_state(rich_alice) == before


def test_low_balance_is_8007_and_changes_nothing(user_client, user, fund):
    fund(user, "9999.99")
    before = money_state(user)
    envelope(user_client.put("/vip/alice", {"userType": 4, "cost": "10000.00"}, format="json"), 8007, 402)
    assert money_state(user) == before


def test_early_downgrade_is_8009_and_changes_nothing(user_client, rich_alice):
    envelope(user_client.put("/vip/alice", {"userType": 5, "cost": "20000.00"}, format="json"), 0, 200)
    before = money_state(rich_alice)
    envelope(user_client.get("/vip/alice/cost", {"type": 4}), 8009, 409)
    envelope(user_client.put("/vip/alice", {"userType": 4, "cost": "10000.00"}, format="json"), 8009, 409)
    envelope(user_client.put("/vip/alice", {"userType": 1, "cost": "0.00"}, format="json"), 8009, 409)
    assert money_state(rich_alice) == before


def test_admin_tier_is_not_for_sale(user_client, rich_alice):
    before = money_state(rich_alice)
    envelope(user_client.put("/vip/alice", {"userType": 2, "cost": "0.00"}, format="json"), 8009, 409)
    assert money_state(rich_alice) == before


@pytest.mark.parametrize("body", [
    {"amount": "0"}, {"amount": "-5.00"}, {"amount": "1.001"}, {"amount": "x"}, {}, {"amount": "NaN"},
    {"amount": "1000000000000.00"},
])
def test_topup_bad_input_changes_nothing(admin_client, user, body):
    before = money_state(user)
    envelope(admin_client.post("/vip/alice/topup", body, format="json"), 1007, 400)
    assert money_state(user) == before


# --- purchases by admins and strings for numbers ------------------------------------------------------------

def test_numbers_as_strings_and_admin_buys_for_a_member(admin_client, rich_alice):
    reply = envelope(admin_client.put("/vip/alice", {"userType": "4", "cost": "20000", "validity": "2"},
                                      format="json"), 0, 200)
    assert (reply["data"]["cost"], reply["data"]["balance"], reply["data"]["userType"]) == ("20000.00", "30000.00", 4)
    entry = LedgerEntry.objects.get(user=rich_alice, kind="charge")
    assert entry.actor.username == "root" and entry.validity == 2


def test_admin_role_member_pays_nothing(admin_client, admin_user):
    assert envelope(admin_client.get("/vip/root/cost", {"type": 5}), 0, 200)["data"] == {"cost": "0.00"}
    reply = envelope(admin_client.put("/vip/root", {"userType": 5, "cost": "0.00"}, format="json"), 0, 200)
    assert reply["data"]["cost"] == "0.00" and not LedgerEntry.objects.filter(user=admin_user).exists()


# --- Idempotency-Key ----------------------------------------------------------------------------------------

def test_same_key_charges_once_and_replays_the_first_reply(user_client, rich_alice):
    headers = {"Idempotency-Key": "order-1"}
    first = user_client.put("/vip/alice", {"userType": 4, "cost": "10000.00"}, format="json", headers=headers)
    second = user_client.put("/vip/alice", {"userType": "4", "cost": "10000"}, format="json", headers=headers)
    assert (first.status_code, first.content) == (second.status_code, second.content)
    envelope(first, 0, 200)
    state = money_state(rich_alice)
    assert state["balance"] == Decimal("40000.00") == state["sum"]
    assert LedgerEntry.objects.filter(user=rich_alice, kind="charge").count() == 1


def test_same_key_with_a_different_body_is_8012(user_client, rich_alice):
    headers = {"Idempotency-Key": "order-2"}
    envelope(user_client.put("/vip/alice", {"userType": 4, "cost": "10000.00"}, format="json", headers=headers))
    before = money_state(rich_alice)
    reply = user_client.put("/vip/alice", {"userType": 4, "cost": "20000.00", "validity": 2}, format="json",
                            headers=headers)
    envelope(reply, 8012, 422)
    assert money_state(rich_alice) == before


def test_a_refused_request_does_not_burn_its_key(user_client, user, fund):
    headers = {"Idempotency-Key": "order-3"}
    body = {"userType": 4, "cost": "10000.00"}
    envelope(user_client.put("/vip/alice", body, format="json", headers=headers), 8007, 402)
    assert not IdempotencyRecord.objects.exists()
    fund(user, "10000.00")
    envelope(user_client.put("/vip/alice", body, format="json", headers=headers), 0, 200)
    assert money_state(user)["balance"] == Decimal("0.00")


def test_topup_key_credits_once(admin_client, user):
    headers = {"Idempotency-Key": "wire-77"}
    first = admin_client.post("/vip/alice/topup", {"amount": "5.00"}, format="json", headers=headers)
    second = admin_client.post("/vip/alice/topup", {"amount": "5.00"}, format="json", headers=headers)
    assert (first.status_code, first.json()) == (second.status_code, second.json()) and first.status_code == 201
    assert money_state(user)["balance"] == Decimal("5.00")
    envelope(admin_client.post("/vip/alice/topup", {"amount": "6.00"}, format="json", headers=headers), 8012, 422)


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé"])
def test_bad_idempotency_key_is_1007(user_client, rich_alice, key):
    before = money_state(rich_alice)
    envelope(user_client.put("/vip/alice", {"userType": 4, "cost": "10000.00"}, format="json",
                             headers={"Idempotency-Key": key}), 1007, 400)
    assert money_state(rich_alice) == before


# --- ledger -------------------------------------------------------------------------------------------------

def test_ledger_is_paginated_newest_first_and_sums_to_the_balance(admin_client, user_client, user, fund,
                                                                  django_assert_max_num_queries):
    for amount in ["1.00", "2.00", "3.00"]:
        fund(user, amount)
    envelope(user_client.put("/vip/alice", {"userType": 3, "cost": "0.00"}, format="json"))
    with django_assert_max_num_queries(8):
        page = envelope(user_client.get("/vip/alice/ledger", {"page": 1, "size": 2}))["data"]
    assert (page["total"], page["page"], page["size"]) == (3, 1, 2)
    assert [row["amount"] for row in page["results"]] == ["3.00", "2.00"]
    assert page["results"][0]["balance_after"] == "6.00" and page["results"][0]["actor"] == "root"
    state = money_state(user)
    assert state["balance"] == state["sum"] == Decimal("6.00")
    envelope(user_client.get("/vip/alice/ledger", {"page": 0}), 1007, 400)
