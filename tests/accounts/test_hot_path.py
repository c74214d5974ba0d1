"""The authenticated hot path (issue 12): what a signed-in GET and a login cost in queries, and the
hand-written readers and replies on it giving exactly what the ORM and DRF's fields give."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from accounts import selectors, tokens
from accounts.models import AuditEvent, Session
from accounts.serializers import SessionSerializer, UserSerializer
from accounts.services.sessions import session_start
from accountsite.errors import NotAuthenticatedError
from tests.accounts.test_sessions import login
from tests.conftest import envelope
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def signed_in_client(terminal: str = "web") -> Client:
    # Django's plain test client: the APIClient of these tests scans replies with a query of its own.
    return Client(HTTP_AUTHORIZATION=f"Bearer {login(terminal)['access']}")


def test_get_auth_me_costs_one_query(user, django_assert_num_queries):
    client = signed_in_client()
    with django_assert_num_queries(1):  # the session joined with its user, the tier fields included
        data = envelope(client.get("/auth/me"))["data"]
    assert data["loginname"] == "alice" and data["developer"] is None


def test_a_developer_pays_one_more_query_for_their_apps(user, django_assert_num_queries):
    user.is_developer = True
    user.save(update_fields=["is_developer"])
    client = signed_in_client()
    with django_assert_num_queries(2):
        data = envelope(client.get("/auth/me"))["data"]
    assert data["developer"]["apps"] == 0


def test_a_login_costs_four_statements_on_postgresql_and_five_elsewhere(user, django_assert_num_queries, settings):
    settings.ACCOUNTS_RATELIMIT_STORE = "cache"  # as with Redis; without it the counters are statements too
    login("web")  # a live session on the terminal: this login replaces it
    body = {"username": "alice", "password": PASSWORD, "terminal": "web"}
    # The user by login name with their second factors; the user row locked, checked and its last_login set
    # in one UPDATE; the old session ended, answering its device (the same: no new-device query); the audit
    # row and the new session (one statement on PostgreSQL). The test's transaction adds a savepoint pair.
    writes = ["WITH"] if connection.vendor == "postgresql" else ["INSERT", "INSERT"]
    with django_assert_num_queries(len(writes) + 5) as captured:
        envelope(Client().post("/auth/login", body, content_type="application/json"))
    statements = [query["sql"].split()[0] for query in captured.captured_queries]
    assert statements == ["SELECT", "SAVEPOINT", "UPDATE", "UPDATE", *writes, "RELEASE"]
    session = Session.objects.get(user=user, terminal="web", revoked_at__isnull=True)
    event = AuditEvent.objects.filter(user=user, action="session.login").latest("id")
    assert event.data["terminal"] == "web" and event.created_at >= session.created_at


@pytest.mark.parametrize("before", ["another device", "beyond the retention", "no session"])
def test_the_new_device_question_goes_to_the_audit_rows_unless_the_replaced_session_answers_it(
        user, settings, before):
    settings.ACCOUNTS_RATELIMIT_STORE = "cache"
    login("web")
    if before == "another device":
        Session.objects.filter(user=user, terminal="web").update(ip="10.9.8.7")
    elif before == "beyond the retention":
        Session.objects.filter(user=user, terminal="web").update(
            created_at=timezone.now() - timedelta(days=settings.ACCOUNTS_SECURITY_LOG_DAYS + 1))
    else:
        Session.objects.filter(user=user, terminal="web").delete()
    body = {"username": "alice", "password": PASSWORD, "terminal": "web"}
    with CaptureQueriesContext(connection) as captured:
        envelope(Client().post("/auth/login", body, content_type="application/json"))
    assert "EXISTS" in captured.captured_queries[4]["sql"]  # the audit rows asked


def test_live_session_reads_the_session_and_its_user_as_the_orm_does(user):
    login("web")
    stored = Session.objects.select_related("user").get(user=user, terminal="web")
    read = selectors.live_session(str(stored.pk))
    assert read is not None
    fields = [field.attname for field in Session._meta.concrete_fields]
    assert [getattr(read, name) for name in fields] == [getattr(stored, name) for name in fields]
    user_fields = [field.attname for field in type(user)._meta.concrete_fields]
    assert [getattr(read.user, name) for name in user_fields] == [getattr(stored.user, name) for name in user_fields]
    assert not read._state.adding and read.user.pk == user.pk
    # Datetimes come back aware, at the offset the ORM gives them (psycopg's loader reads them, not Django's).
    moments = [(getattr(got, name), getattr(orm, name)) for got, orm, names in
               ((read, stored, fields), (read.user, stored.user, user_fields)) for name in names
               if isinstance(getattr(orm, name), datetime)]
    assert len(moments) >= 5
    assert all(got.isoformat() == orm.isoformat() and got.utcoffset() == orm.utcoffset() for got, orm in moments)


@pytest.mark.parametrize("ended", ["revoked", "expired", "unknown", "not a uuid"])
def test_live_session_is_none_for_an_ended_or_unknown_session(user, ended):
    login("web")
    session = Session.objects.get(user=user, terminal="web")
    session_id = str(session.pk)
    if ended == "revoked":
        Session.objects.filter(pk=session.pk).update(revoked_at=timezone.now())
    elif ended == "expired":
        Session.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif ended == "unknown":
        session_id = str(uuid.uuid4())
    else:
        session_id = "garbage"
    assert selectors.live_session(session_id) is None


def declared(serializer_class, instance, **kwargs):
    """What DRF's fields of the serializer give, without its hand-written to_representation."""
    serializer = serializer_class(instance, **kwargs)
    return serializers.ModelSerializer.to_representation(serializer, instance)


def test_user_reply_is_what_its_declared_fields_give(user):
    login("web")  # a last_login
    now = timezone.now()
    users = type(user).objects
    paid = UserFactory(username="payer", email=None, intro="hi ü", is_staff=True, website="https://example.com")
    lapsed = UserFactory(username="lapsed")
    # The tier fields as membership pushes them (accounts.plans): one in force, one lapsed.
    users.filter(pk=paid.pk).update(user_type=4, invalid_at=now + timedelta(days=3), user_type_after=1)
    users.filter(pk=lapsed.pk).update(user_type=4, invalid_at=now - timedelta(days=1), user_type_after=2)
    paid, lapsed = users.get(pk=paid.pk), users.get(pk=lapsed.pk)
    for instance in (users.get(pk=user.pk), paid, lapsed):
        assert UserSerializer(instance).data == declared(UserSerializer, instance)
    assert UserSerializer(lapsed).data["userType"] == 2 and UserSerializer(lapsed).data["invalid_at"] is None


def test_session_reply_is_what_its_declared_fields_give(user, settings):
    settings.TIME_ZONE = "Asia/Shanghai"  # the local calendar only: replies write UTC
    login("web")
    session = Session.objects.get(user=user, terminal="web")
    context = {"current_session_id": session.pk}
    reply = SessionSerializer(session, context=context).data
    assert reply == declared(SessionSerializer, session, context=context)
    assert reply["created_at"].endswith("Z") and reply["current"] is True


def test_a_list_never_reads_the_current_time_zone_and_writes_every_item_in_utc(user, monkeypatch):
    # Reading the zone (an asgiref Local) cost as much as writing the datetime: a page of users read it three
    # times a user. Replies are written in UTC, so nothing reads it.
    login("web")
    UserFactory.create_batch(4)
    reads: list = []
    real = timezone.get_current_timezone
    monkeypatch.setattr(timezone, "get_current_timezone", lambda: reads.append(1) or real())
    users = list(type(user).objects.order_by("pk"))
    with timezone.override("Asia/Shanghai"):
        page = UserSerializer(users, many=True).data
        sessions = SessionSerializer(list(Session.objects.all()), many=True).data
    assert reads == []
    assert all(item["registered_at"].endswith("Z") for item in page) and page[0]["last_login"].endswith("Z")
    assert sessions and all(item["created_at"].endswith("Z") for item in sessions)


def test_browser_middleware_runs_for_browser_pages_only(user):
    api = signed_in_client().get("/auth/me")
    assert not hasattr(api.wsgi_request, "session") and not hasattr(api.wsgi_request, "_messages")
    page = Client().get("/admin/login/")
    assert page.status_code == 200 and hasattr(page.wsgi_request, "session")
    assert page.wsgi_request.user.is_anonymous and "csrftoken" in page.cookies


# --- GET /auth/me without DRF's dispatch (accountsite.fastpath) ------------------------------------------------

@pytest.fixture
def drf_dispatches(monkeypatch) -> list:
    """Records each request that reached DRF's dispatch (the fast path answers the others itself)."""
    from rest_framework.views import APIView

    seen: list = []
    real = APIView.dispatch

    def dispatch(view, request, *args, **kwargs):
        seen.append(request.path)
        return real(view, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "dispatch", dispatch)
    return seen


def _reply(response) -> tuple:
    return response.status_code, dict(response.headers.items()), response.content


def _through_drf_only(client: Client, settings, *args, **kwargs):
    """The same request answered by MeViewSet as DRF alone routes it (tests/accounts/drf_me_urls.py)."""
    urlconf = settings.ROOT_URLCONF
    settings.ROOT_URLCONF = "tests.accounts.drf_me_urls"
    try:
        return client.generic(*args, **kwargs)
    finally:
        settings.ROOT_URLCONF = urlconf


@pytest.mark.parametrize("accept", ["", "*/*", "application/json", "text/html, application/json, */*"])
def test_fast_profile_reply_is_drfs_byte_for_byte(user, settings, drf_dispatches, accept):
    user.is_developer = True
    user.intro = "ü \u2028 <b>"
    user.save(update_fields=["is_developer", "intro"])
    client = signed_in_client()
    drf_dispatches.clear()
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    fast = client.get("/auth/me", **headers)
    assert drf_dispatches == []  # answered without DRF
    slow = _through_drf_only(client, settings, "GET", "/auth/me", **headers)
    assert drf_dispatches == ["/auth/me"]
    assert _reply(fast) == _reply(slow)
    assert fast["Allow"] == "GET, PUT, PATCH, HEAD, OPTIONS" and b"\\u2028" in fast.content


@pytest.mark.parametrize("case", ["no token", "bad signature", "revoked", "app token", "query string",
                                  "accept xml", "accept with indent", "put", "database error"])
def test_anything_but_the_plain_case_is_left_to_the_view(user, settings, drf_dispatches, monkeypatch, case):
    from django.db import OperationalError

    from accounts.oauth import applications
    from tests.conftest import app_client

    client = signed_in_client()
    token = client.defaults["HTTP_AUTHORIZATION"]
    path, headers, method = "/auth/me", {}, "GET"
    if case == "no token":
        client = Client()
    elif case == "bad signature":
        client = Client(HTTP_AUTHORIZATION=token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    elif case == "revoked":
        Session.objects.filter(user=user).update(revoked_at=timezone.now())
    elif case == "app token":
        client = Client(HTTP_AUTHORIZATION=f"Bearer {app_client(user, scope='read').raw_token}")
    elif case == "query string":
        path = "/auth/me?format=json"
    elif case == "accept xml":
        headers = {"HTTP_ACCEPT": "application/xml"}
    elif case == "accept with indent":
        headers = {"HTTP_ACCEPT": "application/json; indent=4"}
    elif case == "database error":  # after authentication: the view's error flow answers it (1001, 503)

        def down(user):
            raise OperationalError("database is locked")  # SQLite's way of being unavailable, too

        monkeypatch.setattr(applications, "developer_summary", down)
    else:
        method = "PUT"
    drf_dispatches.clear()
    answered = client.generic(method, path, **headers)
    assert drf_dispatches == [path.split("?")[0]]  # the view answered
    if case == "database error":
        assert answered.status_code == 503 and answered.json()["code"] == 1001
    assert _reply(answered) == _reply(_through_drf_only(client, settings, method, path, **headers))


@pytest.mark.postgres
def test_the_session_query_is_prepared_once_per_connection(user):
    from django.db import connection

    login("web")
    session_id = str(Session.objects.get(user=user, terminal="web").pk)
    for _ in range(6):  # psycopg prepares a statement at its fifth run on a connection
        assert selectors.live_session(session_id) is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) == 1 and "accounts_session" in prepared[0]  # only the statement asked for


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM", "al%", "al_ce", "",
                                   "bob", "nobody", "Ünïcode", "deleted"])
def test_the_compiled_login_lookup_finds_what_the_orm_finds(user, login):
    from accounts.models import TotpDevice, UserStatus

    type(user).objects.filter(pk=user.pk).update(email="alice@example.com")
    UserFactory(username="bob", email="ALICE@example.org")
    UserFactory(username="ünïcode")
    UserFactory(username="deleted", status=UserStatus.DELETED)
    TotpDevice.objects.create(user=user, secret_encrypted="x", confirmed_at=timezone.now())
    compiled = selectors._login_candidates(login)
    built = list(selectors._login_candidates.build(login))
    assert [(u.pk, u.factor_totp, u.factor_passkey, u.factor_recovery) for u in compiled] == \
        [(u.pk, u.factor_totp, u.factor_passkey, u.factor_recovery) for u in built]
    fields = [field.attname for field in type(user)._meta.concrete_fields]
    assert [[getattr(u, name) for name in fields] for u in compiled] == \
        [[getattr(u, name) for name in fields] for u in built]


@pytest.mark.postgres
def test_a_compiled_query_refuses_a_lookup_that_rewrites_its_value(db):
    from accounts.models import User
    from accountsite.db import CompiledQuery

    contains = CompiledQuery(lambda value: User.objects.filter(username__contains=value))  # escaped for LIKE
    with pytest.raises(ValueError, match="unchanged"):
        contains("x")


def test_insert_together_writes_each_row_as_save_does(user):
    from accountsite.audit import audit_event
    from accountsite.db import insert_together

    session = Session(user=user, terminal="together", ip="10.1.2.3", user_agent="ua", created_at=timezone.now(),
                      last_seen_at=timezone.now(), expires_at=timezone.now() + timedelta(days=1))
    event = audit_event(action="session.login", user=user, actor=user, ip="10.1.2.3", note="ü")
    insert_together(event, session)
    stored = Session.objects.get(pk=session.pk)
    assert (stored.terminal, stored.ip, stored.user_id) == ("together", "10.1.2.3", user.pk)
    assert not session._state.adding
    row = AuditEvent.objects.get(user=user, data__note="ü")
    assert (row.ip, row.actor_id) == ("10.1.2.3", user.pk)


# --- The verified claims kept per worker (accounts.tokens._signed_claims) -------------------------------------

def test_a_kept_token_still_expires(user, monkeypatch):
    _session, pair = session_start(user=user, terminal="web", ip="127.0.0.1", user_agent="t")
    claims = tokens.decode_access(pair.access)  # verified and kept
    later = claims["exp"] + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(NotAuthenticatedError):
        tokens.decode_access(pair.access)


def test_a_kept_token_is_refused_once_the_signing_key_changes(user, settings):
    _session, pair = session_start(user=user, terminal="web", ip="127.0.0.1", user_agent="t")
    tokens.decode_access(pair.access)
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "another-signing-key-" + "k" * 40}
    with pytest.raises(NotAuthenticatedError):
        tokens.decode_access(pair.access)


def test_a_refused_token_is_never_kept_and_the_kept_claims_are_handed_out_as_copies(user):
    _session, pair = session_start(user=user, terminal="web", ip="127.0.0.1", user_agent="t")
    tokens._signed_claims.cache_clear()
    for forged in ("not.a.token", pair.access[:-2] + "xx", pair.refresh, "e30.e30.e30"):
        with pytest.raises(NotAuthenticatedError):
            tokens.decode_access(forged)
    assert tokens._signed_claims.cache_info().currsize == 0
    tokens.decode_access(pair.access)["sid"] = "changed"
    assert tokens.decode_access(pair.access)["sid"] == str(_session.pk)
    assert tokens._signed_claims.cache_info().currsize == 1


@pytest.mark.postgres
def test_datetimes_are_read_in_c_as_the_instants_django_wrote(user, settings):
    """accountsite.postgresql reads timestamptz with psycopg's C loader: aware datetimes equal to what was
    written, in UTC as Django reads them whatever TIME_ZONE says, through every kind of cursor the ORM and the
    hot paths use."""
    import psycopg
    from psycopg.postgres import types
    from psycopg.pq import Format

    from accountsite.db import prepared_cursor

    settings.TIME_ZONE = "Asia/Shanghai"  # the current zone, for replies; the database's stays UTC
    written = datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=timezone.get_fixed_timezone(300))
    type(user).objects.filter(pk=user.pk).update(last_login=written)
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    assert loader is psycopg.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)  # psycopg's, not Django's
    by_orm = type(user).objects.get(pk=user.pk).last_login
    by_server_side_cursor = next(type(user).objects.filter(pk=user.pk).values_list("last_login", flat=True)
                                 .iterator(chunk_size=1))
    with prepared_cursor("default") as cursor:
        cursor.execute("SELECT last_login FROM accounts_user WHERE id = %s", [user.pk])
        by_prepared_cursor = cursor.fetchone()[0]
    for read in (by_orm, by_server_side_cursor, by_prepared_cursor):
        assert read == written and read.utcoffset() == timedelta(0)
