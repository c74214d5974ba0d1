"""OpenID Connect / OAuth conformance of the provider: the requests real relying parties send
(prompt, max_age, redirect_uri at the token endpoint, code replay, client errors, metadata)."""

import base64
import hashlib
import json
import time
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from accounts.models import OAuthCode, Session
from accounts.oauth import applications, codes, revocation
from accounts.oauth.validators import AccountsOAuth2Validator
from tests.conftest import browser_sign_in
from tests.factories import PASSWORD
from tests.oauth.conftest import CALLBACK, SCOPES, authorize, code_for, exchange, pkce_pair, query_of, tokens_for

pytestmark = pytest.mark.django_db


def authorize_params(app, *, challenge: str | None = None, **extra: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "scope": SCOPES,
              "state": "st4te", "code_challenge": challenge or pkce_pair()[1], "code_challenge_method": "S256"}
    return {**params, **extra}


# --- 1. prompt=none ---------------------------------------------------------------------------------------

def test_prompt_none_signed_out_answers_login_required(app):
    reply = Client().get("/oauth/authorize/", authorize_params(app, prompt="none"))
    assert reply.status_code == 302 and reply["Location"].startswith(CALLBACK + "?")
    answer = query_of(reply["Location"])
    assert answer["error"] == "login_required" and answer["state"] == "st4te"
    assert not Grant.objects.exists()


def test_prompt_none_without_consent_answers_consent_required(browser_client, app):
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none"))
    assert reply.status_code == 302 and reply["Location"].startswith(CALLBACK + "?")
    answer = query_of(reply["Location"])
    assert answer["error"] == "consent_required" and answer["state"] == "st4te"
    assert not Grant.objects.exists()


def test_prompt_none_with_consent_answers_a_code_without_a_page(browser_client, app, issued):
    tokens_for(browser_client, app, issued.client_secret)
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none"))
    assert reply.status_code == 302, reply.content[:300]
    answer = query_of(reply["Location"])
    assert answer["code"] and answer["state"] == "st4te" and "error" not in answer


def test_prompt_none_answers_login_required_when_the_hint_names_someone_else(browser_client, app, issued, other):
    """OIDC Core 3.1.2.1: the client names whom it expects with id_token_hint; a browser signed in as someone
    else answered with a code for them, and the client took one user for another."""
    mine = tokens_for(browser_client, app, issued.client_secret)["id_token"]
    bobs_browser = Client()
    browser_sign_in(bobs_browser, other)
    theirs = tokens_for(bobs_browser, app, issued.client_secret)["id_token"]
    for hint in (theirs, "not.a.token", mine[:-4] + "AAAA"):
        reply = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", id_token_hint=hint))
        assert query_of(reply["Location"])["error"] == "login_required"
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", id_token_hint=mine))
    assert "code" in query_of(reply["Location"])
    type(app).objects.filter(pk=app.pk).update(algorithm="")  # an app that signs no ID tokens: no 500
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", id_token_hint=mine))
    assert reply.status_code == 302 and query_of(reply["Location"])["error"] == "login_required"


def test_prompt_none_consent_covers_the_scopes_granted_and_ends_with_the_tokens(browser_client, app, issued, user):
    tokens_for(browser_client, app, issued.client_secret, scope="openid profile")
    wider = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", scope="openid write"))
    assert query_of(wider["Location"])["error"] == "consent_required"
    same = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", scope="openid"))
    assert "code" in query_of(same["Location"])
    revocation.oauth_tokens_revoke(user=user)
    ended = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", scope="openid"))
    assert query_of(ended["Location"])["error"] == "consent_required"


def test_prompt_consent_shows_the_consent_page_even_with_approval_prompt_auto(browser_client, app, issued):
    """OIDC Core 3.1.2.1: prompt=consent asks for the user's consent again; DOT's approval_prompt=auto, sent
    with it, must not skip the page because an earlier grant covers the scopes."""
    tokens_for(browser_client, app, issued.client_secret)
    skipped = browser_client.get("/oauth/authorize/", authorize_params(app, approval_prompt="auto"))
    assert skipped.status_code == 302 and "code" in query_of(skipped["Location"])  # DOT's own feature, kept
    codes_before = Grant.objects.count()
    page = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="consent", approval_prompt="auto"))
    assert page.status_code == 200 and b"authorizationForm" in page.content
    assert Grant.objects.count() == codes_before


@pytest.mark.parametrize(("param", "error"), [("request", "request_not_supported"),
                                              ("request_uri", "request_uri_not_supported")])
def test_a_request_object_is_refused_not_ignored(browser_client, app, param, error):
    """OIDC Core 6.1, 6.2: discovery says request objects are not supported; one sent anyway may carry
    parameters the client relies on, so it is answered with its error, not silently dropped."""
    value = "eyJhbGciOiJub25lIn0.e30." if param == "request" else "https://app.example/request.jwt"
    for client in (browser_client, Client()):
        reply = client.get("/oauth/authorize/", authorize_params(app, **{param: value}))
        assert reply.status_code == 302 and reply["Location"].startswith(CALLBACK + "?"), reply.content[:300]
        answer = query_of(reply["Location"])
        assert answer["error"] == error and answer["state"] == "st4te" and "code" not in answer
    assert not Grant.objects.exists()


def test_a_malformed_claims_parameter_goes_back_to_the_client_with_its_state(browser_client, app, caplog):
    """RFC 6749 4.1.2.1: once the client and its redirect URI are known good, an error goes back there.
    oauthlib raises this one without the request: DOT then redirected to "?error=...", which Django refused
    (a 400 page, and an ERROR log line with a traceback)."""
    for client in (browser_client, Client()):
        reply = client.get("/oauth/authorize/", authorize_params(app, claims="not json"))
        assert reply.status_code == 302 and reply["Location"].startswith(CALLBACK + "?"), reply.content[:300]
        answer = query_of(reply["Location"])
        assert answer["error"] == "invalid_request" and answer["state"] == "st4te" and answer["iss"]
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
    # Without a redirect URI it is the request's own fault, shown on the page as before.
    params = {name: value for name, value in authorize_params(app, claims="not json").items() if name != "redirect_uri"}
    assert browser_client.get("/oauth/authorize/", params).status_code == 400
    assert not Grant.objects.exists()


def test_prompt_none_with_another_value_is_invalid_and_unknown_clients_never_redirect(browser_client, app):
    mixed = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none login"))
    assert mixed.status_code == 302 and query_of(mixed["Location"])["error"] == "invalid_request"
    for client in (browser_client, Client()):
        unknown = client.get("/oauth/authorize/", authorize_params(app, prompt="none", client_id="nobody"))
        assert unknown.status_code == 400 and "Location" not in unknown
        evil = client.get("/oauth/authorize/", authorize_params(app, prompt="none",
                                                                redirect_uri="https://evil.example/cb"))
        assert evil.status_code == 400 and "Location" not in evil


@pytest.mark.parametrize("prompt", ["create", "create login", "login create", "consent create"])
@pytest.mark.parametrize("signed_in", [True, False])
def test_prompt_create_is_refused_before_any_page_signed_in_or_not(browser_client, app, prompt, signed_in):
    """No registration page here, and discovery offers no `create` (see the discovery test below): Prompt Create
    1.0's 4.1.1 refusal, signed out too (it led to the sign-in page, then to the refusal), and before
    prompt=login's page."""
    reply = (browser_client if signed_in else Client()).get("/oauth/authorize/", authorize_params(app, prompt=prompt))
    assert reply.status_code == 400 and "Location" not in reply
    assert reply.json() == {"error": "invalid_request", "error_description": "prompt=create is not supported"}
    assert not Grant.objects.exists()


# --- 2. max_age and prompt=login ----------------------------------------------------------------------------

def id_token_claims(id_token: str) -> dict:
    keys = Client().get("/oauth/.well-known/jwks.json").json()
    return json.loads(jwt.JWT(jwt=id_token, key=jwk.JWK(**keys["keys"][0]), algs=["RS256"]).claims)


def sign_in_on_the_page(client, login_page: str) -> HttpResponse:
    """Follows the sign-in page the authorization request sent the browser to; returns where it leads."""
    assert login_page.startswith("/oauth/login/?next="), login_page
    target = query_of(login_page)["next"]
    reply = client.post("/oauth/login/", {"login": "alice", "password": PASSWORD, "next": target})
    assert reply.status_code == 302 and reply["Location"] == target
    return client.get(target)


@pytest.mark.parametrize("asks", [{"prompt": "login"}, {"max_age": "0"}, {"max_age": "soon"}],
                         ids=["prompt_login", "max_age_0", "max_age_garbage"])
def test_prompt_login_and_max_age_ask_for_a_fresh_sign_in_and_auth_time_is_it(browser_client, app, issued, asks):
    old_sign_in = timezone.now() - timedelta(minutes=30)
    Session.objects.update(created_at=old_sign_in)
    verifier, challenge = pkce_pair()
    params = authorize_params(app, challenge=challenge, **asks)
    reply = browser_client.get("/oauth/authorize/", params)
    assert reply.status_code == 302, reply.content[:300]
    page = sign_in_on_the_page(browser_client, reply["Location"])
    assert page.status_code == 200 and b'id="authorizationForm"' in page.content  # consent, not a loop
    decided = browser_client.post("/oauth/authorize/", {**params, "allow": "Authorize"})
    code = query_of(decided["Location"])["code"]
    tokens = exchange(code, verifier, app, issued.client_secret).json()
    fresh = Session.objects.filter(revoked_at__isnull=True).latest("created_at").created_at
    assert id_token_claims(tokens["id_token"])["auth_time"] == int(fresh.timestamp())
    assert fresh > old_sign_in + timedelta(minutes=29)


@pytest.mark.parametrize("asks", [{"prompt": "login"}, {"max_age": "0"}], ids=["prompt_login", "max_age_0"])
def test_the_fresh_sign_in_cannot_be_skipped_by_opening_the_request_it_comes_back_to(browser_client, app, asks):
    """The sign-in page comes back to the request without prompt=login or max_age (else it would loop): a
    browser still signed in opened that address, or posted the consent form, and got a code without signing
    in again (OIDC Core 3.1.2.1). The session keeps that it was asked, until a sign-in settles it."""
    params = authorize_params(app, **asks)
    login_page = browser_client.get("/oauth/authorize/", params)["Location"]
    target = query_of(login_page)["next"]
    assert browser_client.get(target)["Location"].startswith("/oauth/login/?next=")
    decided = browser_client.post("/oauth/authorize/", {**authorize_params(app), "allow": "Authorize"})
    assert decided.status_code == 302 and decided["Location"].startswith("/oauth/login/?next=")
    silent = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none"))
    assert query_of(silent["Location"])["error"] == "login_required"
    assert not Grant.objects.exists()
    page = sign_in_on_the_page(browser_client, login_page)
    assert page.status_code == 200 and b'id="authorizationForm"' in page.content
    assert browser_client.get("/oauth/authorize/", authorize_params(app)).status_code == 200  # settled


def test_an_abandoned_fresh_sign_in_does_not_answer_a_later_one(browser_client, app):
    """The session kept the first time it asked: a sign-in made after an abandoned prompt=login then answered
    the next prompt=login too, without signing in again."""
    browser_client.get("/oauth/authorize/", authorize_params(app, prompt="login"))  # abandoned
    Session.objects.update(created_at=timezone.now() + timedelta(seconds=5))  # a sign-in after that ask
    later = timezone.now() + timedelta(seconds=10)
    with patch("accounts.oauth.views.timezone.now", return_value=later):
        target = query_of(browser_client.get("/oauth/authorize/", authorize_params(app, prompt="login"))["Location"])
    assert browser_client.get(target["next"])["Location"].startswith("/oauth/login/?next=")


def test_a_denial_goes_only_to_a_registered_address(browser_client, app):
    """DOT sent a denial to the posted redirect_uri unchecked (the Allow button was checked): an open redirect."""
    assert browser_client.get("/oauth/authorize/", authorize_params(app)).status_code == 200
    denied = browser_client.post("/oauth/authorize/", authorize_params(app, redirect_uri="https://evil.example/x"))
    assert denied.status_code == 400 and "Location" not in denied
    fair = browser_client.post("/oauth/authorize/", authorize_params(app))
    assert fair["Location"].startswith(CALLBACK + "?") and query_of(fair["Location"])["error"] == "access_denied"


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "a" * 43 + "!", "a" * 43 + " ", "é" * 43])
def test_a_code_verifier_of_another_form_is_refused_even_when_its_hash_matches(browser_client, app, issued,
                                                                                verifier):
    """RFC 7636 4.1: 43-128 unreserved characters. oauthlib compared the hash only, so a client that made its
    challenge from a malformed verifier was served; the challenge's own form was already checked."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = query_of(authorize(browser_client, app, challenge=challenge)["Location"])["code"]
    refused = exchange(code, verifier, app, issued.client_secret)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_a_claim_without_a_value_is_left_out(browser_client, app, issued, user):
    """OIDC Core 5.3.2: an account without an address had "email": "" (and "website": "", ...): an app matching
    accounts by e-mail took every such account for one."""
    type(user).objects.filter(pk=user.pk).update(email=None, website="", intro="")
    tokens = tokens_for(browser_client, app, issued.client_secret)
    info = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    for claims in (info, id_token_claims(tokens["id_token"])):
        assert not {"email", "website", "intro"} & set(claims) and "" not in claims.values()
    assert info["email_verified"] is False and info["preferred_username"] == "alice"


def test_a_recent_enough_sign_in_satisfies_max_age_and_auth_time_survives_refreshes(browser_client, app, issued,
                                                                                    user, settings):
    signed_in_at = Session.objects.get().created_at
    params = authorize_params(app, max_age="600")
    assert browser_client.get("/oauth/authorize/", params).status_code == 200  # the consent page directly
    tokens = tokens_for(browser_client, app, issued.client_secret)
    assert id_token_claims(tokens["id_token"])["auth_time"] == int(signed_in_at.timestamp())
    # the account signing in elsewhere later (DOT's default reads User.last_login) changes nothing
    type(user).objects.filter(pk=user.pk).update(last_login=timezone.now() + timedelta(hours=1))
    refreshed = Client().post("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                                "client_id": app.client_id, "client_secret": issued.client_secret})
    assert id_token_claims(refreshed.json()["id_token"])["auth_time"] == int(signed_in_at.timestamp())


def test_prompt_none_with_an_old_sign_in_answers_login_required(browser_client, app, issued):
    tokens_for(browser_client, app, issued.client_secret)
    Session.objects.update(created_at=timezone.now() - timedelta(hours=1))
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", max_age="60"))
    assert query_of(reply["Location"])["error"] == "login_required"


# --- 3. redirect_uri at the token endpoint ----------------------------------------------------------------

@pytest.mark.parametrize("redirect_uri", [None, "", "https://app.example/other"], ids=["missing", "empty", "other"])
def test_the_token_request_must_repeat_the_redirect_uri(browser_client, app, issued, redirect_uri):
    code, verifier = code_for(browser_client, app)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "client_id": app.client_id, "client_secret": issued.client_secret}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    reply = Client().post("/oauth/token/", data)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_the_authorization_request_must_name_its_redirect_uri(browser_client, app):
    params = authorize_params(app)
    del params["redirect_uri"]
    for client in (browser_client, Client()):
        reply = client.get("/oauth/authorize/", params)
        assert reply.status_code == 400 and "Location" not in reply
    assert not Grant.objects.exists()


# --- 4. a replayed code -------------------------------------------------------------------------------------

def test_a_replayed_code_fails_and_revokes_what_its_first_use_issued(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    first = exchange(code, verifier, app, issued.client_secret).json()
    refresh = {"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": issued.client_secret}
    rotated = Client().post("/oauth/token/", {**refresh, "refresh_token": first["refresh_token"]}).json()
    other = tokens_for(browser_client, app, issued.client_secret)  # another authorization stays untouched

    again = exchange(code, verifier, app, issued.client_secret)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    for access in (first["access_token"], rotated["access_token"]):
        assert Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 401
    stale = Client().post("/oauth/token/", {**refresh, "refresh_token": rotated["refresh_token"]})
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    assert Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {other['access_token']}").status_code == 200


# Where in the first use the replay comes: while it makes its tokens (there is no family to revoke yet),
# or once they are saved, before its reply (DOT reads the access token back after its transaction).
@pytest.mark.parametrize("step", ["_create_refresh_token", "invalidate_authorization_code"])
def test_a_code_replayed_during_its_first_use_leaves_no_token_live(browser_client, app, issued, monkeypatch, step):
    code, verifier = code_for(browser_client, app)
    replies = []
    original = getattr(AccountsOAuth2Validator, step)

    def replayed_first(self, *args):
        if not replies:
            replies.append(exchange(code, verifier, app, issued.client_secret))
        return original(self, *args)

    monkeypatch.setattr(AccountsOAuth2Validator, step, replayed_first)
    first = exchange(code, verifier, app, issued.client_secret)
    assert [reply.status_code for reply in (first, *replies)] == [400, 400]
    assert first.json()["error"] == replies[0].json()["error"] == "invalid_grant"
    # the first use's tokens were made, and have ended: its refresh token revoked, its access token gone
    assert RefreshToken.objects.get().revoked is not None and not AccessToken.objects.exists()
    assert OAuthCode.objects.get().replayed_at is not None


def test_a_code_burnt_by_a_failed_exchange_cannot_be_used_after(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    assert exchange(code, "w" * 64, app, issued.client_secret).json()["error"] == "invalid_grant"
    assert exchange(code, verifier, app, issued.client_secret).json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


# --- 5. client authentication errors ----------------------------------------------------------------------

def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.parametrize("endpoint", ["/oauth/token/", "/oauth/revoke_token/", "/oauth/introspect/"])
def test_a_client_failing_basic_authentication_gets_401_and_a_basic_challenge(browser_client, app, issued, endpoint):
    code, verifier = code_for(browser_client, app)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK,
            "token": "anything"}
    for authorization in (basic(app.client_id, "wrong"), basic("nobody", "x"), "Basic !!notbase64"):
        reply = Client().post(endpoint, data, HTTP_AUTHORIZATION=authorization)
        assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"
        assert reply["WWW-Authenticate"].startswith("Basic ")
    body_auth = Client().post(endpoint, {**data, "client_id": app.client_id, "client_secret": "wrong"})
    assert body_auth.status_code == 401 and body_auth["WWW-Authenticate"].startswith("Basic ")
    assert not AccessToken.objects.exists()
    right = Client().post(endpoint, data, HTTP_AUTHORIZATION=basic(app.client_id, issued.client_secret))
    assert right.status_code == 200


@pytest.mark.parametrize("data", [
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"},
    {"grant_type": "client_credentials"},
    {"grant_type": "password", "username": "alice", "password": PASSWORD},
    {"grant_type": "nonsense"},
    {},
], ids=["device_no_code", "device_code", "client_credentials", "password", "nonsense", "none"])
def test_grants_we_do_not_offer_are_refused_without_a_5xx(app, issued, data):
    reply = Client().post("/oauth/token/", {**data, "client_id": app.client_id, "client_secret": issued.client_secret})
    assert reply.status_code == 400
    # RFC 6749 5.2: no grant_type at all is a required parameter missing, not a grant the server lacks.
    assert reply.json()["error"] == ("unsupported_grant_type" if data else "invalid_request")
    assert not AccessToken.objects.exists()


# --- 6. discovery and metadata advertise what works ----------------------------------------------------------

METADATA = ["/oauth/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/oauth"]


@pytest.mark.parametrize("address", METADATA)
def test_rfc8414_metadata_names_the_issuer_and_only_what_works(db, address):
    data = Client().get(address).json()
    discovery = Client().get("/.well-known/openid-configuration").json()
    assert data["issuer"] == discovery["issuer"] == "http://testserver/oauth"
    assert data["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert data["response_types_supported"] == ["code"]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["token_endpoint"] == discovery["token_endpoint"] == "http://testserver/oauth/token/"


def test_oidc_discovery_promises_nothing_the_provider_does_not_do(db):
    data = Client().get("/oauth/.well-known/openid-configuration").json()
    assert data == Client().get("/.well-known/openid-configuration").json()
    assert data["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert data["response_types_supported"] == ["code"] and data["response_modes_supported"] == ["query"]
    assert data["id_token_signing_alg_values_supported"] == ["RS256"]
    assert data["request_uri_parameter_supported"] is False
    assert set(data["prompt_values_supported"]) == {"none", "login", "consent"}


def test_claims_supported_lists_every_claim_returned(browser_client, app, issued, user):
    type(user).objects.filter(pk=user.pk).update(intro="Data wrangler.")  # an empty claim is left out
    claims_supported = set(Client().get("/.well-known/openid-configuration").json()["claims_supported"])
    verifier, challenge = pkce_pair()
    params = authorize_params(app, challenge=challenge, nonce="n0nce")
    assert browser_client.get("/oauth/authorize/", params).status_code == 200
    code = query_of(browser_client.post("/oauth/authorize/", {**params, "allow": "Authorize"})["Location"])["code"]
    tokens = exchange(code, verifier, app, issued.client_secret).json()
    info = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    returned = set(info) | set(id_token_claims(tokens["id_token"]))
    assert {"nonce", "at_hash", "auth_time", "email", "intro"} <= returned
    assert returned <= claims_supported


# --- 8. introspection (RFC 7662) ------------------------------------------------------------------------------

def test_introspection_of_refresh_tokens_agrees_with_the_token_endpoint(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    auth = {"HTTP_AUTHORIZATION": basic(app.client_id, issued.client_secret)}
    live = Client().post("/oauth/introspect/", {"token": tokens["refresh_token"]}, **auth).json()
    assert live["active"] is True and live["token_type"] == "refresh_token" and live["exp"] > time.time()
    assert set(live["scope"].split()) == set(SCOPES.split()) and live["client_id"] == app.client_id
    # revoking the access token orphans its refresh token, which the token endpoint then refuses
    assert Client().post("/oauth/revoke_token/", {"token": tokens["access_token"]}, **auth).status_code == 200
    refresh = Client().post("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            **auth)
    assert refresh.status_code == 400
    assert Client().post("/oauth/introspect/", {"token": tokens["refresh_token"]}, **auth).json() == {"active": False}


@pytest.mark.parametrize("credentials", [{}, {"client_id": "nobody"}], ids=["none", "unknown_client"])
def test_introspection_without_client_authentication_is_401(browser_client, app, issued, credentials):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    reply = Client().post("/oauth/introspect/", {"token": tokens["access_token"], **credentials})
    assert reply.status_code == 401 and reply.json() == {"error": "invalid_client"}
    assert reply["WWW-Authenticate"].startswith("Basic ")


# --- 9. redirect URI matching, as the README states it ---------------------------------------------------

@pytest.mark.parametrize(("registered", "requested", "allowed"), [
    ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", True),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.1:51234/cb", True),
    ("http://[::1]/cb", "http://[::1]:51234/cb", True),
    ("http://127.0.0.1/cb", "http://127.0.0.1:51234/other", False),
    ("http://localhost:8000/cb", "http://localhost:51234/cb", False),
    ("https://app.example:8443/cb", "https://app.example:9443/cb", False),
])
def test_loopback_redirect_uris_accept_any_port_and_nothing_else_does(developer, registered, requested, allowed):
    app = applications.application_create(owner=developer, redirect_uris=registered).application
    reply = Client().get("/oauth/authorize/", authorize_params(app, redirect_uri=requested))
    if allowed:  # on to the sign-in page
        assert reply.status_code == 302 and reply["Location"].startswith("/oauth/login/")
    else:
        assert reply.status_code == 400 and "Location" not in reply


# --- no request, however malformed, gets a 5xx -------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"client_id": "a\x00b"}, {"client_id": "x" * 5000}, {"redirect_uri": "\x00"}, {"redirect_uri": "http://[::1"},
    {"response_type": ""}, {"response_type": "code id_token"}, {"scope": "unknown"}, {"scope": ""},
    {"nonce": "n" * 1000}, {"state": "s" * 5000}, {"code_challenge": "c" * 1000}, {"code_challenge": ""},
    {"prompt": "select_account"}, {"prompt": "create"}, {"prompt": "none none"}, {"max_age": "9" * 400},
    {"max_age": "-1"}, {"max_age": "\u0661"}, {"claims": "{not json"}, {"claims": '{"id_token": 5}'},
    {"resource": "not a uri"}, {"ui_locales": "x" * 1000}, {"id_token_hint": "garbage"}, {"request": "eyJ.x.y"},
])
@pytest.mark.parametrize("signed_in", [True, False])
def test_malformed_authorization_requests_never_get_a_5xx(browser_client, app, extra, signed_in):
    params = {**authorize_params(app), **extra}
    reply = (browser_client if signed_in else Client()).get("/oauth/authorize/", params)
    assert reply.status_code < 500
    if reply.status_code == 200:  # the consent page: deciding must not fail either
        decided = browser_client.post("/oauth/authorize/", {**params, "allow": "Authorize"})
        assert decided.status_code < 500


@pytest.mark.parametrize("data", [
    {"code": "x" * 5000}, {"code": "a\x00b"}, {"code_verifier": "v" * 5000}, {"redirect_uri": "\x00"},
    {"client_id": "a\x00b"}, {"grant_type": "refresh_token", "refresh_token": "r\x00"},
    {"grant_type": "refresh_token"}, {"grant_type": "authorization_code", "code": ""},
])
def test_malformed_token_requests_never_get_a_5xx(browser_client, app, issued, data):
    code, verifier = code_for(browser_client, app)
    base = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK,
            "client_id": app.client_id, "client_secret": issued.client_secret}
    reply = Client().post("/oauth/token/", {**base, **data})
    assert 400 <= reply.status_code < 500 and reply.json()["error"]


@pytest.mark.parametrize("endpoint", ["/oauth/token/", "/oauth/revoke_token/", "/oauth/introspect/"])
def test_nul_characters_in_client_credentials_are_invalid_request(db, endpoint):
    reply = Client().post(endpoint, {"grant_type": "refresh_token", "refresh_token": "r", "token": "t"},
                          HTTP_AUTHORIZATION=basic("a\x00b", "s"))
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"


def test_notes_of_codes_that_can_no_longer_matter_are_pruned(browser_client, app, issued):
    live = tokens_for(browser_client, app, issued.client_secret)  # its family stays live
    dead = tokens_for(browser_client, app, issued.client_secret)
    Client().post("/oauth/revoke_token/", {"token": dead["refresh_token"]}, HTTP_AUTHORIZATION=basic(
        app.client_id, issued.client_secret))
    OAuthCode.objects.update(created_at=timezone.now() - timedelta(hours=1))
    live_family = RefreshToken.objects.get(token_checksum=codes.code_hash(live["refresh_token"])).token_family
    code_for(browser_client, app)  # a new authorization
    assert set(OAuthCode.objects.values_list("token_family", flat=True)) == {live_family, None}


def test_standing_consent_lasts_while_the_refresh_token_may_be_used(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    AccessToken.objects.update(expires=timezone.now() - timedelta(minutes=5))  # expired, refreshable
    params = authorize_params(app, prompt="none")
    assert "code" in query_of(browser_client.get("/oauth/authorize/", params)["Location"])
    Client().post("/oauth/revoke_token/", {"token": tokens["refresh_token"]},
                  HTTP_AUTHORIZATION=basic(app.client_id, issued.client_secret))
    AccessToken.objects.update(expires=timezone.now() - timedelta(minutes=5))
    assert query_of(browser_client.get("/oauth/authorize/", params)["Location"])["error"] == "consent_required"


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("get", "/oauth/token/", "POST"), ("get", "/oauth/revoke_token/", "POST"), ("delete", "/oauth/introspect/", "POST"),
    ("put", "/oauth/userinfo/", "GET"), ("post", "/oauth/.well-known/jwks.json", "GET"),
    ("delete", "/.well-known/openid-configuration", "GET"), ("patch", "/oauth/.well-known/oauth-authorization-server",
                                                             "GET"),
])
def test_a_method_an_oauth_endpoint_does_not_take_is_405_in_oauths_shape(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request" and allowed in response.json()["error_description"]
    assert allowed in response["Allow"]


@pytest.mark.parametrize(("method", "path"), [("post", "/.well-known/openid-configuration"),
                                              ("delete", "/oauth/.well-known/jwks.json"),
                                              ("put", "/oauth/.well-known/oauth-authorization-server")])
def test_a_document_answers_another_method_with_405_before_any_csrf_check(method, path):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405 and response.json()["error"] == "invalid_request"


# --- 10. what relying parties' libraries check ---------------------------------------------------------------

@pytest.mark.parametrize("params", [{"prompt": "none"}, {"code_challenge_method": "plain"}])
def test_an_error_sent_back_to_the_client_carries_the_issuer_as_a_code_does(app, params):
    reply = Client().get("/oauth/authorize/", authorize_params(app, **params))
    answer = query_of(reply["Location"])
    assert "error" in answer and answer["iss"] == "http://testserver/oauth"


def test_a_denial_carries_the_issuer_once(browser_client, app):
    reply = browser_client.post("/oauth/authorize/", authorize_params(app))
    assert reply.status_code == 302 and parse_qs(urlsplit(reply["Location"]).query)["iss"] == [
        "http://testserver/oauth"]
    assert query_of(reply["Location"])["error"] == "access_denied"
    allowed = browser_client.post("/oauth/authorize/", {**authorize_params(app), "allow": "Authorize"})
    assert parse_qs(urlsplit(allowed["Location"]).query)["iss"] == ["http://testserver/oauth"]


def test_userinfo_and_token_errors_are_typed_json(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret)
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}, {}):
        response = Client().get("/oauth/userinfo/", **headers)
        assert response["Content-Type"] == "application/json" and response.json()
    response = Client().post("/oauth/token/?x=1", {"grant_type": "refresh_token"})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"


def test_the_endpoints_answer_without_their_trailing_slash(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    reply = Client().post("/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                                           "code_verifier": verifier, "client_id": app.client_id,
                                           "client_secret": issued.client_secret})
    assert reply.status_code == 200, reply.content
    access = reply.json()["access_token"]
    assert Client().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}").json()["sub"]
    for path in ("/.well-known/openid-configuration/", "/oauth/.well-known/jwks.json/",
                 "/.well-known/oauth-authorization-server/oauth/"):
        assert Client().get(path).status_code == 200, path
    assert json.loads(Client().get("/.well-known/openid-configuration").content)["token_endpoint"].endswith(
        "/oauth/token/")


BAD_PORT = "https://app.example:99999/cb"


def test_a_redirect_uri_whose_port_is_no_port_is_refused_not_a_crash(user, app, browser_client, developer):
    from oauth2_provider.models import Application

    reply = Client().get("/oauth/authorize/", authorize_params(app, redirect_uri=BAD_PORT))
    assert reply.status_code == 400 and "Location" not in reply
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, redirect_uri="http://127.0.0.1:70000/cb"))
    assert reply.status_code == 400 and "Location" not in reply
    assert Client().get("/oauth/", {"secret_id": app.client_id, "redirect_uri": BAD_PORT}).json()["code"] == 1007
    reply = Client().post(f"/login/?secret_id={app.client_id}&redirect_uri={BAD_PORT}",
                          {"username": "alice", "password": PASSWORD}, content_type="application/json")
    assert reply.json()["code"] == 1007
    with pytest.raises(Exception, match="a port is a number from 0 to 65535"):
        applications.redirect_uris_clean(BAD_PORT)
    # One stored before ports were checked: its app's requests are refused (400), not a crash.
    Application.objects.filter(pk=app.pk).update(redirect_uris=f"{BAD_PORT} {CALLBACK}")
    assert Client().get("/oauth/authorize/", authorize_params(app)).status_code == 400


def test_a_max_age_past_any_number_is_any_age(browser_client, app):
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, max_age="9" * 5000))
    assert reply.status_code == 200


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token"])
def test_a_flow_the_provider_does_not_offer_is_an_unsupported_response_type(browser_client, app, response_type):
    reply = browser_client.get("/oauth/authorize/", authorize_params(app, response_type=response_type))
    answer = query_of(reply["Location"])
    assert answer["error"] == "unsupported_response_type" and answer["state"] == "st4te"
    assert not Grant.objects.exists()


def test_a_parameter_given_twice_or_two_client_authentications_are_invalid_requests(browser_client, app, issued):
    code, verifier = code_for(browser_client, app)
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier,
            "client_id": app.client_id}
    twice = Client().post("/oauth/token/", f"{urlencode(base)}&grant_type=refresh_token&client_secret="
                          f"{issued.client_secret}", content_type="application/x-www-form-urlencoded")
    both = Client().post("/oauth/token/", {**base, "client_secret": issued.client_secret},
                         HTTP_AUTHORIZATION=basic(app.client_id, issued.client_secret))
    for reply in (twice, both):
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_request", reply.content
    assert Client().post("/oauth/token/", {**base, "client_secret": issued.client_secret}).status_code == 200
    params = urlencode(authorize_params(app)) + "&code_challenge=" + pkce_pair()[1]
    answer = query_of(browser_client.get(f"/oauth/authorize/?{params}")["Location"])
    assert answer["error"] == "invalid_request" and "more than once" in answer["error_description"]


def test_a_client_named_two_ways_is_an_invalid_request_at_every_client_endpoint(browser_client, app, issued, developer):
    """RFC 6749 2.3: one client authentication per request. A body client_id naming another client than the
    Basic header was oauthlib's server_error at the token endpoint; the revocation and introspection
    endpoints took the header's client and ignored the body's secret or client_id."""
    other = applications.application_create(owner=developer, name="Other", redirect_uris=CALLBACK)
    theirs = tokens_for(browser_client, other.application, other.client_secret)
    code, verifier = code_for(browser_client, app)
    header = {"HTTP_AUTHORIZATION": basic(app.client_id, issued.client_secret)}
    requests = [
        ("/oauth/token/", {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                           "code_verifier": verifier, "client_id": other.application.client_id}),
        ("/oauth/revoke_token/", {"token": theirs["access_token"], "client_id": other.application.client_id}),
        ("/oauth/revoke_token/", {"token": theirs["access_token"], "client_id": other.application.client_id,
                                  "client_secret": other.client_secret}),
        ("/oauth/introspect/", {"token": theirs["access_token"], "client_id": other.application.client_id,
                                "client_secret": other.client_secret}),
    ]
    for endpoint, data in requests:
        reply = Client().post(endpoint, data, **header)
        assert reply.status_code == 400, (endpoint, reply.content)
        assert reply.json()["error"] == "invalid_request", (endpoint, reply.content)
    assert AccessToken.objects.filter(application=other.application).count() == 1
    # The header's own client_id repeated in the body is one client, named twice: fine.
    same = Client().post("/oauth/token/", {**requests[0][1], "client_id": app.client_id}, **header)
    assert same.status_code == 200, same.content


def test_userinfo_tells_a_good_token_without_openid_that_it_lacks_the_scope(browser_client, app, issued):
    tokens = tokens_for(browser_client, app, issued.client_secret, scope="read")
    response = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    response = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


def test_userinfo_refuses_an_access_token_in_the_query_string(browser_client, app, issued):
    """RFC 9700 4.3.2 and RFC 6750 5.3: a token in the URL ends up in logs and Referer headers. The REST API
    refuses it (COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT); userinfo must too."""
    access = tokens_for(browser_client, app, issued.client_secret)["access_token"]
    for reply in (Client().get("/oauth/userinfo/", {"access_token": access}),
                  Client().post(f"/oauth/userinfo/?{urlencode({'access_token': access})}")):
        assert reply.status_code == 400, reply.content
        assert reply.json()["error"] == "invalid_request" and "sub" not in reply.json()
        assert reply["Content-Type"] == "application/json"
    # In the header it still works.
    assert Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access}").json()["sub"]
