"""The repository API: quota paid on create, commit and pull; who may see and change what."""

import pytest
from django.contrib.auth.hashers import check_password, make_password

from accountsite import errors
from membership.models import TierType
from quotas.models import Quota, QuotaKind
from repos.models import Commit, Pull, Repository
from repos.services import commit_create, repository_create
from tests.conftest import app_client, client_for, envelope
from tests.factories import UserFactory
from tests.quotas.helpers import give_tier, row
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(anon_client, user_client, other_client, admin_client):
    return {"anon": anon_client, "owner": user_client, "other": other_client, "admin": admin_client}


@pytest.fixture
def gold(user):
    """alice as a gold member: 20 public and 2 private repositories, 200M storage, 2000 pulls a day."""
    return give_tier(user, TierType.GOLD)


@pytest.fixture
def repos(gold):
    return {
        "public": repository_create(owner=gold, name="open"),
        "private": repository_create(owner=gold, name="closed", visibility="private", secret="s3cret-value"),
    }


# --- create --------------------------------------------------------------------------------------------------


def test_create_pays_one_repository_quota(user_client, gold):
    body = envelope(user_client.post("/repos/", {"name": "data.set-1", "visibility": "private",
                                                 "description": "d", "url": "https://example.com/x",
                                                 "secret": "abc-1234"}, format="json"), status=201)
    assert body["data"]["owner"] == "alice" and body["data"]["has_secret"] is True
    assert "secret" not in body["data"] and "secret_hash" not in body["data"]
    assert check_password("abc-1234", Repository.objects.get(name="data.set-1").secret_hash)
    assert row(gold, QuotaKind.REPO_PRIVATE).use == 1 and row(gold, QuotaKind.REPO_PUBLIC).use == 0


@pytest.mark.parametrize(("method", "path"), [("post", "/repos/"), ("post", "/repo/add"),
                                              ("patch", "/repos/alice/closed")])
def test_a_secret_being_set_has_eight_characters_or_none(user_client, repos, method, path):
    """A secret is guessed a few tries at a time per user and address; one of two or three characters was
    still soon found. An empty one is no secret; one set before the rule still lets a pull through."""
    before = snapshot()
    reply = getattr(user_client, method)(path, {"name": "fresh", "secret": "1234567"}, format="json")
    assert envelope(reply, errors.InvalidParametersError)["error"]["secret"] == \
        ["Ensure this field has at least 8 characters."]
    before.assert_unchanged()
    getattr(user_client, method)(path, {"name": "fresh", "secret": "12345678"}, format="json")
    assert check_password("12345678", Repository.objects.get(owner__username="alice", name="fresh").secret_hash)


def test_a_short_secret_set_before_the_rule_still_opens_the_repository(other_client, repos):
    Repository.objects.filter(pk=repos["private"].pk).update(secret_hash=make_password("abc"))
    envelope(other_client.post("/repos/alice/closed/pull", {"secret": "abc"}, format="json"), status=201)


def test_seed_000_aliases(user_client, gold):
    envelope(user_client.post("/repo/add", {"name": "nami", "secret": "python-3"}), status=201)
    body = envelope(user_client.get("/repo"))
    assert [r["name"] for r in body["data"]["results"]] == ["nami"]
    body = envelope(user_client.post("/commit/add", {"repo_name": "nami", "content": "first commit"}), status=201)
    assert body["data"]["size"] == len("first commit")
    body = envelope(user_client.get("/commit"))
    assert body["data"]["total"] == 1 and body["data"]["results"][0]["repo"] == "nami"
    envelope(user_client.post("/commit/add", {"repo_name": "nope", "content": "x"}), errors.NotFoundError)


def test_own_commits_list_only_repositories_the_author_may_still_read(user_client, other, other_client, repos,
                                                                       user):
    """An author who lost access to a private repository (an operator whose permission was taken back, here
    bob's commit written by the service) does not learn its name or contents from GET /commit; the owner's
    own private commits stay listed, and so do bob's on a public repository."""
    commit_create(repo=repos["private"], author=other, content="bob-secret-peek")
    commit_create(repo=repos["public"], author=other, content="bob in the open")
    commit_create(repo=repos["private"], author=user, content="alice's own")
    listed = envelope(other_client.get("/commit"))["data"]
    assert [c["content"] for c in listed["results"]] == ["bob in the open"] and listed["total"] == 1
    own = envelope(user_client.get("/commit"))["data"]
    assert [c["repo"] for c in own["results"]] == ["closed"]


def test_create_stops_at_the_tiers_quota(user_client, gold):
    for name in ("p1", "p2"):
        envelope(user_client.post("/repos/", {"name": name, "visibility": "private"}, format="json"), status=201)
    before = snapshot()
    body = envelope(user_client.post("/repos/", {"name": "p3", "visibility": "private"}, format="json"),
                    errors.QuotaExceededError)
    assert body["error"] == {"quota": "repo_private", "limit": 2, "use": 2, "requested": 1,
                             "userType": TierType.GOLD, "upgrade": TierType.DIAMOND}
    before.assert_unchanged()


def test_registered_tier_has_no_repositories(other_client, other):
    before = snapshot()
    envelope(other_client.post("/repos/", {"name": "x"}, format="json"), errors.QuotaExceededError)
    before.assert_unchanged()


def test_duplicate_name_is_8011_case_insensitively(user_client, repos):
    before = snapshot()
    envelope(user_client.post("/repos/", {"name": "OPEN"}, format="json"), errors.RepositoryExistsError)
    before.assert_unchanged()


def test_same_name_for_another_owner_is_fine(other_client, other, repos):
    give_tier(other, TierType.GOLD)
    envelope(other_client.post("/repos/", {"name": "open"}, format="json"), status=201)


@pytest.mark.parametrize("body", [
    {}, {"name": ""}, {"name": "a b"}, {"name": ".."}, {"name": "x" * 101}, {"name": "ok", "visibility": "secret"},
    {"name": "ok", "url": "ftp://example.com"}, {"name": "ok", "url": "not a url"}, {"name": "é"},
    # Direction controls, which Django's URL check takes in the host and the path: shown as another address.
    {"name": "ok", "url": "http://exa\u202emple.com"}, {"name": "ok", "url": "https://example.com/\u2066x"},
])
def test_create_bad_input_is_1007(user_client, gold, body):
    before = snapshot()
    envelope(user_client.post("/repos/", body, format="json"), errors.InvalidParametersError)
    before.assert_unchanged()


def test_create_needs_a_signed_in_caller(anon_client):
    envelope(anon_client.post("/repos/", {"name": "x"}, format="json"), errors.NotAuthenticatedError)
    envelope(anon_client.get("/repos/"), errors.NotAuthenticatedError)


# --- read ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "kind", "error"), [
    ("anon", "public", None), ("other", "public", None), ("owner", "public", None), ("admin", "public", None),
    ("anon", "private", errors.NotFoundError), ("other", "private", errors.NotFoundError), ("owner", "private", None),
    ("admin", "private", None),
])
def test_read_matrix(clients, repos, who, kind, error):
    repo = repos[kind]
    body = envelope(clients[who].get(f"/repos/alice/{repo.name}"), error, status=None if error else 200)
    if error is None:
        assert body["data"]["name"] == repo.name and "secret_hash" not in body["data"]
    envelope(clients[who].get(f"/repos/alice/{repo.name}/commits"), error, status=None if error else 200)


def test_unknown_repository_is_404(user_client, repos):
    envelope(user_client.get("/repos/alice/missing"), errors.NotFoundError)
    envelope(user_client.get("/repos/nobody/open"), errors.NotFoundError)


def test_lists(user_client, other_client, admin_client, repos):
    assert {r["name"] for r in envelope(user_client.get("/repos/"))["data"]["results"]} == {"open", "closed"}
    assert envelope(other_client.get("/repos/"))["data"]["results"] == []
    listed = envelope(other_client.get("/repos/?owner=alice"))["data"]
    assert [r["name"] for r in listed["results"]] == ["open"] and listed["total"] == 1
    assert envelope(admin_client.get("/repos/?owner=ALICE"))["data"]["total"] == 2
    envelope(other_client.get("/repos/?owner=nobody"), errors.NotFoundError)


def test_deleted_owners_repositories_are_hidden(other_client, admin_client, repos, user):
    from accounts.models import UserStatus

    type(user).objects.filter(pk=user.pk).update(status=UserStatus.DELETED)
    envelope(other_client.get("/repos/alice/open"), errors.NotFoundError)
    envelope(admin_client.get("/repos/alice/open"), status=200)


# --- change and delete ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "kind", "error"), [
    ("anon", "public", errors.NotAuthenticatedError), ("other", "public", errors.PermissionDeniedError),
    ("owner", "public", None), ("admin", "public", None), ("anon", "private", errors.NotAuthenticatedError),
    ("other", "private", errors.NotFoundError), ("owner", "private", None), ("admin", "private", None),
])
def test_write_matrix(clients, repos, who, kind, error):
    repo = repos[kind]
    before = snapshot()
    envelope(clients[who].patch(f"/repos/alice/{repo.name}", {"description": "new"}, format="json"), error,
             status=None if error else 200)
    if error:
        before.assert_unchanged()
        envelope(clients[who].delete(f"/repos/alice/{repo.name}"), error)
        envelope(clients[who].post(f"/repos/alice/{repo.name}/commits", {"content": "x"}, format="json"), error)
        before.assert_unchanged()
    else:
        assert Repository.objects.get(pk=repo.pk).description == "new"


@pytest.mark.parametrize("url", ["http://exa\u202emple.com", "https://example.com/a\u200fb", "ftp://example.com"])
def test_patch_refuses_a_url_shown_as_another_or_not_on_the_web(user_client, repos, url):
    before = snapshot()
    body = envelope(user_client.patch("/repos/alice/open", {"url": url}, format="json"),
                    errors.InvalidParametersError)
    assert list(body["error"]) == ["url"]
    before.assert_unchanged()


def test_patch_fields_and_secret(user_client, repos):
    body = envelope(user_client.patch("/repos/alice/closed", {"secret": None, "name": "renamed"}, format="json"))
    assert body["data"]["has_secret"] is False and body["data"]["name"] == "renamed"
    envelope(user_client.patch("/repos/alice/renamed", {"name": "OPEN"}, format="json"), errors.RepositoryExistsError)
    envelope(user_client.patch("/repos/alice/renamed", {}, format="json"), errors.InvalidParametersError)


def test_switching_visibility_moves_one_unit(user_client, gold, repos):
    envelope(user_client.patch("/repos/alice/open", {"visibility": "private"}, format="json"))
    assert (row(gold, QuotaKind.REPO_PUBLIC).use, row(gold, QuotaKind.REPO_PRIVATE).use) == (0, 2)
    repository_create(owner=gold, name="third")
    before = snapshot()
    body = envelope(user_client.patch("/repos/alice/third", {"visibility": "private", "description": "z"},
                                      format="json"), errors.QuotaExceededError)
    assert body["error"]["quota"] == "repo_private"
    before.assert_unchanged()
    envelope(user_client.patch("/repos/alice/closed", {"visibility": "public"}, format="json"))
    assert (row(gold, QuotaKind.REPO_PUBLIC).use, row(gold, QuotaKind.REPO_PRIVATE).use) == (2, 1)


def test_delete_gives_repository_and_storage_back(user_client, gold, repos):
    commit_create(repo=repos["private"], author=gold, content="abc", size=1000)
    commit_create(repo=repos["public"], author=gold, content="abc", size=10)
    assert row(gold, QuotaKind.DEPOSIT).use == 1010
    envelope(user_client.delete("/repos/alice/closed"))
    assert row(gold, QuotaKind.REPO_PRIVATE).use == 0 and row(gold, QuotaKind.DEPOSIT).use == 10
    assert not Repository.objects.filter(name="closed").exists() and Commit.objects.count() == 1
    envelope(user_client.delete("/repos/alice/closed"), errors.NotFoundError)


# --- commits -------------------------------------------------------------------------------------------------


def test_commit_pays_the_owners_storage(user_client, admin_client, gold, repos):
    body = envelope(user_client.post("/repos/alice/open/commits", {"message": "héllo"}, format="json"), status=201)
    assert body["data"]["size"] == 6 and body["data"]["author"] == "alice" and body["data"]["content"] == "héllo"
    envelope(admin_client.post("/repos/alice/open/commits", {"content": "x", "size": "1024"}, format="json"),
             status=201)
    assert row(gold, QuotaKind.DEPOSIT).use == 1030
    listed = envelope(user_client.get("/repos/alice/open/commits"))["data"]
    assert listed["total"] == 2 and [c["author"] for c in listed["results"]] == ["root", "alice"]


def test_commit_stops_when_storage_runs_out(user_client, gold, repos):
    Quota.objects.filter(user=gold, kind=QuotaKind.DEPOSIT).update(quota=10)
    envelope(user_client.post("/repos/alice/open/commits", {"content": "x" * 10}, format="json"), status=201)
    before = snapshot()
    body = envelope(user_client.post("/repos/alice/open/commits", {"content": "y"}, format="json"),
                    errors.QuotaExceededError)
    assert body["error"] == {"quota": "deposit", "limit": 10, "use": 10, "requested": 1,
                             "userType": TierType.GOLD, "upgrade": TierType.DIAMOND}
    before.assert_unchanged()


@pytest.mark.parametrize("body", [
    {}, {"content": "abc", "size": 2}, {"content": "abc", "size": "-1"}, {"content": "abc", "size": "1e3"},
    {"content": "abc", "size": True}, {"content": "abc", "message": "other"}, {"message": "abc", "content": "abc"},
])
def test_commit_bad_input_is_1007(user_client, repos, body):
    before = snapshot()
    envelope(user_client.post("/repos/alice/open/commits", body, format="json"), errors.InvalidParametersError)
    before.assert_unchanged()


# --- pulls ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "kind", "secret", "error"), [
    ("anon", "public", "", errors.NotAuthenticatedError), ("other", "public", "", None),
    ("owner", "public", "", None), ("admin", "public", "", None), ("other", "private", "", errors.NotFoundError),
    ("other", "private", "wrong", errors.NotFoundError), ("other", "private", "s3cret-value", None),
    ("owner", "private", "", None), ("admin", "private", "", None),
    ("anon", "private", "s3cret-value", errors.NotAuthenticatedError),
])
def test_pull_matrix(clients, repos, who, kind, secret, error):
    before = snapshot()
    body = envelope(clients[who].post(f"/repos/alice/{repos[kind].name}/pull", {"secret": secret},
                                      format="json"), error, status=None if error else 201)
    if error is None:
        assert body["data"]["pulls"]["use"] == 1 and body["data"]["repo"] == repos[kind].name
        assert Pull.objects.count() == 1
    else:
        before.assert_unchanged()


def test_the_upgrade_named_by_a_refusal_never_loses_another_quota(other_client, other, repos):
    """bob on tier 3 (10 public repositories) with his pulls cut to 3 a day by an operator: tier 1, as free
    and with more pulls, would take his repositories away, so the hint names the cheapest tier that keeps
    every limit he has and allows the pull."""
    give_tier(other, TierType.CERTIFIED)
    Quota.objects.filter(user=other, kind=QuotaKind.PULLS).update(quota=3)
    for _ in range(3):
        envelope(other_client.post("/repos/alice/open/pull"), status=201)
    body = envelope(other_client.post("/repos/alice/open/pull"), errors.QuotaExceededError)
    assert body["error"]["userType"] == TierType.CERTIFIED and body["error"]["upgrade"] == TierType.GOLD


def test_pull_spends_the_callers_daily_pulls(other_client, other, repos):
    Quota.objects.filter(user=other, kind=QuotaKind.PULLS).update(quota=2)
    for _ in range(2):
        envelope(other_client.post("/repos/alice/open/pull"), status=201)
    before = snapshot()
    body = envelope(other_client.post("/repos/alice/open/pull"), errors.QuotaExceededError)
    assert body["error"] == {"quota": "pullnum", "limit": 2, "use": 2, "requested": 1,
                             "userType": TierType.REGISTERED, "upgrade": TierType.CERTIFIED}
    before.assert_unchanged()
    assert row(repos["public"].owner, QuotaKind.PULLS).use == 0  # the owner's pulls are untouched


def test_wrong_secrets_are_throttled(other_client, repos, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        envelope(other_client.post("/repos/alice/closed/pull", {"secret": "guess"}, format="json"),
                 errors.NotFoundError)
    envelope(other_client.post("/repos/alice/closed/pull", {"secret": "s3cret-value"}, format="json"),
             errors.TooManyRequestsError)



def test_a_guess_made_while_another_is_judged_is_counted_before_it_is_judged(other_client, repos, settings,
                                                                            monkeypatch):
    """Two guesses in flight at once under a limit of one: the second, sent while the first is being hashed,
    is refused (1029) before its own hash. Checked first and counted only after, it passed the check too,
    and parallel guesses went past the limit."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 1
    judged, replies = [], []

    def judging(secret, encoded):
        judged.append(secret)
        if secret == "first":  # the second guess arrives while the first is being hashed
            replies.append(other_client.post("/repos/alice/closed/pull", {"secret": "second"}, format="json"))
        return check_password(secret, encoded)

    monkeypatch.setattr("repos.permissions.check_password", judging)
    envelope(other_client.post("/repos/alice/closed/pull", {"secret": "first"}, format="json"), errors.NotFoundError)
    envelope(replies[0], errors.TooManyRequestsError)
    assert judged == ["first"] and not Pull.objects.exists()


def test_wrong_secrets_are_throttled_per_address_across_accounts(repos, settings):
    """One client with many accounts has no more guesses than its address allows; a right secret, once
    the address is past its limit, is refused too, and pulls nothing."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 3
    guessers = [client_for(UserFactory(username=f"guesser{i}")) for i in range(4)]
    for guesser in guessers[:3]:
        envelope(guesser.post("/repos/alice/closed/pull", {"secret": "guess"}, format="json"), errors.NotFoundError)
    envelope(guessers[3].post("/repos/alice/closed/pull", {"secret": "s3cret-value"}, format="json"),
             errors.TooManyRequestsError)
    assert not Pull.objects.exists()


def test_a_right_secret_gives_its_slot_back(other_client, repos, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(3):
        envelope(other_client.post("/repos/alice/closed/pull", {"secret": "s3cret-value"}, format="json"), status=201)
    envelope(other_client.post("/repos/alice/closed/pull", {"secret": "guess"}, format="json"), errors.NotFoundError)
    assert Pull.objects.count() == 3


@pytest.mark.parametrize("name", ["closed", "no-such-repo", "open-secretless"])
def test_a_wrong_secret_answers_and_counts_alike_whether_the_repository_exists(other_client, repos, name, settings,
                                                                                monkeypatch):
    """A private repository with a secret, a name that is no repository, a repository with no secret: the
    same 404s, the same lockout, and one hash each (so the time does not tell them apart either)."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 2
    if name == "open-secretless":
        Repository.objects.filter(name="closed").update(name=name, secret_hash="")
    hashes = []
    monkeypatch.setattr("repos.permissions.make_password",
                        lambda secret: hashes.append(secret) or make_password(secret))
    monkeypatch.setattr("repos.permissions.check_password",
                        lambda secret, encoded: hashes.append(secret) or check_password(secret, encoded))
    replies = [other_client.post(f"/repos/alice/{name}/pull", {"secret": "guess"}, format="json") for _ in range(3)]
    assert [(r.status_code, r.json()["code"], r.json()["msg"]) for r in replies] == [
        (404, errors.NotFoundError.code, "No such repository.")] * 2 + [(429, errors.TooManyRequestsError.code,
                                                                         replies[2].json()["msg"])]
    assert hashes == ["guess", "guess"]  # the third was refused before any hash

# --- query counts --------------------------------------------------------------------------------------------


def test_lists_cost_the_same_queries_whatever_the_page_size(user_client, gold, django_assert_num_queries):
    Quota.objects.filter(user=gold, kind=QuotaKind.REPO_PUBLIC).update(quota=-1)
    repo = None
    for i in range(30):
        repo = repository_create(owner=gold, name=f"r{i}")
        commit_create(repo=repo, author=gold, content=f"c{i}")
    # session+user, page, count; plus the owner (?owner=) or the repository (commits) looked up by name. A page
    # that ends its list is its count: the repository's one commit takes no count. On PostgreSQL the table's
    # size estimate, which decides whether the count may be the planner's, is read once a minute in each
    # process (TableSizeEstimates): by the first request of each list here, not measured.
    for path, queries in (("/repos/?", 3), ("/repos/?owner=alice&", 4), (f"/repos/alice/{repo.name}/commits?", 3),
                          ("/commit?", 3)):
        envelope(user_client.get(f"{path}size=5"))
        for size in (1, 20):
            with django_assert_num_queries(queries):
                body = envelope(user_client.get(f"{path}size={size}"))
            assert len(body["data"]["results"]) == min(size, body["data"]["total"])


def test_8008_names_no_upgrade_when_no_tier_allows_it(user_client, user):
    """Diamond members at the top of the tier table get no upgrade to suggest."""
    give_tier(user, TierType.DIAMOND)
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PRIVATE).update(quota=0)
    body = envelope(user_client.post("/repos/", {"name": "p", "visibility": "private"}, format="json"),
                    errors.QuotaExceededError)
    assert body["error"]["userType"] == TierType.DIAMOND and "upgrade" not in body["error"]


def test_an_apps_write_only_token_commits_where_it_may_see_the_repository_by_either_path(user, gold):
    """A private repository is 404 to whoever may not read it, an app without `read` included: the seed's
    POST /commit/add answers as POST /repos/{owner}/{name}/commits does."""
    repository_create(owner=user, name="open")
    repository_create(owner=user, name="closed", visibility="private")
    write_only = app_client(user, scope="write")
    for name, error in (("open", None), ("closed", errors.NotFoundError)):
        for path, body in ((f"/repos/alice/{name}/commits", {"content": "x"}),
                           ("/commit/add", {"repo_name": name, "content": "x"})):
            envelope(write_only.post(path, body, format="json"), error, status=None if error else 201)
    assert Commit.objects.filter(repo__name="closed").count() == 0
