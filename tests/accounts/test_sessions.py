"""Sessions per terminal: replacement, rotation, replay detection, logout, password change, one-query auth."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import SessionTokenAuthentication
from accounts.models import Session, User, UserStatus
from accounts.services import passwords
from accounts.services.sessions import session_start
from accountsite import errors
from tests.conftest import bearer, envelope
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quite-Different-secret-42"


def login(terminal: str, password: str = PASSWORD, **extra) -> dict:
    reply = APIClient().post("/auth/login", {"username": "alice", "password": password, "terminal": terminal},
                             format="json", **extra)
    return envelope(reply, status=200)["data"]


def refresh(raw: str, error: type[errors.ServiceError] | None = None) -> dict:
    reply = APIClient().post("/auth/refresh", {"refresh": raw}, format="json")
    return envelope(reply, error, status=None if error else 200)["data"]


def test_terminals_are_independent_and_relogin_replaces_only_that_terminal(user):
    a1, b = login("A"), login("B")
    a2 = login("A")
    envelope(bearer(a1["access"]).get("/auth/me"), errors.NotAuthenticatedError)
    refresh(a1["refresh"], errors.NotAuthenticatedError)
    envelope(bearer(a2["access"]).get("/auth/me"), status=200)
    envelope(bearer(b["access"]).get("/auth/me"), status=200)
    live = Session.objects.filter(user=user, revoked_at__isnull=True)
    assert sorted(live.values_list("terminal", flat=True)) == ["A", "B"]
    assert Session.objects.get(user=user, terminal="A", revoked_at__isnull=False).revoke_reason == "replaced"


def test_default_terminal(user):
    data = login("default")
    assert data["terminal"] == "default"
    data = envelope(APIClient().post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json"))
    assert data["data"]["terminal"] == "default"
    envelope(bearer(data["data"]["access"]).get("/auth/me"), status=200)


def test_session_records_ip_and_user_agent(user):
    login("web", HTTP_USER_AGENT="Mozilla/5.0 test", REMOTE_ADDR="203.0.113.9")
    session = Session.objects.get(user=user, terminal="web")
    assert (session.ip, session.user_agent) == ("203.0.113.9", "Mozilla/5.0 test")


def test_refresh_rotates_and_replay_revokes_the_whole_session(user):
    first = login("web")
    other = login("phone")
    second = refresh(first["refresh"])
    assert second["refresh"] != first["refresh"] and second["access"] != first["access"]
    envelope(bearer(second["access"]).get("/auth/me"), status=200)
    third = refresh(second["refresh"])
    # Replaying an already-rotated refresh token: refused, and the session ends.
    refresh(first["refresh"], errors.NotAuthenticatedError)
    session = Session.objects.get(user=user, terminal="web")
    assert session.revoked_at is not None and session.revoke_reason == "refresh_reuse"
    envelope(bearer(third["access"]).get("/auth/me"), errors.NotAuthenticatedError)
    refresh(third["refresh"], errors.NotAuthenticatedError)
    # Other terminals are untouched.
    envelope(bearer(other["access"]).get("/auth/me"), status=200)


def test_logout_one_session(user):
    web, phone = login("web"), login("phone")
    assert envelope(bearer(web["access"]).post("/auth/logout", {}, format="json"))["data"] == {"revoked": 1}
    envelope(bearer(web["access"]).get("/auth/me"), errors.NotAuthenticatedError)
    refresh(web["refresh"], errors.NotAuthenticatedError)
    envelope(bearer(phone["access"]).get("/auth/me"), status=200)
    refresh(phone["refresh"])


def test_logout_all_kills_every_session(user):
    sessions = [login(terminal) for terminal in ("web", "phone", "tablet")]
    assert envelope(bearer(sessions[0]["access"]).post("/auth/logout", {"all": True}, format="json"))["data"] == {
        "revoked": 3}
    for data in sessions:
        envelope(bearer(data["access"]).get("/auth/me"), errors.NotAuthenticatedError)
        refresh(data["refresh"], errors.NotAuthenticatedError)
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_password_change_keeps_only_the_current_session_with_new_tokens(user):
    web, phone = login("web"), login("phone")
    reply = envelope(bearer(web["access"]).post(
        "/auth/password", {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json"))["data"]
    assert set(reply) == {"access", "refresh", "expires_at", "token_type"}
    # Tokens issued before the change are refused, even the current terminal's access token.
    for old in (web, phone):
        envelope(bearer(old["access"]).get("/auth/me"), errors.NotAuthenticatedError)
    refresh(phone["refresh"], errors.NotAuthenticatedError)
    # The current session goes on with the new tokens, and they rotate as usual.
    envelope(bearer(reply["access"]).get("/auth/me"), status=200)
    rotated = refresh(reply["refresh"])
    envelope(bearer(rotated["access"]).get("/auth/me"), status=200)
    assert list(Session.objects.filter(user=user, revoked_at__isnull=True).values_list("terminal", flat=True)) == [
        "web"]
    # The current terminal's pre-change refresh token was rotated away: using it is a replay, which is
    # refused and ends that session too.
    refresh(web["refresh"], errors.NotAuthenticatedError)
    envelope(bearer(rotated["access"]).get("/auth/me"), errors.NotAuthenticatedError)
    # The old password no longer signs in; the new one does.
    envelope(APIClient().post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json"),
             errors.WrongPasswordError, status=401)
    login("laptop", NEW_PASSWORD)


def test_sessions_list_marks_the_current_one(user):
    web, _phone = login("web", HTTP_USER_AGENT="browser"), login("phone")
    login("gone")
    envelope(bearer(login("gone")["access"]).post("/auth/logout", {}, format="json"))
    data = envelope(bearer(web["access"]).get("/auth/sessions"))["data"]
    assert sorted(item["terminal"] for item in data) == ["phone", "web"]
    current = [item for item in data if item["current"]]
    assert [item["terminal"] for item in current] == ["web"]
    assert current[0]["user_agent"] == "browser" and current[0]["ip"] == "127.0.0.1"
    for item in data:
        assert set(item) == {"id", "terminal", "created_at", "last_seen_at", "ip", "user_agent", "current"}
    # Revoking the phone from the web terminal ends the phone's tokens.
    phone_id = next(item["id"] for item in data if item["terminal"] == "phone")
    envelope(bearer(web["access"]).delete(f"/auth/sessions/{phone_id}"))
    assert [item["terminal"] for item in envelope(bearer(web["access"]).get("/auth/sessions"))["data"]] == ["web"]


def test_sessions_list_shows_only_the_callers(user, other):
    data = login("web")
    APIClient().post("/auth/login", {"username": "bob", "password": PASSWORD}, format="json")
    assert [item["terminal"] for item in envelope(bearer(data["access"]).get("/auth/sessions"))["data"]] == ["web"]


def test_authentication_costs_exactly_one_query(user, django_assert_num_queries):
    data = login("web")
    request = APIRequestFactory().get("/auth/me", HTTP_AUTHORIZATION=f"Bearer {data['access']}")
    with django_assert_num_queries(1):
        authenticated_user, credentials = SessionTokenAuthentication().authenticate(request)
    assert authenticated_user == user and credentials.session.terminal == "web"


def test_authenticated_request_costs_one_query_plus_its_own_work(user, django_assert_num_queries):
    data = login("web")
    # Django's plain test client: the APIClient of these tests scans replies with a query of its own.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {data['access']}")
    # GET /auth/sessions: one query to authenticate, one for the list itself.
    with django_assert_num_queries(2):
        envelope(client.get("/auth/sessions"))


def test_reply_shapes_and_token_lifetimes(user, settings):
    before = timezone.now()
    data = login("web")
    assert set(data) == {"user", "access", "refresh", "expires_at", "token_type", "terminal"}
    expires_at = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires_at - before <= settings.ACCESS_TOKEN_LIFETIME + timedelta(seconds=5)
    session = Session.objects.get(user=user, terminal="web")
    assert timedelta(days=13) < session.expires_at - before <= settings.REFRESH_TOKEN_LIFETIME + timedelta(seconds=5)
    rotated = refresh(data["refresh"])
    assert set(rotated) == {"access", "refresh", "expires_at", "token_type"}


def test_an_expired_session_refuses_both_tokens(user):
    data = login("web")
    Session.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    envelope(bearer(data["access"]).get("/auth/me"), errors.NotAuthenticatedError)
    refresh(data["refresh"], errors.NotAuthenticatedError)
    envelope(bearer(login("web")["access"]).get("/auth/me"), status=200)


def test_last_seen_is_written_at_most_every_touch_interval(user, settings):
    data = login("web")
    long_ago = timezone.now() - timedelta(seconds=settings.ACCOUNTS_SESSION_TOUCH_SECONDS + 5)
    recently = timezone.now() - timedelta(seconds=settings.ACCOUNTS_SESSION_TOUCH_SECONDS - 60)
    Session.objects.filter(user=user).update(last_seen_at=recently)
    envelope(bearer(data["access"]).get("/auth/me"))
    assert Session.objects.get(user=user).last_seen_at == recently
    Session.objects.filter(user=user).update(last_seen_at=long_ago)
    envelope(bearer(data["access"]).get("/auth/me"))
    assert Session.objects.get(user=user).last_seen_at > recently


def test_long_user_agent_is_cut_and_odd_addresses_are_not_stored(user, settings):
    settings.ACCOUNTS_TRUSTED_PROXIES = 1
    login("web", HTTP_USER_AGENT="U" * 1000, HTTP_X_FORWARDED_FOR="not-an-ip")
    session = Session.objects.get(user=user, terminal="web")
    assert session.user_agent == "U" * 256 and session.ip is None


def test_the_token_pair_is_byte_for_byte_what_simplejwt_issues(user, monkeypatch):
    """token_pair_for signs both tokens in one pass; for the same instant and ids, the tokens equal those
    simplejwt's RefreshToken and its access_token produce (what token_pair_for used before)."""
    import uuid

    from rest_framework_simplejwt import tokens as simplejwt_tokens

    from accounts import tokens

    session = Session.objects.create(user=user, terminal="pair", expires_at=timezone.now() + timedelta(days=1))
    instant = datetime.now(UTC)
    monkeypatch.setattr(tokens, "_now", lambda: instant)
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: instant)
    ids = iter([uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=1), uuid.UUID(int=2)])
    monkeypatch.setattr(tokens.uuid, "uuid4", lambda: next(ids))
    monkeypatch.setattr(simplejwt_tokens, "uuid4", lambda: next(ids))

    ours = tokens.token_pair_for(session)
    refresh = simplejwt_tokens.RefreshToken()
    refresh["uid"], refresh["sid"] = session.user_id, str(session.id)
    refresh["iat_us"] = int(refresh.current_time.timestamp() * 1_000_000)
    access = refresh.access_token
    assert (ours.access, ours.refresh, ours.refresh_jti) == (str(access), str(refresh), refresh["jti"])
    assert ours.expires_at == datetime.fromtimestamp(access["exp"], tz=UTC)
    assert ours.refresh_expires_at == datetime.fromtimestamp(refresh["exp"], tz=UTC)
    assert tokens.decode_access(ours.access)["sid"] == tokens.decode_refresh(ours.refresh)["sid"] == str(session.id)


def test_a_sign_in_checked_before_a_password_or_status_change_is_refused(user):
    """session_start's one UPDATE matches only the credentials and status that were checked."""
    checked = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now())
    with pytest.raises(errors.WrongPasswordError):
        session_start(user=checked, terminal="t", ip="127.0.0.1", user_agent="")
    checked = User.objects.get(pk=user.pk)  # with its password change time, not NULL
    User.objects.filter(pk=user.pk).update(status=UserStatus.FROZEN)
    with pytest.raises(errors.AccountDisabledError):
        session_start(user=checked, terminal="t", ip="127.0.0.1", user_agent="")
    User.objects.filter(pk=user.pk).update(status=UserStatus.ACTIVE)
    session_start(user=checked, terminal="t", ip="127.0.0.1", user_agent="")
    assert User.objects.get(pk=user.pk).last_login is not None
    assert Session.objects.filter(user=user, terminal="t").count() == 1


def test_a_sign_in_whose_hash_another_sign_in_upgraded_meanwhile_goes_on(user):
    """Two sign-ins of an account with an older hash check the password at once, and both upgrade it: the
    second finds another hash of the same password (its change time has not moved), which is no reason to
    refuse it. A real change of the password meanwhile still is."""
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    checked = User.objects.get(pk=user.pk)
    assert checked.check_password(PASSWORD)  # upgrades the hash, as the first sign-in does
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD))  # the other sign-in's upgrade
    session_start(user=checked, terminal="t", ip="127.0.0.1", user_agent="")
    assert Session.objects.filter(user=user, terminal="t").count() == 1
    checked = User.objects.get(pk=user.pk)
    passwords.password_set(user=User.objects.get(pk=user.pk), password="another-Long-passw0rd", actor=user,
                           reason=passwords.RevokeReason.PASSWORD_CHANGE)
    with pytest.raises(errors.WrongPasswordError):
        session_start(user=checked, terminal="t2", ip="127.0.0.1", user_agent="")
