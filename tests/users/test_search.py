"""GET /users/ and /users/search/user: the admin's paginated search."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User, UserStatus
from accountsite import errors
from accountsite.pagination import bounded_count
from membership.models import Membership, Tier, TierType
from membership.services import membership_tier_assign
from tests.conftest import CALLER_ROLES, REFUSED_ROLES, envelope
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_search_matrix(caller_client, other, admin_user, actor):
    error = REFUSED_ROLES.get(actor) or {"anonymous": errors.NotAuthenticatedError,
                                         "self": errors.PermissionDeniedError, "other": errors.PermissionDeniedError,
                                         "admin": None}[actor]
    client = caller_client(actor)
    for path in ("/users/", "/users/search/user", "/users/search/user/"):
        body = envelope(client.get(path), error, status=None if error else 200)
        if error is None:
            assert [u["loginname"] for u in body["data"]["results"]] == ["alice", "bob", "root"]


@pytest.fixture
def people(user, other, admin_user):
    UserFactory(username="lisa", real_name="Lisa Brown", nickname="Lizzy", email="lisa@corp.example")
    UserFactory(username="liam", real_name="Liam Black", nickname="Lee", email="liam@home.example",
                status=UserStatus.FROZEN)
    UserFactory(username="li-admin", real_name="Li Staff", is_staff=True, email="ops@corp.example")


def names(body) -> list[str]:
    return [u["loginname"] for u in body["data"]["results"]]


@pytest.mark.parametrize(("query", "expected"), [
    ({"loginName": "LI"}, ["alice", "lisa", "liam", "li-admin"]),
    ({"loginName": "li", "status": "2"}, ["alice", "lisa", "li-admin"]),
    ({"loginName": "li", "role": "admin"}, ["li-admin"]),
    ({"loginName": "li", "role": "common", "status": 5}, ["liam"]),
    ({"userName": "bl"}, ["liam"]),
    ({"userName": "b", "nickName": "LIZ"}, ["lisa"]),
    ({"email": "CORP.example"}, ["lisa", "li-admin"]),
    ({"email": "corp", "role": "common"}, ["lisa"]),
    ({"userType": TierType.ADMIN}, ["root", "li-admin"]),
    ({"userType": "1", "loginName": "l"}, ["alice", "lisa", "liam"]),
    ({"loginName": "zzz"}, []),
])
def test_filters_combine(admin_client, people, query, expected):
    body = envelope(admin_client.get("/users/", query))
    assert names(body) == expected and body["data"]["total"] == len(expected)


@pytest.mark.parametrize(("query", "expected"), [
    ({"nickName": "ölaf"}, ["olaf"]), ({"nickName": "ÖLAF"}, ["olaf"]), ({"nickName": "ÉMILE"}, ["olaf"]),
    ({"userName": "ğül"}, ["olaf"]), ({"userName": "KIRMIZI"}, ["dotless"]), ({"nickName": "İstanbul"}, []),
    ({"nickName": "stra"}, ["eszett"]), ({"nickName": "STRASSE"}, []),  # no Unicode normalization
    ({"nickName": "%"}, ["pct"]), ({"userName": "a_b\\c"}, ["pct"]), ({"userName": "_"}, ["pct"]),
])
def test_substring_filters_fold_every_letter_as_postgresqls_upper(admin_client, query, expected):
    # In any case as PostgreSQL's upper() folds it, on every database: SQLite's LIKE folds ASCII letters alone.
    UserFactory(username="olaf", nickname="Ölaf Émile", real_name="Ğül")
    UserFactory(username="dotless", nickname="\u0131stanbul", real_name="k\u0131rm\u0131z\u0131")  # dotless i
    UserFactory(username="eszett", nickname="Straße")
    UserFactory(username="pct", nickname="50%off", real_name="a_b\\c")
    body = envelope(admin_client.get("/users/", query))
    assert names(body) == expected, query


def test_the_back_offices_search_box_folds_every_letter_too(operator):
    UserFactory(username="olaf", nickname="Ölaf Émile")
    response = operator.get("/admin/accounts/user/", {"q": "ölaf"})
    assert [user.username for user in response.context["cl"].result_list] == ["olaf"]


def test_user_type_filter_uses_the_tier_in_force(admin_client, user, other):
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None,
                           expires_at=timezone.now() - timedelta(days=1))
    membership_tier_assign(user=other, user_type=TierType.GOLD, actor=None,
                           expires_at=timezone.now() + timedelta(days=1))
    assert names(envelope(admin_client.get("/users/", {"userType": TierType.GOLD}))) == ["bob"]
    assert names(envelope(admin_client.get("/users/", {"userType": TierType.REGISTERED}))) == ["alice"]


def test_deleted_users_are_listed_for_admins(admin_client, user):
    UserFactory(username="gone", status=UserStatus.DELETED)
    assert names(envelope(admin_client.get("/users/", {"status": 7}))) == ["gone"]


def test_pagination_is_stable_capped_and_empty_past_the_end(admin_client):
    for n in range(25):
        UserFactory(username=f"member{n:02}")
    body = envelope(admin_client.get("/users/", {"size": "500"}))
    assert body["data"]["size"] == 100 and body["data"]["total"] == 26 and len(body["data"]["results"]) == 26
    ids = [u["id"] for u in body["data"]["results"]]
    assert ids == sorted(ids)
    page2 = envelope(admin_client.get("/users/search/user", {"page": 2, "size": 10}))["data"]
    assert [u["id"] for u in page2["results"]] == ids[10:20] and page2["page"] == 2
    past = envelope(admin_client.get("/users/", {"page": 9, "size": 10}))["data"]
    assert past["results"] == [] and past["total"] == 26


@pytest.mark.parametrize("query", [
    {"status": "9"}, {"status": "x"}, {"role": "boss"}, {"userType": "abc"}, {"userType": "0"},
    {"page": "0"}, {"size": "-1"}, {"page": "two"}, {"loginName": "x" * 65},
    {"userType": "2.5"}, {"userType": "2.0"}, {"userType": "\uff12"}, {"userType": "1_0"}, {"userType": "1e1"},
    {"userType": "99999999999999999999"}, {"userType": "32768"},
])
def test_bad_search_parameters_are_1007(admin_client, query):
    body = envelope(admin_client.get("/users/", query), errors.InvalidParametersError)
    assert body["error"]


def test_a_page_costs_the_same_queries_whatever_its_size(admin_client, django_assert_num_queries):
    for n in range(5):
        UserFactory(username=f"small{n}")
    with CaptureQueriesContext(connection) as small:
        assert len(envelope(admin_client.get("/users/", {"size": 100}))["data"]["results"]) == 6
    for n in range(45):
        UserFactory(username=f"big{n}")
    # Lapsed paid memberships read as tier 1 without a query of their own.
    Membership.objects.filter(user__username__startswith="big").update(
        tier=Tier.objects.get(user_type=TierType.GOLD), expires_at=timezone.now() - timedelta(days=1))
    # session+user and the page: a list that ends on the page it asks for is counted by it
    assert len(small) == 2
    with django_assert_num_queries(len(small)):
        results = envelope(admin_client.get("/users/", {"size": 100}))["data"]["results"]
    assert len(results) == 51
    assert {row["userType"] for row in results if row["loginname"].startswith("big")} == {TierType.REGISTERED}


def _bulk_users(cursor) -> None:
    cursor.execute(
        "INSERT INTO accounts_user (password, is_superuser, username, email, email_verified, nickname, real_name,"
        " intro, github, school, website, status, is_staff, is_developer, registered_at)"
        " SELECT '!', false, 'bulk' || n, 'bulk' || n || '@example.com', false, 'nick' || n, 'Name ' || n,"
        " '', '', '', '', 2, n % 1000 = 0, false, now() FROM generate_series(1, 20000) AS n"
    )


@pytest.mark.postgres
def test_the_admin_role_filter_uses_its_partial_index(db):
    with connection.cursor() as cursor:
        _bulk_users(cursor)
        cursor.execute("ANALYZE accounts_user")
    admins = Q(is_staff=True) | Q(is_superuser=True)  # as UserSearchFilter.filter_role writes it
    plan = User.objects.filter(admins).order_by("id")[:20].explain()
    assert "accounts_user_admin_id" in plan, plan


@pytest.mark.postgres
def test_substring_filters_use_the_trigram_indexes(db):
    # Enough rows that the planner prefers a selective index to the partial unique e-mail index; no
    # ORDER BY, which a small table would rather serve from the primary key (large ones use the trigrams).
    with connection.cursor() as cursor:
        _bulk_users(cursor)
        # Fresh rows wait in each GIN index's pending list, which makes the index look dear to the planner
        # until a vacuum merges them; merge them now (a test runs inside a transaction, so no VACUUM).
        for column in ("username", "real_name", "nickname", "email"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [f"accounts_user_{column}_trgm"])
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("SET enable_seqscan = off")
    try:
        for lookup, index in [("username__icontains", "accounts_user_username_trgm"),
                              ("real_name__icontains", "accounts_user_real_name_trgm"),
                              ("nickname__icontains", "accounts_user_nickname_trgm"),
                              ("email__icontains", "accounts_user_email_trgm")]:
            plan = User.objects.filter(**{lookup: "abc"}).order_by().explain()
            assert index in plan, plan
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = on")


def test_pages_by_key_at_any_depth(admin_client):
    for n in range(25):
        UserFactory(username=f"member{n:02}")
    every = [u["id"] for u in envelope(admin_client.get("/users/", {"size": 100}))["data"]["results"]]
    first = envelope(admin_client.get("/users/", {"size": 10}))["data"]
    assert first["page"] == 1 and first["next"] == every[9]
    seen, after = [], None
    while True:
        query = {"size": 10, "loginName": "member"} if after is None else {"size": 10, "loginName": "member",
                                                                          "after": after}
        data = envelope(admin_client.get("/users/", query))["data"]
        seen += [u["loginname"] for u in data["results"]]
        assert data["total"] == 25 and data["total_exact"]
        if data["next"] is None:
            break
        after = data["next"]
    assert seen == [f"member{n:02}" for n in range(25)]
    keyed = envelope(admin_client.get("/users/", {"after": every[4], "size": 3}))["data"]
    assert [u["id"] for u in keyed["results"]] == every[5:8] and keyed["page"] is None


@pytest.mark.parametrize("query", [{"after": "0"}, {"after": "x"}, {"after": "3", "page": "2"}])
def test_bad_keys_are_1007(admin_client, query):
    assert envelope(admin_client.get("/users/", query), errors.InvalidParametersError)["error"]["after"]


def test_counts_stop_at_the_cap(admin_client, monkeypatch):
    from accountsite.pagination import PagePagination

    for n in range(6):
        UserFactory(username=f"member{n}")
    monkeypatch.setattr(PagePagination, "count_cap", 4)
    capped = envelope(admin_client.get("/users/", {"loginName": "member", "size": 2}))["data"]
    assert capped["total"] == 4 and not capped["total_exact"] and len(capped["results"]) == 2
    exact = envelope(admin_client.get("/users/", {"loginName": "member5"}))["data"]
    assert exact["total"] == 1 and exact["total_exact"]


def test_a_count_that_is_not_exact_is_never_below_the_rows_seen(admin_client, monkeypatch):
    from accountsite.pagination import PagePagination

    for n in range(8):
        UserFactory(username=f"member{n}")
    monkeypatch.setattr(PagePagination, "count_cap", 3)
    data = envelope(admin_client.get("/users/", {"loginName": "member", "size": 2, "page": 3}))["data"]
    assert [u["loginname"] for u in data["results"]] == ["member4", "member5"]
    assert data["total"] == 7 and not data["total_exact"]  # rows 5 and 6 read, and one more follows


def test_the_last_page_has_no_next_even_when_full(admin_client):
    for n in range(4):
        UserFactory(username=f"member{n}")
    first = envelope(admin_client.get("/users/", {"loginName": "member", "size": 2}))["data"]
    last = envelope(admin_client.get("/users/", {"loginName": "member", "size": 2, "after": first["next"]}))["data"]
    assert [u["loginname"] for u in last["results"]] == ["member2", "member3"] and last["next"] is None
    assert last["total"] == 4 and last["total_exact"]


def _search_users(cursor) -> None:
    """20,000 users: 1 in 100 named maria..., the rest bulk...; 1 in 500 on the admin tier, some of it lapsed."""
    cursor.execute(
        "INSERT INTO accounts_user (password, is_superuser, username, email, email_verified, nickname, real_name,"
        " intro, github, school, website, status, is_staff, is_developer, registered_at, user_type, invalid_at,"
        " user_type_after)"
        " SELECT '!', false, CASE WHEN n % 100 = 0 THEN 'maria' ELSE 'bulk' END || n, 'bulk' || n || '@example.com',"
        " false, 'nick' || n, 'Name ' || n, '', '', '', '', 2, false, false, now(),"
        " CASE WHEN n % 500 = 0 THEN 2 ELSE 1 END, CASE WHEN n % 1000 = 0 THEN now() - interval '1 day' END,"
        " CASE WHEN n % 1000 = 0 THEN 2 ELSE 1 END FROM generate_series(1, 20000) AS n"
    )
    for column in ("username", "real_name", "nickname", "email"):
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [f"accounts_user_{column}_trgm"])
    cursor.execute("ANALYZE accounts_user")


@pytest.mark.postgres
def test_a_common_substring_pages_by_the_primary_key_and_a_rare_one_by_its_trigrams(db):
    # With the statistics of migration 0011 the planner knows 1 user in 100 matches "maria": walking the
    # primary key finds a page of them within a few thousand rows, where the trigrams would read them all.
    with connection.cursor() as cursor:
        _search_users(cursor)
    common = User.objects.filter(username__icontains="maria").order_by("id")[:21].explain()
    assert "accounts_user_pkey" in common and "trgm" not in common, common
    rare = User.objects.filter(username__icontains="maria1234").order_by("id")[:21].explain()
    assert "accounts_user_username_trgm" in rare, rare


def _tier_mix() -> None:
    """Users on the admin tier, lapsed into it, lapsed out of it, and on other tiers, their ids interleaved."""
    past, future = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    kinds = [(TierType.ADMIN, None, 1), (TierType.GOLD, past, TierType.ADMIN), (TierType.ADMIN, past, 1),
             (1, None, 1), (TierType.ADMIN, future, 1), (TierType.GOLD, None, TierType.ADMIN)]
    for n in range(30):
        user_type, invalid_at, after = kinds[n % len(kinds)]
        User.objects.filter(pk=UserFactory(username=f"tiered{n:02}").pk).update(
            user_type=user_type, invalid_at=invalid_at, user_type_after=after)


@pytest.mark.parametrize("start,end,after", [(0, 1, None), (0, 6, None), (3, 9, None), (0, 50, None),
                                             (40, 60, None), (0, 4, "third"), (2, 5, "third"), (0, 50, "last")])
def test_a_user_type_page_read_by_halves_is_the_page_of_the_whole_filter(db, start, end, after):
    from accountsite.pagination import page_rows, with_disjoint_parts

    _tier_mix()
    condition = User.with_tier(TierType.ADMIN, timezone.now())
    whole = list(User.objects.filter(condition).order_by("id").values_list("pk", flat=True))
    key = {None: None, "third": whole[2], "last": whole[-1]}[after]
    expected = [pk for pk in whole if key is None or pk > key][start:end]
    parted = with_disjoint_parts(User.objects.order_by("id"), condition)
    assert [user.pk for user in page_rows(parted, start, end, after=key)] == expected
    assert [user.pk for user in page_rows(User.objects.filter(condition).order_by("id"), start, end,
                                          after=key)] == expected
    assert len(whole) == 15  # 5 on the tier for good, 5 on it until tomorrow, 5 lapsed into it


def test_a_user_type_search_pages_through_both_halves(admin_client):
    _tier_mix()
    expected = [u.username for u in User.objects.filter(User.with_tier(TierType.ADMIN, timezone.now()))
                .order_by("id")]
    seen, query = [], {"userType": TierType.ADMIN, "size": 4}
    while True:
        data = envelope(admin_client.get("/users/", query))["data"]
        seen += [u["loginname"] for u in data["results"]]
        if data["next"] is None:
            break
        query["after"] = data["next"]
    assert seen == expected and len(expected) == 15 + 1  # and root, on the admin tier
    third = envelope(admin_client.get("/users/", {"userType": TierType.ADMIN, "size": 4, "page": 3}))["data"]
    assert [u["loginname"] for u in third["results"]] == expected[8:12] and third["total"] == len(expected)


@pytest.mark.postgres
def test_a_user_type_page_reads_each_half_from_its_index(db):
    # A page of a tier is each half's first ids, from its index alone (the tier not lapsed in id order), then
    # the page's rows by id: never a bitmap of every matching row, sorted for its first few.
    from accountsite.pagination import page_rows, with_disjoint_parts

    with connection.cursor() as cursor:
        _search_users(cursor)
    parted = with_disjoint_parts(User.objects.order_by("id"), User.with_tier(TierType.ADMIN, timezone.now()))
    with CaptureQueriesContext(connection) as captured:
        assert len(page_rows(parted, 0, 21)) == 21
    [page] = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + page["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using accounts_user_tier_id" in plan, plan
    assert "Index Only Scan using accounts_user_lapsed_id" in plan and "Bitmap" not in plan, plan


@pytest.mark.postgres
def test_a_large_filtered_list_is_counted_by_the_plans_estimate(admin_client, monkeypatch):
    from accountsite.pagination import PagePagination

    with connection.cursor() as cursor:
        _search_users(cursor)
    monkeypatch.setattr(PagePagination, "estimate_from", 10_000)
    with CaptureQueriesContext(connection) as captured:
        data = envelope(admin_client.get("/users/", {"loginName": "bulk"}))["data"]
    assert not data["total_exact"] and 15_000 < data["total"] < 25_000 and len(data["results"]) == 20
    assert not [q for q in captured if "COUNT(" in q["sql"].upper()], captured.captured_queries
    # The planner expects fewer matches than the cap: counted, exactly.
    small = envelope(admin_client.get("/users/", {"userType": TierType.ADMIN}))["data"]
    assert small["total"] == User.objects.filter(User.with_tier(TierType.ADMIN, timezone.now())).count()
    assert small["total_exact"]


@pytest.mark.postgres
def test_the_tables_estimate_is_read_once_a_minute_in_each_process(admin_client, monkeypatch):
    from accountsite.pagination import PagePagination, TableSizeEstimates

    with connection.cursor() as cursor:
        _search_users(cursor)
    monkeypatch.setattr(PagePagination, "estimate_from", 10_000)

    def estimates_read() -> int:
        with CaptureQueriesContext(connection) as captured:
            data = envelope(admin_client.get("/users/", {"loginName": "bulk"}))["data"]
        assert not data["total_exact"] and 15_000 < data["total"] < 25_000
        return len([query for query in captured if "pg_class" in query["sql"]])

    assert estimates_read() == 1
    assert estimates_read() == 0  # the same figure, from this process
    monkeypatch.setattr(TableSizeEstimates, "ttl", 0.0)  # as a minute later: the figure held is stale
    assert estimates_read() == 1


def test_a_filter_past_its_columns_range_is_counted_as_nothing_when_estimated(monkeypatch):
    # Django finds while compiling that such a number matches nothing, and EXPLAIN then has no plan to read:
    # the count of a large table (estimated on PostgreSQL) must be 0, not a 500. (The API refuses such a
    # userType before it gets here; the paginator does not count on that.)
    monkeypatch.setattr("accountsite.pagination.table_size_estimate", lambda model: 1_000_000)
    assert bounded_count(User.objects.filter(user_type=10**20), estimate_from=0, cap=1_000) == (0, "exact")


def test_a_page_that_names_no_filter_builds_no_filterset(admin_client, monkeypatch):
    from accounts.filters import UserSearchFilter

    built: list = []
    real = UserSearchFilter.__init__
    monkeypatch.setattr(UserSearchFilter, "__init__", lambda self, *args, **kwargs: built.append(kwargs)
                        or real(self, *args, **kwargs))
    envelope(admin_client.get("/users/", {"page": 1, "size": 5}))
    assert built == []
    envelope(admin_client.get("/users/", {"status": "abc"}), errors.InvalidParametersError, status=400)
    envelope(admin_client.get("/users/", {"loginName": ""}))  # named, even empty: django-filter reads it
    assert len(built) == 2


@pytest.mark.parametrize("param", ["status", "role"])
def test_a_wrong_choice_is_1007_without_echoing_it(admin_client, param):
    body = envelope(admin_client.get("/users/", {param: "zz-echo-zz"}), errors.InvalidParametersError, status=400)
    assert "zz-echo-zz" not in str(body) and param in body["error"]


@pytest.mark.postgres
def test_a_user_type_count_reads_each_half_from_its_index_alone(admin_client):
    # 40 users on the admin tier (20 of them lapsed into it), two pages: the count is one UNION ALL of the
    # halves, and each half is an index-only scan (the OR of both would visit every matching row's page).
    with connection.cursor() as cursor:
        _search_users(cursor)
    with CaptureQueriesContext(connection) as captured:
        data = envelope(admin_client.get("/users/", {"userType": TierType.ADMIN}))["data"]
    expected = User.objects.filter(User.with_tier(TierType.ADMIN, timezone.now())).count()
    assert data["total"] == expected > 20 and data["total_exact"]
    [count] = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert "UNION ALL" in count, count
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + count)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.count("Index Only Scan") == 2 and "Bitmap" not in plan, plan


def test_a_user_type_count_is_exact_over_both_halves_and_later_filters(admin_client, people):
    from accounts.filters import UserSearchFilter
    from accountsite.pagination import bounded_count

    lapsed = UserFactory(username="lapsed-admin")
    User.objects.filter(pk=lapsed.pk).update(user_type=TierType.GOLD, user_type_after=TierType.ADMIN,
                                             invalid_at=timezone.now() - timedelta(days=1))
    data = envelope(admin_client.get("/users/", {"userType": TierType.ADMIN, "size": 1}))["data"]
    assert data["total"] == 3 and data["total_exact"] and names({"data": data}) == ["root"]
    # A filter added after the halves were noted counts the whole filter, not the halves.
    tier = UserSearchFilter(data={"userType": TierType.ADMIN}, queryset=User.objects.order_by("id")).qs
    assert bounded_count(tier, estimate_from=10**9, cap=100) == (3, "exact")
    assert bounded_count(tier.filter(username__startswith="l"), estimate_from=10**9, cap=100) == (2, "exact")


def test_a_search_copies_only_the_filters_it_names(admin_client, monkeypatch):
    from accounts.filters import UserSearchFilter

    built: list = []
    real = UserSearchFilter.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **kwargs)
        built.append((set(self.filters), set(self.form.fields)))

    monkeypatch.setattr(UserSearchFilter, "__init__", init)
    envelope(admin_client.get("/users/", {"loginName": "ro", "status": 2, "page": 1}))
    envelope(admin_client.get("/users/", {"status": 2, "loginName": "al"}))
    assert built == [({"loginName", "status"}, {"loginName", "status"})] * 2


@pytest.mark.parametrize("query", ["status=2&status=7", "loginName=ali&loginName=bob", "page=1&page=2",
                                   "size=1&size=100", "after=1&after=2", "userType=1&usertype=2&userType=3"])
def test_a_parameter_given_twice_is_1007_not_the_last_value(admin_client, user, query):
    """Which of two values counts is a guess (Django reads the last, other parsers the first): a proxy, a cache
    or a log could read another search than the one run, as with a JSON key named twice."""
    name = query.split("=")[0]
    body = envelope(admin_client.get(f"/users/?{query}"), errors.InvalidParametersError)
    assert body["error"] == {name: ["Given more than once: give it once."]}
    envelope(admin_client.get("/users/search/user", {"loginName": "ali", "userName": "x"}), status=200)


def test_a_password_check_given_twice_is_1007(anon_client, user):
    from tests.factories import PASSWORD

    envelope(anon_client.get(f"/users/alice/pwd/validate?pwd=wrong-one&pwd={PASSWORD}"),
             errors.InvalidParametersError)
    envelope(anon_client.get("/users/alice/pwd/validate", {"pwd": PASSWORD}), status=200)
