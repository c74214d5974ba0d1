"""The /quota API: who may do what, the seed 004 shapes, and bad input changing nothing."""

import json

import pytest

from accountsite import errors
from accountsite.errors import QuotaExceededError
from membership.models import TierType
from quotas.models import Quota, QuotaKind
from repos.services import commit_create, repository_create
from tests.conftest import envelope
from tests.quotas.helpers import GIB, MIB, give_tier, row
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

KINDS = ["repository", "deposit", "pullnum"]


@pytest.fixture
def clients(anon_client, user_client, other_client, admin_client):
    return {"anon": anon_client, "self": user_client, "other": other_client, "admin": admin_client}


# --- permission matrices -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("who", "error"), [
    ("anon", errors.NotAuthenticatedError), ("self", None), ("other", errors.NotFoundError), ("admin", None),
])
def test_read_matrix(clients, kind, who, error):
    body = envelope(clients[who].get(f"/quota/alice/{kind}"), error, status=None if error else 200)
    if error is None:
        assert body["data"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("who", "error"), [
    # Operators' work: anyone else is refused before the user is even looked up (so learns nothing).
    ("anon", errors.NotAuthenticatedError), ("self", errors.PermissionDeniedError),
    ("other", errors.PermissionDeniedError), ("admin", None),
])
def test_change_limits_matrix(clients, kind, who, error):
    before = snapshot()
    body = {"public": 3, "private": 1} if kind == "repository" else {"quota": 7}
    envelope(clients[who].put(f"/quota/alice/{kind}", body, format="json"), error, status=None if error else 200)
    if error:
        before.assert_unchanged()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("who", "error"), [
    ("anon", errors.NotAuthenticatedError), ("self", errors.PermissionDeniedError),
    ("other", errors.PermissionDeniedError), ("admin", errors.QuotaExistsError),
])
def test_create_record_matrix(clients, kind, who, error):
    """Every user has all records from registration, so even an admin's create is QuotaExistsError here."""
    before = snapshot()
    envelope(clients[who].post(f"/quota/alice/{kind}", {}, format="json"), error)
    before.assert_unchanged()


@pytest.mark.parametrize(("path", "body", "who", "error"), [
    ("repository/use", {"public": 0}, "anon", errors.NotAuthenticatedError),
    ("repository/use", {"public": 0}, "self", None),
    ("repository/use", {"public": 0}, "other", errors.NotFoundError),
    ("repository/use", {"public": 0}, "admin", None),
    ("deposit/use", {"use": 1}, "anon", errors.NotAuthenticatedError),
    ("deposit/use", {"use": 1}, "self", errors.PermissionDeniedError),
    ("deposit/use", {"use": 1}, "other", errors.PermissionDeniedError),
    ("deposit/use", {"use": 1}, "admin", None),
    ("pullnum/use", {"use": 1}, "anon", errors.NotAuthenticatedError),
    ("pullnum/use", {"use": 1}, "self", errors.PermissionDeniedError),
    ("pullnum/use", {"use": 1}, "other", errors.PermissionDeniedError),
    ("pullnum/use", {"use": 1}, "admin", None),
])
def test_use_matrix(clients, user, path, body, who, error):
    give_tier(user, TierType.GOLD)
    before = snapshot()
    envelope(clients[who].post(f"/quota/alice/{path}", body, format="json"), error, status=None if error else 200)
    if error:
        before.assert_unchanged()


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_user_is_404_even_for_admin(admin_client, kind):
    envelope(admin_client.get(f"/quota/nobody/{kind}"), errors.NotFoundError)
    envelope(admin_client.put(f"/quota/nobody/{kind}", {"quota": 1}, format="json"), errors.NotFoundError)


def test_deleted_user_is_visible_to_admins_only(other, admin_client):
    from accounts.models import UserStatus

    type(other).objects.filter(pk=other.pk).update(status=UserStatus.DELETED)
    envelope(admin_client.get("/quota/bob/pullnum"), status=200)
    assert admin_client.get("/quota/bob/pullnum").json()["data"]["quota"] == 500


def test_login_name_is_case_insensitive(user_client):
    envelope(user_client.get("/quota/ALICE/pullnum"), status=200)


# --- shapes and effects ------------------------------------------------------------------------------------


def test_repository_reply_and_partial_put(admin_client, user):
    give_tier(user, TierType.GOLD)
    assert envelope(admin_client.get("/quota/alice/repository"))["data"] == {
        "quotaPublic": 20, "usePublic": 0, "quotaPrivate": 2, "usePrivate": 0}
    data = envelope(admin_client.put("/quota/alice/repository", {"private": "30"}, format="json"))["data"]
    assert data == {"quotaPublic": 20, "usePublic": 0, "quotaPrivate": 30, "usePrivate": 0}
    data = envelope(admin_client.put("/quota/alice/repository", {"public": -1}))["data"]  # form body
    assert data["quotaPublic"] == -1 and row(user, QuotaKind.REPO_PUBLIC).quota == -1


def test_repository_use_sets_counts(user_client, user):
    give_tier(user, TierType.GOLD)
    data = envelope(user_client.post("/quota/alice/repository/use", {"public": "5", "private": 1},
                                     format="json"))["data"]
    assert (data["usePublic"], data["usePrivate"]) == (5, 1)
    data = envelope(user_client.post("/quota/alice/repository/use", {"public": 2}, format="json"))["data"]
    assert (data["usePublic"], data["usePrivate"]) == (2, 1)


def test_repository_use_over_the_limit_is_8008_with_the_tier_and_the_upgrade(user_client, user):
    """The same 8008 as every quota refusal (docs/errors.md): the tier, and the tier that would allow it."""
    give_tier(user, TierType.GOLD)
    before = snapshot()
    body = envelope(user_client.post("/quota/alice/repository/use", {"usePublic": 21}, format="json"),
                    errors.QuotaExceededError)
    assert body["error"] == {"quota": "repo_public", "limit": 20, "use": 0, "requested": 21,
                             "userType": TierType.GOLD, "upgrade": TierType.DIAMOND}
    before.assert_unchanged()
    body = envelope(user_client.post("/quota/alice/repository/use", {"usePublic": 10**6}, format="json"),
                    errors.QuotaExceededError)
    assert "upgrade" not in body["error"] and body["error"]["userType"] == TierType.GOLD


def test_repository_use_cannot_go_below_real_repositories(user_client, user):
    from repos.services import repository_create

    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="kept")
    before = snapshot()
    body = envelope(user_client.post("/quota/alice/repository/use", {"public": 0}, format="json"),
                    errors.InvalidParametersError)
    assert body["error"] == {"usePublic": ["1 public repositories exist; use cannot be set below that."]}
    before.assert_unchanged()


def test_create_record_after_it_was_removed(admin_client, user):
    Quota.objects.filter(user=user, kind__in=[QuotaKind.REPO_PUBLIC, QuotaKind.REPO_PRIVATE]).delete()
    envelope(admin_client.get("/quota/alice/repository"), errors.NotFoundError)
    data = envelope(admin_client.post("/quota/alice/repository", {"public": "50", "private": "20"},
                                      format="json"), status=201)["data"]
    assert data == {"quotaPublic": 50, "usePublic": 0, "quotaPrivate": 20, "usePrivate": 0}
    envelope(admin_client.post("/quota/alice/repository", {"public": 1}, format="json"), errors.QuotaExistsError)


def test_create_record_defaults_to_the_tier(admin_client, user):
    give_tier(user, TierType.GOLD)
    Quota.objects.filter(user=user, kind=QuotaKind.DEPOSIT).delete()
    data = envelope(admin_client.post("/quota/alice/deposit", {}, format="json"), status=201)["data"]
    assert data["quota"] == "200M" and data["quotaBytes"] == 200 * MIB


def test_put_on_a_missing_record_is_404(admin_client, user):
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).delete()
    envelope(admin_client.put("/quota/alice/pullnum", {"quota": 5}, format="json"), errors.NotFoundError)


def test_a_partial_repository_record_is_missing_to_put_and_completed_by_post(admin_client, user):
    """One of its two rows deleted (the back office deletes rows one by one): PUT changes nothing and is 404,
    even for the limit whose row is left; POST creates the missing row and keeps the other."""
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(quota=4)
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PRIVATE).delete()
    before = snapshot()
    envelope(admin_client.put("/quota/alice/repository", {"quotaPublic": 1}, format="json"), errors.NotFoundError)
    before.assert_unchanged()
    data = envelope(admin_client.post("/quota/alice/repository", {"quotaPublic": 9, "quotaPrivate": 2},
                                      format="json"), status=201)["data"]
    assert (data["quotaPublic"], data["quotaPrivate"]) == (4, 2)
    envelope(admin_client.post("/quota/alice/repository", {"quotaPrivate": 3}, format="json"), errors.QuotaExistsError)


def test_deposit_units_round_trip(admin_client, user):
    data = envelope(admin_client.put("/quota/alice/deposit", {"quota": "2", "unit": "G"}, format="json"))["data"]
    assert data == {"quota": "2G", "quotaBytes": 2 * GIB, "use": "0M", "useBytes": 0}
    assert row(user, QuotaKind.DEPOSIT).quota == 2147483648
    data = envelope(admin_client.post("/quota/alice/deposit/use", {"use": 5}, format="json"))["data"]
    assert (data["use"], data["useBytes"]) == ("5M", 5 * MIB)
    data = envelope(admin_client.post("/quota/alice/deposit/use", {"use": "512", "unit": "k"}, format="json"))["data"]
    assert (data["use"], data["useBytes"]) == ("5.5M", 5 * MIB + 512 * 1024)
    data = envelope(admin_client.post("/quota/alice/deposit/use", {"use": -1, "unit": "G"}, format="json"))["data"]
    assert (data["use"], data["useBytes"]) == ("0M", 0)
    data = envelope(admin_client.put("/quota/alice/deposit", {"quota": 300}, format="json"))["data"]
    assert (data["quota"], data["quotaBytes"]) == ("300M", 300 * MIB)
    data = envelope(admin_client.put("/quota/alice/deposit", {"quota": -1}, format="json"))["data"]
    assert (data["quota"], data["quotaBytes"]) == (-1, -1)


def test_a_storage_limit_read_can_be_sent_back_as_it_reads(admin_client, user):
    """The reply writes the limit as "2G"; a client may send it back so, or as "1.5G" (whole bytes only)."""
    for sent, size in (("2G", 2 * GIB), ("1.5G", 1536 * MIB), (" 300 m ", 300 * MIB)):
        data = envelope(admin_client.put("/quota/alice/deposit", {"quota": sent}, format="json"))["data"]
        assert data["quotaBytes"] == size and row(user, QuotaKind.DEPOSIT).quota == size
        again = envelope(admin_client.put("/quota/alice/deposit", {"quota": data["quota"]}, format="json"))
        assert again["data"]["quotaBytes"] == size
    before = snapshot()
    for body, field in (({"quota": "2G", "unit": "M"}, "unit"), ({"quota": "1.3K"}, "quota"),
                        ({"quota": "2X"}, "quota"), ({"quota": "-1G"}, "quota"), ({"quota": "1.2.3G"}, "quota")):
        reply = envelope(admin_client.put("/quota/alice/deposit", body, format="json"), errors.InvalidParametersError)
        assert field in reply["error"], (body, reply)
    before.assert_unchanged()


def test_an_unknown_unit_is_refused_without_being_echoed(admin_client, user):
    unit = "\u202e" + "a" * 5000
    for path, body in (("/quota/alice/deposit", {"quota": 1, "unit": unit}),
                       ("/quota/alice/deposit/use", {"use": 1, "unit": unit})):
        reply = envelope(admin_client.generic("PUT" if path.endswith("deposit") else "POST", path, json.dumps(body),
                                              content_type="application/json"), errors.InvalidParametersError)
        shown = json.dumps(reply, ensure_ascii=False)
        assert "aaaa" not in shown and "\u202e" not in shown and "unit" in reply["error"]


def test_freeing_storage_stops_at_what_the_commits_store(admin_client, user):
    """Otherwise an operator's mistake let the owner store past the limit: use freed to 0 under 2 MiB of
    commits, then a 1 GiB limit, then a 1 GiB commit was accepted."""
    give_tier(user, TierType.GOLD)
    repo = repository_create(owner=user, name="data", visibility="public")
    commit_create(repo=repo, author=user, content="x", size=2 * MIB)
    data = envelope(admin_client.post("/quota/alice/deposit/use", {"use": -100}, format="json"))["data"]
    assert data["useBytes"] == 2 * MIB
    envelope(admin_client.put("/quota/alice/deposit", {"quota": 3}, format="json"))
    with pytest.raises(QuotaExceededError):
        commit_create(repo=repo, author=user, content="y", size=2 * MIB)
    data = envelope(admin_client.post("/quota/alice/deposit/use", {"use": 1}, format="json"))["data"]
    assert data["useBytes"] == 3 * MIB


def test_pullnum_use_adds_and_reads_today(admin_client, user):
    data = envelope(admin_client.post("/quota/alice/pullnum/use", {"use": "10"}, format="json"))["data"]
    assert (data["quota"], data["use"]) == (500, 10)
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).update(day="2000-01-01")
    assert envelope(admin_client.get("/quota/alice/pullnum"))["data"]["use"] == 0


# --- bad input ---------------------------------------------------------------------------------------------


# A refused field is named as the body spelt it: `public` (seed 003's spelling) or `quotaPublic`.
@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("put", "repository", {"public": "abc"}, "public"),
    ("put", "repository", {"quotaPublic": "-5"}, "quotaPublic"),
    ("put", "repository", {"private": 1.5}, "private"),
    ("put", "repository", {"private": True}, "private"),
    ("put", "repository", {"public": "1e999"}, "public"),
    ("put", "repository", {"public": 10**30}, "public"),
    ("put", "repository", {}, "quota"),
    ("put", "deposit", {"quota": "12X"}, "quota"),
    ("put", "deposit", {"quota": "-5"}, "quota"),
    ("put", "deposit", {"quota": "1e999"}, "quota"),
    ("put", "deposit", {"quota": "2.0"}, "quota"),
    ("put", "deposit", {"quota": 1, "unit": "X"}, "unit"),
    ("put", "deposit", {"quota": 10**7, "unit": "T"}, "quota"),
    ("put", "deposit", {"unit": "G"}, "quota"),
    ("put", "pullnum", {"quota": None}, "quota"),
    ("put", "pullnum", {"quota": "-2"}, "quota"),
    ("post", "repository/use", {"public": "-1"}, "public"),
    ("post", "repository/use", {"usePublic": "-1"}, "usePublic"),
    ("post", "repository/use", {}, "usePublic"),
    ("post", "deposit/use", {"use": "12X"}, "use"),
    ("post", "deposit/use", {"use": 1, "unit": "P"}, "unit"),
    ("post", "deposit/use", {}, "use"),
    ("post", "pullnum/use", {"use": "-5"}, "use"),
    ("post", "pullnum/use", {"use": "1e999"}, "use"),
])
def test_bad_input_is_1007_and_changes_nothing(admin_client, user, method, path, body, field):
    give_tier(user, TierType.GOLD)
    before = snapshot()
    reply = envelope(getattr(admin_client, method)(f"/quota/alice/{path}", body, format="json"),
                     errors.InvalidParametersError)
    assert field in reply["error"], reply
    before.assert_unchanged()


@pytest.mark.parametrize(("path", "body", "quota"), [
    ("repository/use", {"private": 3}, "repo_private"),
    ("deposit/use", {"use": 201}, "deposit"),
    ("pullnum/use", {"use": 2001}, "pullnum"),
])
def test_use_beyond_quota_is_8008_and_changes_nothing(admin_client, user, path, body, quota):
    give_tier(user, TierType.GOLD)
    before = snapshot()
    reply = envelope(admin_client.post(f"/quota/alice/{path}", body, format="json"), errors.QuotaExceededError)
    assert reply["error"]["quota"] == quota and "limit" in reply["error"] and "use" in reply["error"]
    before.assert_unchanged()


def test_freeing_storage_under_a_lowered_limit_is_never_8008(admin_client, user):
    """Use over a limit an operator lowered: freeing must still work (it said "quota exceeded" when
    nothing above the stored bytes was left to free)."""
    give_tier(user, TierType.GOLD)
    repo = repository_create(owner=user, name="data", visibility="public")
    commit_create(repo=repo, author=user, content="x", size=2 * MIB)
    envelope(admin_client.put("/quota/alice/deposit", {"quota": 1, "unit": "K"}, format="json"))
    data = envelope(admin_client.post("/quota/alice/deposit/use", {"use": -5, "unit": "M"}, format="json"))["data"]
    assert data["useBytes"] == 2 * MIB  # all of it is stored by commits
    envelope(admin_client.post("/quota/alice/deposit/use", {"use": 1}, format="json"), errors.QuotaExceededError)
