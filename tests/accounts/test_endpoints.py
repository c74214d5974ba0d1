"""The /auth and /users endpoints, one by one: who may call it, and bad input that must change nothing."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.test import APIClient

from accounts.models import Session, User, UserStatus
from accounts.services import sessions, users
from accountsite import errors
from membership.models import TierType
from tests.accounts.conftest import craft_token
from tests.conftest import CALLER_ROLES, REFUSED_ROLES, app_client, bearer, client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quite-Different-secret-42"
# A caller without credentials is refused by these endpoints like one whose token has ended.
REFUSED = {"anonymous": errors.NotAuthenticatedError, **REFUSED_ROLES}


@pytest.fixture
def alice(user):
    return user


# --- Endpoints that need a signed-in caller ----------------------------------------------------------------

SIGNED_IN_ENDPOINTS = {
    "logout": ("post", "/auth/logout", {}),
    "logout_all": ("post", "/auth/logout", {"all": True}),
    "sessions": ("get", "/auth/sessions", None),
    "password": ("post", "/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
    "me": ("get", "/auth/me", None),
    "me_alias": ("get", "/auth/", None),
    "me_alias_no_slash": ("get", "/auth", None),
    "me_patch": ("patch", "/auth/me", {"nickname": "Changed"}),
    "me_alias_patch": ("patch", "/auth/", {"nickname": "Changed"}),
    "me_put": ("put", "/auth/me", {"nickname": "Changed"}),
}


def _call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize("caller", CALLER_ROLES)
@pytest.mark.parametrize("endpoint", sorted(SIGNED_IN_ENDPOINTS))
def test_signed_in_endpoint_matrix(alice, caller_client, caller, endpoint):
    client = caller_client(caller)
    method, path, body = SIGNED_IN_ENDPOINTS[endpoint]
    if caller in REFUSED:
        before = snapshot()
        envelope(_call(client, method, path, body), REFUSED[caller])
        before.assert_unchanged()
        return
    user = client.user
    envelope(_call(client, method, path, body))
    user.refresh_from_db()
    if endpoint.startswith("logout"):
        assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    elif endpoint == "password":
        assert user.check_password(NEW_PASSWORD)
    elif endpoint.endswith(("patch", "put")):
        assert user.nickname == "Changed"


@pytest.mark.parametrize("caller", CALLER_ROLES)
def test_session_revoke_matrix(alice, caller_client, caller):
    """DELETE /auth/sessions/{id} of alice's phone session: only alice may; others get 404 (not 403)."""
    phone = client_for(alice, "phone")
    phone_session = Session.objects.get(user=alice, terminal="phone")
    client = caller_client(caller)
    response = client.delete(f"/auth/sessions/{phone_session.pk}")
    phone_session.refresh_from_db()
    if caller == "self":
        envelope(response, status=200)
        assert phone_session.revoked_at is not None
        envelope(phone.get("/auth/me"), errors.NotAuthenticatedError)
        return
    if caller in REFUSED:
        envelope(response, REFUSED[caller])
    else:
        envelope(response, errors.NotFoundError)
    assert phone_session.revoked_at is None
    envelope(phone.get("/auth/me"), status=200)


@pytest.mark.parametrize("caller", CALLER_ROLES)
def test_unregister_signed_in_matrix(alice, caller_client, caller):
    client = caller_client(caller)
    before = snapshot()
    response = client.post("/auth/unregister", {"password": PASSWORD}, format="json")
    if caller == "anonymous":
        body = envelope(response, errors.InvalidParametersError)
        assert "username" in body["error"]
        before.assert_unchanged()
    elif caller in REFUSED:
        envelope(response, REFUSED[caller])
        before.assert_unchanged()
    else:
        envelope(response, status=200)
        user = User.objects.get(pk=client.user.pk)
        assert user.status == UserStatus.DELETED
        assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
        envelope(client.get("/auth/me"), errors.NotAuthenticatedError)



@pytest.mark.parametrize(("path", "body"), [
    ("/auth/unregister", {"username": "alice", "password": PASSWORD}),
    ("/auth/password", {"username": "alice", "old_password": PASSWORD, "new_password": "a-Brand-new-passw0rd"}),
    ("/auth/logout", {"username": "alice"}),
])
def test_a_signed_in_caller_naming_another_account_is_refused(alice, path, body):
    """Seed 003's `username` beside a token must be the token's own: another account's name (even with its
    password) is 7005, and neither account changes."""
    bob = client_for(UserFactory(username="bob"))
    before = snapshot()
    envelope(bob.post(path, body, format="json"), errors.NotAuthenticatedError)
    before.assert_unchanged()
    envelope(bob.post(path, {**body, "username": "BOB"}, format="json"), status=200)  # its own name, any case

# --- Endpoints that issue credentials ----------------------------------------------------------------------

ACCOUNT_STATES = {
    "active": None, "inactive": UserStatus.INACTIVE, "invalid": UserStatus.INVALID,
    "frozen": UserStatus.FROZEN, "deleted": UserStatus.DELETED,
}
# What signing in, refreshing and unregistering with a name and password answer an account in each state
# (None: success). A deleted account signs in like an unknown name.
LOGIN_BY_STATE = {"active": None, "inactive": errors.AccountNotActivatedError, "invalid": errors.AccountDisabledError,
                  "frozen": errors.AccountDisabledError, "deleted": errors.WrongPasswordError}


@pytest.mark.parametrize("state", sorted(ACCOUNT_STATES))
@pytest.mark.parametrize("path", ["/auth/login", "/login/", "/auth/login/", "/login"])
def test_login_by_account_state(state, path):
    user = UserFactory(username="carol", status=ACCOUNT_STATES[state] or UserStatus.ACTIVE)
    before = snapshot()
    error = LOGIN_BY_STATE[state]
    response = APIClient().post(path, {"username": "carol", "password": PASSWORD, "terminal": "web"}, format="json")
    if error is not None:
        # A wrong password is 401 at the sign-in doors (docs/errors.md); the other refusals keep theirs.
        envelope(response, error, status=401 if error is errors.WrongPasswordError else None)
        before.assert_unchanged()
        return
    body = envelope(response, status=200)
    data = body["data"]
    assert data["user"]["loginname"] == "carol" and data["terminal"] == "web" and data["token_type"] == "Bearer"
    assert data["expires_at"].endswith(("Z", "+00:00"))
    session = Session.objects.get(user=user, revoked_at__isnull=True)
    assert session.terminal == "web" and session.user_agent == "" and session.ip == "127.0.0.1"
    envelope(bearer(data["access"]).get("/auth/me"), status=200)


@pytest.mark.parametrize("caller", CALLER_ROLES)
def test_login_ignores_the_callers_token(alice, caller_client, caller):
    """Signing in works whatever stale or foreign token the client still sends."""
    client = caller_client(caller)
    response = client.post("/auth/login", {"login": "alice", "password": PASSWORD}, format="json")
    assert envelope(response, status=200)["data"]["user"]["loginname"] == "alice"


def test_login_by_email_and_case_insensitive_name(alice):
    for login in ({"email": "ALICE@example.com"}, {"username": "ALICE"}, {"login": "alice@example.com"}):
        envelope(APIClient().post("/auth/login", {**login, "password": PASSWORD}, format="json"), status=200)


@pytest.mark.parametrize("caller", CALLER_ROLES)
@pytest.mark.parametrize("path", ["/auth/register", "/register/", "/register", "/auth/register/"])
def test_register_matrix(alice, caller_client, caller, path):
    client = caller_client(caller)
    response = client.post(path, {"username": "newcomer", "password": PASSWORD, "email": "new@example.com",
                                  "nickname": "New", "school": "S", "terminal": "laptop"}, format="json")
    data = envelope(response, status=201)["data"]
    user = User.objects.get(username="newcomer")
    assert user.status == UserStatus.ACTIVE and user.email == "new@example.com" and user.school == "S"
    assert data["user"]["loginname"] == "newcomer" and data["terminal"] == "laptop"
    assert data["user"]["role"] == "common" and data["token_type"] == "Bearer"
    assert Session.objects.get(user=user).terminal == "laptop"
    envelope(bearer(data["access"]).get("/auth/me"), status=200)


def test_register_takes_the_older_spellings_a_sign_up_by_name_takes(anon_client, db):
    """POST /auth/register and POST /users/{loginname} open the same account: both take `passwd`, `nickName`,
    `userName` and `comments` (docs/compatibility.md), and refuse a field given under two spellings."""
    body = {"username": "seedy", "passwd": PASSWORD, "nickName": "Nick", "userName": "Real Name", "comments": "hi"}
    data = envelope(anon_client.post("/auth/register", body, format="json"), status=201)["data"]
    assert (data["user"]["nickname"], data["user"]["real_name"], data["user"]["intro"]) == ("Nick", "Real Name", "hi")
    envelope(anon_client.post("/auth/login", {"username": "seedy", "password": PASSWORD}, format="json"), status=200)
    before = snapshot()
    body = envelope(anon_client.post("/auth/register", {"username": "twice", "password": PASSWORD, "passwd": PASSWORD},
                                     format="json"), errors.InvalidParametersError)
    assert "passwd" in body["error"] or "password" in body["error"]
    before.assert_unchanged()


def test_register_with_activation_required_gives_no_tokens(settings, anon_client):
    settings.ACCOUNTS_ACTIVATION_REQUIRED = True
    data = envelope(anon_client.post("/auth/register", {"username": "pending", "password": PASSWORD,
                                                        "email": "p@example.com"}, format="json"), status=201)["data"]
    assert set(data) == {"user"} and data["user"]["status"] == UserStatus.INACTIVE
    envelope(anon_client.post("/auth/login", {"username": "pending", "password": PASSWORD}, format="json"),
             errors.AccountNotActivatedError)


REFRESH_BY_STATE = {"active": None, "inactive": errors.AccountNotActivatedError,
                    "invalid": errors.AccountDisabledError, "frozen": errors.AccountDisabledError,
                    "deleted": errors.AccountDisabledError}


@pytest.mark.parametrize("state", sorted(ACCOUNT_STATES))
def test_refresh_by_account_state(state):
    user = UserFactory(username="dave")
    client = client_for(user)
    if ACCOUNT_STATES[state]:
        User.objects.filter(pk=user.pk).update(status=ACCOUNT_STATES[state])
    before = snapshot()
    error = REFRESH_BY_STATE[state]
    response = APIClient().post("/auth/refresh", {"refresh": client.tokens.refresh}, format="json")
    if error is not None:
        envelope(response, error)
        before.assert_unchanged()
    else:
        body = envelope(response, status=200)
        assert set(body["data"]) == {"access", "refresh", "expires_at", "token_type"}


@pytest.mark.parametrize("status", [UserStatus.INACTIVE, UserStatus.INVALID, UserStatus.FROZEN,
                                    UserStatus.DELETED])
def test_status_change_through_the_service_revokes_every_token(alice, status):
    web, phone = client_for(alice, "web"), client_for(alice, "phone")
    users.user_status_set(user=alice, status=status, actor=None)
    for client in (web, phone):
        envelope(client.get("/auth/me"), errors.NotAuthenticatedError)
        envelope(APIClient().post("/auth/refresh", {"refresh": client.tokens.refresh}, format="json"),
                 errors.NotAuthenticatedError)


UNREGISTER_BY_STATE = {"active": None, "inactive": errors.AccountNotActivatedError,
                       "invalid": errors.AccountDisabledError, "frozen": errors.AccountDisabledError,
                       "deleted": errors.WrongPasswordError}


@pytest.mark.parametrize("state", sorted(ACCOUNT_STATES))
def test_unregister_by_name_and_password(state):
    user = UserFactory(username="erin")
    signed_in = client_for(user, "web")  # signed in while active; the status moves behind the session's back
    User.objects.filter(pk=user.pk).update(status=ACCOUNT_STATES[state] or UserStatus.ACTIVE)
    before = snapshot()
    error = UNREGISTER_BY_STATE[state]
    response = APIClient().post("/auth/unregister", {"username": "erin", "password": PASSWORD}, format="json")
    if error is not None:
        envelope(response, error)
        before.assert_unchanged()
        return
    envelope(response, status=200)
    user.refresh_from_db()
    assert user.status == UserStatus.DELETED
    envelope(signed_in.get("/auth/me"), errors.NotAuthenticatedError)
    # The login name stays reserved, and the account cannot sign in.
    envelope(APIClient().post("/auth/login", {"username": "erin", "password": PASSWORD}, format="json"),
             errors.WrongPasswordError, status=401)
    envelope(APIClient().post("/auth/register", {"username": "ERIN", "password": PASSWORD}, format="json"),
             errors.LoginNameTakenError)


# --- Bad input -------------------------------------------------------------------------------------------

LONG = "x" * 65
REGISTER_BAD = {
    "no username": ({"password": PASSWORD}, "username"),
    "no password": ({"username": "newname"}, "password"),
    "empty body": ({}, "username"),
    "username list": ({"username": ["a", "b"], "password": PASSWORD}, "username"),
    "username object": ({"username": {"a": 1}, "password": PASSWORD}, "username"),
    "username bool": ({"username": True, "password": PASSWORD}, "username"),
    "username null": ({"username": None, "password": PASSWORD}, "username"),
    "username too long": ({"username": "a" * 65, "password": PASSWORD}, "username"),
    "username too short": ({"username": "ab", "password": PASSWORD}, "username"),
    "username space": ({"username": "a b c", "password": PASSWORD}, "username"),
    "username slash": ({"username": "a/b/c", "password": PASSWORD}, "username"),
    "username unicode": ({"username": "名字名字", "password": PASSWORD}, "username"),
    "username nul": ({"username": "abc\x00def", "password": PASSWORD}, "username"),
    "username an address of the API": ({"username": "Tiers", "password": PASSWORD}, "username"),  # /vip/tiers
    "password short": ({"username": "newname", "password": "Sh0rt!"}, "password"),
    "password too long": ({"username": "newname", "password": "p" * 129}, "password"),
    "password common": ({"username": "newname", "password": "password123"}, "password"),
    "password numeric": ({"username": "newname", "password": "48213950271"}, "password"),
    "password like name": ({"username": "newname42", "password": "newname42"}, "password"),
    "password list": ({"username": "newname", "password": [PASSWORD]}, "password"),
    "password number": ({"username": "newname", "password": 12}, "password"),
    "email invalid": ({"username": "newname", "password": PASSWORD, "email": "not-an-email"}, "email"),
    "email too long": ({"username": "newname", "password": PASSWORD, "email": "a" * 250 + "@x.io"}, "email"),
    "terminal too long": ({"username": "newname", "password": PASSWORD, "terminal": LONG}, "terminal"),
    "nickname too long": ({"username": "newname", "password": PASSWORD, "nickname": LONG}, "nickname"),
    "nickname object": ({"username": "newname", "password": PASSWORD, "nickname": {"x": 1}}, "nickname"),
    "intro too long": ({"username": "newname", "password": PASSWORD, "intro": "i" * 513}, "intro"),
    "website scheme": ({"username": "newname", "password": PASSWORD, "website": "javascript:alert(1)"}, "website"),
    "github invalid": ({"username": "newname", "password": PASSWORD, "github": "-bad-"}, "github"),
}


@pytest.mark.parametrize("case", sorted(REGISTER_BAD))
def test_register_bad_input(alice, anon_client, case, unchanged):
    body, field = REGISTER_BAD[case]
    reply = envelope(anon_client.post("/auth/register", body, format="json"), errors.InvalidParametersError)
    assert field in reply["error"], reply
    assert reply["msg"]
    unchanged()


@pytest.mark.parametrize("raw", ["[]", "null", '"text"', "42", "[{\"username\": \"x\"}]"])
@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh", "/auth/unregister"])
def test_sign_in_endpoints_refuse_non_object_bodies(alice, anon_client, raw, path, unchanged):
    envelope(anon_client.post(path, raw, content_type="application/json"), errors.InvalidParametersError)
    unchanged()


@pytest.mark.parametrize(("body", "error"), [
    ({"username": "ALICE", "password": PASSWORD}, errors.LoginNameTakenError),
    ({"username": "alice2", "password": PASSWORD, "email": "Alice@Example.com"}, errors.EmailTakenError),
])
def test_register_taken(alice, anon_client, body, error, unchanged):
    envelope(anon_client.post("/auth/register", body, format="json"), error)
    unchanged()


def test_register_accepts_limits_exactly(anon_client):
    name, password = "n" * 64, "Long-" + "p" * 123
    data = envelope(anon_client.post("/auth/register", {"username": name, "password": password, "email": ""},
                                     format="json"), status=201)["data"]
    assert data["user"]["email"] is None
    envelope(anon_client.post("/auth/login", {"username": name, "password": password}, format="json"), status=200)
    # Never truncated: a 127-character prefix is a different password.
    envelope(anon_client.post("/auth/login", {"username": name, "password": password[:-1]}, format="json"),
             errors.WrongPasswordError, status=401)


LOGIN_BAD = {
    "no password": ({"username": "alice"}, "password"),
    "no login": ({"password": PASSWORD}, "username"),
    "blank login": ({"username": "", "password": PASSWORD}, "username"),
    "login list": ({"username": ["alice"], "password": PASSWORD}, "username"),
    "password object": ({"username": "alice", "password": {"p": 1}}, "password"),
    "password too long": ({"username": "alice", "password": "p" * 129}, "password"),
    "login too long": ({"login": "a" * 255, "password": PASSWORD}, "login"),
    "terminal too long": ({"username": "alice", "password": PASSWORD, "terminal": LONG}, "terminal"),
    "terminal list": ({"username": "alice", "password": PASSWORD, "terminal": ["a"]}, "terminal"),
}


@pytest.mark.parametrize("case", sorted(LOGIN_BAD))
@pytest.mark.parametrize("path", ["/auth/login", "/login/"])
def test_login_bad_input(alice, anon_client, case, path, unchanged):
    body, field = LOGIN_BAD[case]
    reply = envelope(anon_client.post(path, body, format="json"), errors.InvalidParametersError)
    assert field in reply["error"], reply
    unchanged()


@pytest.mark.parametrize("login", [{"username": "alice"}, {"username": "nobody-here"}, {"email": "x@example.com"}])
def test_login_wrong_credentials(alice, anon_client, login, unchanged):
    body = envelope(anon_client.post("/auth/login", {**login, "password": "wrong-Password-1"}, format="json"),
                    errors.WrongPasswordError, status=401)
    assert "error" not in body
    unchanged()


def _refresh_cases(user) -> dict:
    session, pair = sessions.session_start(user=user, terminal="web", ip="127.0.0.1", user_agent="t")
    claims = {"uid": user.pk, "sid": str(session.pk)}
    return {
        "garbage": "not.a.token",
        "random text": "hello",
        "access token": pair.access,
        "wrong key": craft_token(token_type="refresh", key="another-signing-key-" + "k" * 40, **claims),
        "expired": craft_token(token_type="refresh", lifetime=timedelta(seconds=-5), **claims),
        "unknown session": craft_token(token_type="refresh", uid=user.pk, sid="00000000-0000-4000-8000-000000000000"),
        "other user's uid": craft_token(token_type="refresh", uid=user.pk + 999, sid=str(session.pk)),
        "tampered": pair.refresh[:-3] + ("AAA" if not pair.refresh.endswith("AAA") else "BBB"),
        "one padding character": pair.refresh + "=",
        "alg none": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + pair.refresh.split(".")[1] + ".",
        "number": 12345,
        "no session id": craft_token(token_type="refresh", uid=user.pk),
        "malformed session id": craft_token(token_type="refresh", uid=user.pk, sid="x" * 36),
    }


@pytest.mark.parametrize("case", ["garbage", "random text", "access token", "wrong key", "expired",
                                  "unknown session", "other user's uid", "tampered", "one padding character",
                                  "alg none", "number", "no session id", "malformed session id"])
def test_refresh_bad_tokens(alice, anon_client, case):
    raw = _refresh_cases(alice)[case]
    before = snapshot()
    envelope(anon_client.post("/auth/refresh", {"refresh": raw}, format="json"), errors.NotAuthenticatedError)
    before.assert_unchanged()


@pytest.mark.parametrize(("body", "field"), [({}, "refresh"), ({"refresh": ""}, "refresh"),
                                             ({"refresh": ["x"]}, "refresh"), ({"refresh": "x" * 4097}, "refresh")])
def test_refresh_bad_input(alice, anon_client, body, field, unchanged):
    reply = envelope(anon_client.post("/auth/refresh", body, format="json"), errors.InvalidParametersError)
    assert field in reply["error"]
    unchanged()


def _access_cases(user) -> dict:
    session, pair = sessions.session_start(user=user, terminal="web", ip="127.0.0.1", user_agent="t")
    claims = {"uid": user.pk, "sid": str(session.pk)}
    return {
        "garbage": "Bearer not.a.token",
        "random": "Bearer hello",
        "empty bearer": "Bearer ",
        "refresh as access": f"Bearer {pair.refresh}",
        "wrong key": f"Bearer {craft_token(key='another-signing-key-' + 'k' * 40, **claims)}",
        "expired": f"Bearer {craft_token(lifetime=timedelta(seconds=-5), **claims)}",
        "other uid": f"Bearer {craft_token(uid=user.pk + 999, sid=str(session.pk))}",
        "unknown session": f"Bearer {craft_token(uid=user.pk, sid='00000000-0000-4000-8000-000000000000')}",
        "alg none": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + pair.access.split(".")[1] + ".",
        "basic scheme": "Basic YWxpY2U6cGFzc3dvcmQ=",
        "no session id": f"Bearer {craft_token(uid=user.pk)}",
        "malformed session id": f"Bearer {craft_token(uid=user.pk, sid='not-a-uuid')}",
        "session id list": f"Bearer {craft_token(uid=user.pk, sid=[str(session.pk)])}",
        "user id as text": f"Bearer {craft_token(uid=str(user.pk), sid=str(session.pk))}",
        "junk in signature": f"Bearer {pair.access}!!",
        "padded signature": f"Bearer {pair.access}====",
        "one padding character": f"Bearer {pair.access}=",
        "no token id": f"Bearer {_signed(token_type='access', exp=_in_ten_minutes(), **claims)}",
        "not valid yet": f"Bearer {craft_token(nbf=_in_ten_minutes(), **claims)}",
        "expiry as text": f"Bearer {_signed(token_type='access', jti='x', exp=str(_in_ten_minutes()), **claims)}",
        "non-ascii": f"Bearer {pair.access[:-2]}é1",
    }


def _in_ten_minutes() -> int:
    return int((timezone.now() + timedelta(minutes=10)).timestamp())


def _signed(**payload) -> str:
    """A token signed with the server's key whose claims are exactly these (craft_token adds some)."""
    return jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


ACCESS_CASES = ["garbage", "random", "empty bearer", "refresh as access", "wrong key", "expired", "other uid",
                "unknown session", "alg none", "basic scheme", "no session id", "malformed session id",
                "session id list", "user id as text", "junk in signature", "padded signature",
                "one padding character", "no token id", "not valid yet", "expiry as text", "non-ascii"]


@pytest.mark.parametrize("case", ACCESS_CASES)
@pytest.mark.parametrize("endpoint", ["me", "me_patch", "logout_all", "password", "sessions"])
def test_signed_in_endpoints_refuse_bad_tokens(alice, case, endpoint):
    header = _access_cases(alice)[case]
    before = snapshot()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    method, path, body = SIGNED_IN_ENDPOINTS[endpoint]
    envelope(_call(client, method, path, body), errors.NotAuthenticatedError)
    before.assert_unchanged()


def test_expired_token_from_the_servers_own_lifetime(alice, monkeypatch):
    """Tokens minted by the server itself with a lifetime already over. simplejwt copies
    SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] into the token class at import, so the class attribute is set."""
    from rest_framework_simplejwt.tokens import AccessToken

    monkeypatch.setattr(AccessToken, "lifetime", timedelta(seconds=-1))
    client = client_for(alice)
    monkeypatch.undo()
    envelope(client.get("/auth/me"), errors.NotAuthenticatedError)
    # The refresh token is still good and gives a working access token.
    access = envelope(APIClient().post("/auth/refresh", {"refresh": client.tokens.refresh}, format="json"))
    envelope(bearer(access["data"]["access"]).get("/auth/me"), status=200)


OLD_HEADER_FORMS = {"Token": lambda raw: {"HTTP_AUTHORIZATION": f"Token {raw}"},
                    "token-header": lambda raw: {"HTTP_TOKEN": raw},
                    "bearer-lowercase": lambda raw: {"HTTP_AUTHORIZATION": f"bearer {raw}"}}


def sending(raw: str, header: str) -> APIClient:
    """A client sending the access token `raw` in one of the old clients' header forms."""
    client = APIClient()
    client.credentials(**OLD_HEADER_FORMS[header](raw))
    return client


@pytest.mark.parametrize("header", OLD_HEADER_FORMS)
def test_old_clients_token_headers(alice, header):
    _session, pair = sessions.session_start(user=alice, terminal="old", ip="127.0.0.1", user_agent="t")
    envelope(sending(pair.access, header).get("/auth/me"), status=200)


@pytest.mark.parametrize("header", OLD_HEADER_FORMS)
def test_old_clients_token_headers_carry_an_apps_token_too(alice, header):
    """CONTRACT section 2: the old forms are the API's, whatever the token; an app's stays within its scopes
    and is refused once revoked, in every form."""
    reader = app_client(alice, "read")
    client = sending(reader.raw_token, header)
    assert envelope(client.get("/auth/me"))["data"]["username"] == "alice"
    envelope(client.patch("/auth/me", {"nickname": "Changed"}, format="json"), errors.PermissionDeniedError)
    AccessToken.objects.filter(token=reader.raw_token).delete()
    envelope(client.get("/auth/me"), errors.NotAuthenticatedError)


@pytest.mark.parametrize("body", [{"all": "maybe"}, {"all": [True]}, {"all": {"x": 1}}])
def test_logout_bad_input(user_client, body, unchanged):
    reply = envelope(user_client.post("/auth/logout", body, format="json"), errors.InvalidParametersError)
    assert "all" in reply["error"]
    unchanged()
    envelope(user_client.get("/auth/me"), status=200)


@pytest.mark.parametrize("body", [{"all": 1}, {"all": "1"}, {"all": "True"}, {"all": "yes"}, {"all": "on"},
                                  {"all": 0}])
def test_logout_all_takes_json_booleans_only(user_client, body, unchanged):
    reply = envelope(user_client.post("/auth/logout", body, format="json"), errors.InvalidParametersError)
    assert reply["error"] == {"all": ["Must be true or false."]}
    unchanged()


@pytest.mark.parametrize("value", [True, "true"])  # "true": what a form-encoded body can carry
def test_logout_all_accepts_a_boolean(alice, value):
    web, phone = client_for(alice, "web"), client_for(alice, "phone")
    assert envelope(web.post("/auth/logout", {"all": value}, format="json"))["data"]["revoked"] == 2
    envelope(phone.get("/auth/me"), errors.NotAuthenticatedError)


@pytest.mark.parametrize("target", ["unknown", "revoked", "other user's", "not a uuid"])
def test_session_revoke_bad_ids(alice, user_client, target):
    if target == "unknown":
        path = "/auth/sessions/00000000-0000-4000-8000-000000000000"
    elif target == "revoked":
        old = client_for(alice, "tablet")
        client_for(alice, "tablet")  # replaces the first tablet session
        path = f"/auth/sessions/{Session.objects.get(user=alice, terminal='tablet', revoked_at__isnull=False).pk}"
        envelope(old.get("/auth/me"), errors.NotAuthenticatedError)
    elif target == "other user's":
        bob = client_for(UserFactory(username="bob"))
        path = f"/auth/sessions/{Session.objects.get(user=bob.user).pk}"
    else:
        path = "/auth/sessions/12345"
    before = snapshot()
    envelope(user_client.delete(path), errors.NotFoundError)
    before.assert_unchanged()


PASSWORD_BAD = {
    "no new": ({"old_password": PASSWORD}, "new_password"),
    "no old": ({"new_password": NEW_PASSWORD}, "old_password"),
    "new short": ({"old_password": PASSWORD, "new_password": "Sh0rt!"}, "new_password"),
    "new too long": ({"old_password": PASSWORD, "new_password": "p" * 129}, "new_password"),
    "new common": ({"old_password": PASSWORD, "new_password": "password123"}, "new_password"),
    "new numeric": ({"old_password": PASSWORD, "new_password": "48213950271"}, "new_password"),
    "new like name": ({"old_password": PASSWORD, "new_password": "alice@example.com"}, "new_password"),
    "new list": ({"old_password": PASSWORD, "new_password": [NEW_PASSWORD]}, "new_password"),
    "old object": ({"old_password": {"a": 1}, "new_password": NEW_PASSWORD}, "old_password"),
}


@pytest.mark.parametrize("case", sorted(PASSWORD_BAD))
def test_password_bad_input(user_client, case, unchanged):
    body, field = PASSWORD_BAD[case]
    reply = envelope(user_client.post("/auth/password", body, format="json"), errors.InvalidParametersError)
    assert field in reply["error"], reply
    unchanged()
    envelope(user_client.get("/auth/me"), status=200)


@pytest.mark.parametrize("spelling", [("old_password", "new_password"), ("oldPassword", "newPassword"),
                                      ("old-password", "new-password")])
def test_password_field_spellings(user_client, alice, spelling):
    old, new = spelling
    envelope(user_client.post("/auth/password", {old: PASSWORD, new: NEW_PASSWORD}, format="json"), status=200)
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_password_wrong_old_is_8004_400(user_client, unchanged):
    reply = envelope(user_client.post("/auth/password", {"old_password": "wrong-Password-9",
                                                         "new_password": NEW_PASSWORD}, format="json"),
                     errors.WrongPasswordError)
    assert "password" not in reply.get("error", {})
    unchanged()


UNREGISTER_BAD = {
    "no password": ({"username": "alice"}, errors.InvalidParametersError),
    "wrong password": ({"username": "alice", "password": "wrong-Password-9"}, errors.WrongPasswordError),
    "unknown name": ({"username": "nobody-here", "password": PASSWORD}, errors.WrongPasswordError),
    "password list": ({"username": "alice", "password": [PASSWORD]}, errors.InvalidParametersError),
    "username object": ({"username": {"a": 1}, "password": PASSWORD}, errors.InvalidParametersError),
    "username too long": ({"username": "a" * 255, "password": PASSWORD}, errors.InvalidParametersError),
    "empty": ({}, errors.InvalidParametersError),
}


@pytest.mark.parametrize("case", sorted(UNREGISTER_BAD))
def test_unregister_bad_input(alice, anon_client, case, unchanged):
    body, error = UNREGISTER_BAD[case]
    envelope(anon_client.post("/auth/unregister", body, format="json"), error)
    unchanged()


def test_unregister_signed_in_wrong_password(user_client, unchanged):
    envelope(user_client.post("/auth/unregister", {"password": "wrong-Password-9"}, format="json"),
             errors.WrongPasswordError)
    unchanged()
    envelope(user_client.get("/auth/me"), status=200)


ME_FORBIDDEN = ["role", "status", "password", "username", "is_staff", "email_verified", "id", "userType"]


@pytest.mark.parametrize("field", ME_FORBIDDEN)
@pytest.mark.parametrize("path", ["/auth/me", "/auth/"])
def test_me_update_refuses_fields_the_user_may_not_set(user_client, field, path, unchanged):
    reply = envelope(user_client.patch(path, {"nickname": "Sneaky", field: "admin"}, format="json"),
                     errors.PermissionDeniedError)
    assert field in reply["error"]["fields"]
    unchanged()


ME_BAD = {
    "nickname too long": {"nickname": LONG},
    "nickname list": {"nickname": ["a"]},
    "nickname null": {"nickname": None},
    "intro too long": {"intro": "i" * 513},
    "comment too long": {"comment": "i" * 513},
    "website scheme": {"website": "ftp://example.com"},
    "website text": {"website": "not a url"},
    "github invalid": {"github": "a--b"},
    "github too long": {"github": "g" * 40},
    "school object": {"school": {"a": 1}},
    "developer not a boolean": {"is_developer": "perhaps"},
}


@pytest.mark.parametrize("case", sorted(ME_BAD))
def test_me_update_bad_input(user_client, case, unchanged):
    envelope(user_client.patch("/auth/me", ME_BAD[case], format="json"), errors.InvalidParametersError)
    unchanged()


def test_me_update_profile_fields(user_client, alice):
    body = envelope(user_client.patch("/auth/me", {"nickname": 42, "comment": "hello", "github": "@octo-cat",
                                                   "website": "https://example.org", "school": "",
                                                   "real_name": "Alice A."}, format="json"))["data"]
    assert body["nickname"] == "42" and body["intro"] == "hello" and body["comment"] == "hello"
    assert body["github"] == "octo-cat"
    alice.refresh_from_db()
    assert (alice.nickname, alice.intro, alice.github, alice.website, alice.real_name) == (
        "42", "hello", "octo-cat", "https://example.org", "Alice A.")


def test_me_shows_the_full_own_record(user_client):
    data = envelope(user_client.get("/auth/"))["data"]
    for field in ("id", "loginname", "email", "nickname", "role", "status", "userType", "registered_at",
                  "is_developer", "last_login"):
        assert field in data
    assert data["role"] == "common" and data["status"] == 2 and data["registered_at"].endswith(("Z", "+00:00"))


def test_admin_role_shows_in_me(admin_client):
    assert envelope(admin_client.get("/auth/me"))["data"]["role"] == "admin"


def test_register_refuses_privileged_fields(anon_client):
    privileged = {"role": "admin", "is_staff": True, "is_superuser": True, "status": 2, "userType": TierType.DIAMOND,
                  "is_developer": True, "email_verified": True}
    body = {"username": "climber", "password": PASSWORD, "email": "c@example.com", **privileged}
    data = envelope(anon_client.post("/auth/register", body, format="json"), errors.InvalidParametersError)
    assert set(data["error"]) == set(privileged)
    assert not User.objects.filter(username="climber").exists()


@pytest.mark.parametrize("status", [UserStatus.INACTIVE, UserStatus.FROZEN, UserStatus.INVALID])
def test_wrong_password_for_a_disabled_account_reveals_nothing(status):
    UserFactory(username="carol", status=status)
    before = snapshot()
    unknown = APIClient().post("/auth/login", {"username": "nobody-x", "password": "wrong-Passw0rd"}, format="json")
    response = APIClient().post("/auth/login", {"username": "carol", "password": "wrong-Passw0rd"}, format="json")
    envelope(response, errors.WrongPasswordError, status=401)
    assert response.content == unknown.content
    before.assert_unchanged()


def test_session_revoke_accepts_a_trailing_slash(alice, user_client):
    phone = client_for(alice, "phone")
    session = Session.objects.get(user=alice, terminal="phone")
    envelope(user_client.delete(f"/auth/sessions/{session.pk}/"), status=200)
    envelope(phone.get("/auth/me"), errors.NotAuthenticatedError)


def _instants(value, found):
    """Every string in a reply that reads as an ISO 8601 datetime."""
    if isinstance(value, dict):
        for item in value.values():
            _instants(item, found)
    elif isinstance(value, list):
        for item in value:
            _instants(item, found)
    elif isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        found.append(value)
    return found


def test_replies_write_instants_in_utc_whatever_the_time_zone(settings, admin_user):
    """TIME_ZONE sets the local calendar only (the pull day, a membership's years): replies wrote
    `+08:00` times beside `Z` ones, and the contract asks for UTC."""
    settings.TIME_ZONE = "Asia/Shanghai"
    UserFactory(username="zoned", password=PASSWORD)
    anon = APIClient()
    signed_in = envelope(anon.post("/auth/login", {"username": "zoned", "password": PASSWORD}, format="json"))
    client = client_for(User.objects.get(username="zoned"))
    admin = client_for(admin_user)
    granted = envelope(admin.put("/users/zoned", {"userType": TierType.GOLD,
                                                  "invalid_at": "2030-01-01T08:00:00+08:00"}, format="json"))
    assert granted["data"]["invalid_at"] == "2030-01-01T00:00:00Z"
    replies = [signed_in, granted, envelope(client.get("/auth/me")), envelope(client.get("/auth/sessions")),
               envelope(client.post("/repos/", {"name": "zoned-repo"}, format="json")),
               envelope(client.get("/vip/zoned")), envelope(admin.get("/users/zoned"))]
    written = _instants(replies, [])
    assert len(written) >= 8 and all(text.endswith("Z") for text in written), written
