"""The standard authorization-code + PKCE flow (DOT endpoints under /oauth/) and its security cases."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from accounts.models import AuditEvent, Session, UserStatus
from accounts.services import passwords, sessions, users
from accountsite import errors
from tests.conftest import bearer, envelope
from tests.oauth.conftest import CALLBACK, authorize, code_for, exchange, pkce_pair, query_of, tokens_for

pytestmark = pytest.mark.django_db


def test_code_flow_gives_tokens_an_id_token_and_userinfo(browser_client, app, issued, user):
    verifier, challenge = pkce_pair()
    reply = authorize(browser_client, app, challenge=challenge)
    assert reply.status_code == 302
    params = query_of(reply["Location"])
    assert reply["Location"].startswith(CALLBACK + "?")
    assert params["state"] == "st4te" and params["code"]
    assert params["iss"].endswith("/oauth")  # RFC 9207

    tokens = exchange(params["code"], verifier, app, issued.client_secret).json()
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"] and tokens["id_token"]
    assert set(tokens["scope"].split()) == {"openid", "profile", "email", "read", "write"}

    info = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert info["sub"] == str(user.pk)
    assert info["preferred_username"] == "alice" and info["email"] == "alice@example.com"
    assert info["email_verified"] is False and info["nickname"] == "Alice"

    # The ID token verifies against the published JWKS, and names the user and the client.
    discovery = Client().get("/.well-known/openid-configuration").json()
    assert discovery["token_endpoint"].endswith("/oauth/token/")
    keys = Client().get("/oauth/.well-known/jwks.json").json()
    key = jwk.JWK(**keys["keys"][0])
    claims = json.loads(jwt.JWT(jwt=tokens["id_token"], key=key, algs=["RS256"]).claims)
    assert claims["sub"] == str(user.pk) and claims["aud"] == app.client_id
    assert claims["iss"] == discovery["issuer"]


def test_a_configured_issuer_is_named_whatever_host_the_request_came_to(browser_client, app, issued, settings):
    """With two names for the service, ID tokens and discovery must still agree on one issuer (OIDC
    Discovery 3, RFC 9207): OIDC_ISSUER fixes it instead of the request's Host."""
    issuer = "https://accounts.example.com/oauth"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver", "other.example"]
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": issuer}
    for host in ("testserver", "other.example"):
        assert Client(HTTP_HOST=host).get("/.well-known/openid-configuration").json()["issuer"] == issuer
        assert Client(HTTP_HOST=host).get("/oauth/.well-known/oauth-authorization-server").json()["issuer"] == issuer
    verifier, challenge = pkce_pair()
    reply = authorize(browser_client, app, challenge=challenge)
    assert query_of(reply["Location"])["iss"] == issuer
    tokens = exchange(query_of(reply["Location"])["code"], verifier, app, issued.client_secret).json()
    key = jwk.JWK(**Client().get("/oauth/.well-known/jwks.json").json()["keys"][0])
    assert json.loads(jwt.JWT(jwt=tokens["id_token"], key=key, algs=["RS256"]).claims)["iss"] == issuer


def test_userinfo_releases_claims_per_scope(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret, scope="openid")
    info = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert set(info) == {"sub"}


def test_refresh_token_rotates_and_expires(browser_client, app, issued, settings):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    refresh = {"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": issued.client_secret}
    fresh = Client().post("/oauth/token/", {**refresh, "refresh_token": tokens["refresh_token"]})
    assert fresh.status_code == 200 and fresh.json()["refresh_token"] != tokens["refresh_token"]
    # Refresh tokens expire REFRESH_TOKEN_EXPIRE_SECONDS after their access token did (DOT's sliding rule).
    lifetime = settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=lifetime + 1))
    stale = Client().post("/oauth/token/", {**refresh, "refresh_token": fresh.json()["refresh_token"]})
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/cb",            # host
    "http://app.example/cb",              # scheme
    "https://app.example/cb/other",       # path
    "https://app.example/cb?next=/evil",  # extra query
    "https://app.example/cb#frag",        # fragment
    "https://app.example.evil.example/cb",
])
def test_unregistered_or_altered_redirect_uri_is_refused_without_redirecting(browser_client, app, redirect_uri):
    _verifier, challenge = pkce_pair()
    page = browser_client.get("/oauth/authorize/", {
        "response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri, "scope": "openid",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert page.status_code == 400 and "Location" not in page
    assert b"mismatch" in page.content.lower() or b"invalid" in page.content.lower()
    assert not Grant.objects.exists()


@pytest.mark.parametrize("signed_in", [True, False])
@pytest.mark.parametrize("pkce", [
    {}, {"code_challenge": "x" * 43}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
    {"code_challenge": "x" * 43, "code_challenge_method": "s256"},
], ids=["missing", "no_method", "plain", "lowercase"])
def test_pkce_s256_is_required_at_the_authorization_request_before_any_page(browser_client, app, signed_in, pkce):
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "scope": "openid",
              "state": "st4te", **pkce}
    reply = (browser_client if signed_in else Client()).get("/oauth/authorize/", params)
    assert reply.status_code == 302 and reply["Location"].startswith(CALLBACK + "?")  # not a page
    answer = query_of(reply["Location"])
    assert answer["error"] == "invalid_request" and answer["state"] == "st4te"
    assert not Grant.objects.exists()



@pytest.mark.parametrize("tampered", [
    {"client_id": "no-such-client"},
    {"nonce": "n" * 256},
    {"code_challenge": "c" * 200},
    {"code_challenge": "a\u00e9" * 30},
    {"code_challenge": ""},
    {"code_challenge_method": "plain"},
    {"response_type": "token"},
    {"response_type": "code id_token"},
], ids=["unknown_client", "long_nonce", "long_challenge", "bad_challenge", "no_challenge", "plain", "implicit",
        "hybrid"])
def test_the_consent_post_is_checked_as_the_get_was(browser_client, app, tampered):
    """The page's hidden fields come back from the browser: what the GET refuses is refused on the page
    (400, nothing sent to a redirect URI not checked yet), never a 500, never a code."""
    _verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "scope": "openid",
              "state": "st4te", "code_challenge": challenge, "code_challenge_method": "S256", "nonce": "n0nce"}
    assert browser_client.get("/oauth/authorize/", params).status_code == 200
    reply = browser_client.post("/oauth/authorize/", {**params, **tampered, "allow": "Authorize"})
    assert reply.status_code == 400 and "Location" not in reply
    assert not Grant.objects.exists()
    done = browser_client.post("/oauth/authorize/", {**params, "allow": "Authorize"})  # the untouched form
    assert done.status_code == 302 and "code" in query_of(done["Location"])


@pytest.mark.parametrize("mode", ["fragment", "form_post", ""])
def test_only_the_query_response_mode_is_served(browser_client, app, mode):
    """Discovery announces `query` alone: another mode is an error sent back in the query, not honoured."""
    _verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "scope": "openid",
              "state": "st4te", "code_challenge": challenge, "code_challenge_method": "S256", "response_mode": mode}
    reply = browser_client.get("/oauth/authorize/", params)
    assert reply.status_code == 302 and reply["Location"].startswith(CALLBACK + "?") and "#" not in reply["Location"]
    assert query_of(reply["Location"])["error"] == "invalid_request"
    params["response_mode"] = "query"
    assert browser_client.get("/oauth/authorize/", params).status_code == 200

def test_implicit_response_type_is_refused(browser_client, app):
    reply = browser_client.get("/oauth/authorize/", {"response_type": "token", "client_id": app.client_id,
                                                     "redirect_uri": CALLBACK, "scope": "read"})
    assert reply.status_code == 302
    assert query_of(reply["Location"])["error"] in ("unsupported_response_type", "unauthorized_client")
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("grant_type", [Application.GRANT_IMPLICIT, Application.GRANT_PASSWORD,
                                        Application.GRANT_CLIENT_CREDENTIALS])
def test_apps_of_other_grant_types_cannot_use_the_code_flow(browser_client, developer, grant_type):
    other = Application.objects.create(user=developer, name="legacy", redirect_uris=CALLBACK,
                                       client_type=Application.CLIENT_CONFIDENTIAL,
                                       authorization_grant_type=grant_type, client_secret="s" * 40)
    _verifier, challenge = pkce_pair()
    reply = browser_client.get("/oauth/authorize/", {
        "response_type": "code", "client_id": other.client_id, "redirect_uri": CALLBACK, "scope": "read",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert reply.status_code == 302
    assert query_of(reply["Location"])["error"] == "unauthorized_client"
    password = Client().post("/oauth/token/", {"grant_type": "password", "username": "alice",
                                               "password": "x", "client_id": other.client_id,
                                               "client_secret": "s" * 40})
    assert password.status_code in (400, 401) and not AccessToken.objects.exists()


def test_denial_lands_with_access_denied(browser_client, app):
    _verifier, challenge = pkce_pair()
    reply = authorize(browser_client, app, challenge=challenge, allow=False)
    assert reply.status_code == 302 and query_of(reply["Location"])["error"] == "access_denied"
    assert not Grant.objects.exists()
    assert not AuditEvent.objects.filter(action="oauth.authorize").exists()


def test_consent_is_in_the_users_security_log(browser_client, app, user):
    _verifier, challenge = pkce_pair()
    assert authorize(browser_client, app, challenge=challenge).status_code == 302
    event = AuditEvent.objects.get(action="oauth.authorize")
    assert event.user == event.actor == user
    assert event.data["client_id"] == app.client_id and "read" in event.data["scopes"].split()


def test_code_is_single_use(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    assert exchange(code, verifier, app, issued.client_secret).status_code == 200
    again = exchange(code, verifier, app, issued.client_secret)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # the replay ends what the first use issued (tests/oauth/test_conformance.py has the details)
    assert not AccessToken.objects.exists() and not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_code_older_than_60_seconds_is_refused(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    grant = Grant.objects.get(code=code)
    assert grant.expires - grant.created <= timedelta(seconds=61)
    Grant.objects.filter(pk=grant.pk).update(expires=timezone.now() - timedelta(seconds=1))
    reply = exchange(code, verifier, app, issued.client_secret)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(("verifier", "error"), [
    (None, "invalid_request"),                 # missing
    ("w" * 64, "invalid_grant"),               # wrong
])
def test_missing_or_wrong_pkce_verifier_is_refused(browser_client, app, issued, verifier, error):
    code, _right = code_for(browser_client, app)
    reply = exchange(code, verifier, app, issued.client_secret)
    assert reply.status_code == 400 and reply.json()["error"] == error
    assert not AccessToken.objects.exists()


def test_wrong_client_secret_or_redirect_uri_at_the_token_endpoint(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    wrong_secret = exchange(code, verifier, app, "not-the-secret")
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    wrong_uri = exchange(code, verifier, app, issued.client_secret, redirect_uri="https://app.example/other")
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] in ("invalid_request", "invalid_grant")
    assert not AccessToken.objects.exists()


def test_client_secret_is_stored_hashed(app, issued):
    app.refresh_from_db()
    assert app.client_secret != issued.client_secret and app.client_secret.startswith(("md5$", "argon2"))


def test_revoke_and_introspect(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    auth = {"client_id": app.client_id, "client_secret": issued.client_secret}
    active = Client().post("/oauth/introspect/", {**auth, "token": tokens["access_token"]})
    assert active.status_code == 200 and active.json()["active"] is True
    assert Client().post("/oauth/revoke_token/", {**auth, "token": tokens["access_token"]}).status_code == 200
    gone = Client().post("/oauth/introspect/", {**auth, "token": tokens["access_token"]})
    assert gone.json()["active"] is False
    envelope(bearer(tokens["access_token"]).get("/auth/me"), errors.NotAuthenticatedError)


# --- OAuth tokens on our API -----------------------------------------------------------------------------

@pytest.mark.parametrize(("scope", "method", "error"), [
    ("read", "get", None),
    ("read", "patch", errors.PermissionDeniedError),
    ("write", "get", errors.PermissionDeniedError),
    ("read write", "patch", None),
    ("openid profile", "get", errors.PermissionDeniedError),
])
def test_oauth_token_on_the_api_is_limited_by_scope(browser_client, app, issued, user, scope, method, error):
    tokens = tokens_for(browser_client, app, issued.client_secret, scope=scope)
    client = bearer(tokens["access_token"])
    reply = client.get("/auth/me") if method == "get" else client.patch("/auth/me", {"nickname": "Changed"},
                                                                         format="json")
    body = envelope(reply, error)
    user.refresh_from_db()
    assert user.nickname == ("Changed" if error is None and method == "patch" else "Alice")
    if error is None and method == "get":
        assert body["data"]["username"] == "alice"


def test_app_management_needs_the_users_own_session(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    envelope(bearer(tokens["access_token"]).get("/developer/apps/"), errors.PermissionDeniedError)


def test_an_apps_token_cannot_turn_on_developer_mode(browser_client, app, issued, user):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    envelope(bearer(tokens["access_token"]).patch("/auth/me", {"is_developer": True}, format="json"),
             errors.PermissionDeniedError)
    user.refresh_from_db()
    assert not user.is_developer and not Application.objects.filter(user=user).exists()


def test_unknown_opaque_token_is_7005(db):
    envelope(bearer("not-a-real-token").get("/auth/me"), errors.NotAuthenticatedError)


@pytest.mark.parametrize("revoke", [
    lambda user: users.user_delete(user=user, actor=None),
    lambda user: users.user_status_set(user=user, status=UserStatus.FROZEN, actor=None),
    lambda user: sessions.logout(user=user, session=None, everywhere=True),
    lambda user: passwords.password_set(user=user, password="An0ther-long-passphrase", actor=user, reason="change"),
], ids=["deleted", "frozen", "logout_all", "password_change"])
def test_revocation_events_end_oauth_tokens_and_grants(browser_client, app, issued, user, revoke):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    pending_code, verifier = code_for(browser_client, app)
    revoke(user)
    assert not AccessToken.objects.filter(user=user).exists()
    assert not Grant.objects.filter(user=user).exists()
    envelope(bearer(tokens["access_token"]).get("/auth/me"), errors.NotAuthenticatedError)
    assert Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
    refresh = Client().post("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                              "client_id": app.client_id, "client_secret": issued.client_secret})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert exchange(pending_code, verifier, app, issued.client_secret).status_code == 400


def test_token_of_a_frozen_user_made_before_revocation_existed_is_refused(browser_client, app, issued, user):
    # Status changed behind the services' back (e.g. a raw SQL fix): the auth class still checks it.
    tokens = tokens_for(browser_client, app, issued.client_secret)
    type(user).objects.filter(pk=user.pk).update(status=UserStatus.FROZEN)
    envelope(bearer(tokens["access_token"]).get("/auth/me"), errors.AccountDisabledError)


def test_deleting_the_app_revokes_its_tokens(browser_client, app, issued, developer):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    from tests.conftest import client_for

    envelope(client_for(developer).delete(f"/developer/apps/{app.pk}"), status=200)
    assert not AccessToken.objects.exists() and not RefreshToken.objects.exists()
    envelope(bearer(tokens["access_token"]).get("/auth/me"), errors.NotAuthenticatedError)


def test_logout_with_an_apps_token_ends_only_that_token(browser_client, app, issued, user):
    from tests.conftest import client_for

    own_session = client_for(user, terminal="laptop")
    tokens = tokens_for(browser_client, app, issued.client_secret)
    other_app_token = tokens_for(browser_client, app, issued.client_secret)
    body = envelope(bearer(tokens["access_token"]).post("/auth/logout", {}, format="json"), status=200)
    assert body["data"] == {"revoked": 1}
    envelope(bearer(tokens["access_token"]).get("/auth/me"), errors.NotAuthenticatedError)
    assert RefreshToken.objects.filter(revoked__isnull=False).count() == 1  # only the logged-out token's
    envelope(bearer(other_app_token["access_token"]).get("/auth/me"), status=200)
    envelope(own_session.get("/auth/me"), status=200)


def test_the_consent_page_offers_a_sign_out_that_ends_the_browsers_session(browser_client, app, user):
    """Someone else's browser (a shared computer) must not stay able to approve apps for two weeks: the
    consent page names the signed-in user and lets them sign out, which ends the session row too."""
    _verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "scope": "openid",
              "state": "st4te", "code_challenge": challenge, "code_challenge_method": "S256"}
    page = browser_client.get("/oauth/authorize/", params)
    assert page.status_code == 200 and b'action="/oauth/logout/"' in page.content
    assert Client().get("/oauth/logout/").status_code == 405  # a link cannot sign anyone out
    back = page.wsgi_request.get_full_path()
    reply = browser_client.post("/oauth/logout/", {"next": back})
    assert reply.status_code == 302 and reply["Location"].startswith("/oauth/login/?next=")
    assert not Session.objects.filter(user=user, terminal="admin", revoked_at__isnull=True).exists()
    again = browser_client.get("/oauth/authorize/", params)
    assert again.status_code == 302 and again["Location"].startswith("/oauth/login/")
    # An offsite `next` is dropped: the browser lands on the sign-in page.
    offsite = browser_client.post("/oauth/logout/", {"next": "https://evil.example/"})
    assert offsite.status_code == 302 and offsite["Location"] == "/oauth/login/"
