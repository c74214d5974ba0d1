"""A standard relying party (Authlib) drives the live provider: the flows that work (code + PKCE, the ID
token checked against the JWKS, userinfo, refresh, revocation, introspection) and every deviation issue 14
fixed, as such a client sees them."""

import base64
import hashlib
import html
import re
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from django.db import connections
from joserfc import jwt
from joserfc.jwk import KeySet

from accounts.models import Session
from accounts.oauth import applications
from tests.factories import PASSWORD, UserFactory
from tests.oauth.conftest import query_of

# serialized_rollback: the flush of a transactional test would drop the tiers the migrations seeded.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REGISTERED = "http://127.0.0.1/cb"  # loopback: any port at request time (RFC 8252 7.3)
SCOPE = "openid profile email read"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def provider(live_server, settings, monkeypatch):
    """The live server's discovery document; Authlib may use plain http against it."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setitem(connections.databases["default"], "CONN_MAX_AGE", 0)
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return requests.get(f"{live_server.url}/.well-known/openid-configuration", timeout=10).json()


@pytest.fixture
def confidential(db):
    UserFactory(username="carol", email="carol@example.com")
    return applications.application_create(owner=UserFactory(username="rpdev"), name="Relying Party",
                                           redirect_uris=REGISTERED)


OPEN: list[requests.Session] = []


@pytest.fixture(autouse=True)
def _close_connections(transactional_db, live_server):
    """Each kept-alive connection holds a live-server thread: they are closed (and those threads end)
    before the test database is torn down, which fixtures set up earlier do after this one."""
    yield
    while OPEN:
        OPEN.pop().close()
    for thread in threading.enumerate():  # the server's side of those connections ends too
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=10)


def closed_after_the_test(session: requests.Session) -> requests.Session:
    OPEN.append(session)
    return session


def authlib_client(client_id: str, client_secret: str | None = None, **kwargs) -> OAuth2Session:
    return closed_after_the_test(OAuth2Session(client_id, client_secret, **kwargs))


class Browser:
    """A person's browser, as far as the provider's pages go: cookies, the sign-in and consent forms."""

    def __init__(self) -> None:
        self.http = closed_after_the_test(requests.Session())
        self.pages: list[str] = []  # the provider's pages shown, in order

    def open(self, url: str) -> requests.Response:
        reply = self.http.get(url, allow_redirects=False, timeout=10)
        while reply.is_redirect and urlsplit(reply.headers["Location"]).port in (None, urlsplit(url).port):
            url = requests.compat.urljoin(url, reply.headers["Location"])
            reply = self.http.get(url, allow_redirects=False, timeout=10)
        if reply.status_code == 200:
            self.pages.append(urlsplit(url).path)
        return reply

    def submit(self, page: requests.Response, **fields: str) -> requests.Response:
        form = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
        reply = self.http.post(page.url, data={**form, **fields}, allow_redirects=False, timeout=10)
        return self.open(requests.compat.urljoin(page.url, reply.headers["Location"])) if reply.is_redirect \
            and "/oauth/" in reply.headers["Location"] else reply

    def authorize(self, url: str, *, allow: bool = True) -> str:
        """Signs in if asked, answers the consent page; returns the address the client is sent back to."""
        page = self.open(url)
        if page.status_code == 200 and "/oauth/login/" in page.url:
            page = self.submit(page, login="carol", password=PASSWORD)
        if page.status_code == 200:
            page = self.submit(page, **({"allow": "Authorize"} if allow else {}))
        assert page.is_redirect, (page.status_code, page.text[:300])
        return page.headers["Location"]


def rp(issued, callback: str, **kwargs) -> OAuth2Session:
    return authlib_client(issued.application.client_id, issued.client_secret, scope=SCOPE, redirect_uri=callback,
                          code_challenge_method="S256", **kwargs)


def sign_in(client: OAuth2Session, provider: dict, browser: Browser, **params: str) -> tuple[dict, dict]:
    """The whole code flow; returns the tokens and the checked ID token's claims."""
    verifier, nonce = generate_token(48), generate_token(16)
    url, _state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce, **params)
    back = browser.authorize(url)
    assert query_of(back)["iss"] == provider["issuer"]  # RFC 9207
    token = client.fetch_token(provider["token_endpoint"], authorization_response=back, code_verifier=verifier)
    return token, id_token_claims(provider, client, token, nonce)


def id_token_claims(provider: dict, client: OAuth2Session, token: dict, nonce: str) -> dict:
    """The ID token, its signature checked against the published JWKS and its claims as OIDC Core 3.1.3.7
    asks a client to check them (joserfc, which Authlib's own ID token classes are moving to)."""
    keys = KeySet.import_key_set(requests.get(provider["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider["issuer"]},
                          aud={"essential": True, "value": client.client_id}, exp={"essential": True},
                          iat={"essential": True}, nonce={"essential": True, "value": nonce}).validate(claims)
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    return claims


def test_the_standard_flow_works_end_to_end(provider, confidential, callback):
    client, browser = rp(confidential, callback), Browser()
    token, claims = sign_in(client, provider, browser)
    assert browser.pages == ["/oauth/login/", "/oauth/authorize/"]
    assert claims["aud"] == confidential.application.client_id and claims["auth_time"] <= time.time()
    info = client.get(provider["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["preferred_username"] == "carol"
    assert set(info) | set(claims) <= set(provider["claims_supported"])  # 6: every claim is advertised

    refreshed = client.refresh_token(provider["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    introspection = client.introspect_token(provider["introspection_endpoint"], token=refreshed["refresh_token"])
    assert introspection.json()["active"] is True  # 8: a live refresh token
    assert client.revoke_token(provider["revocation_endpoint"], token=refreshed["access_token"]).status_code == 200
    gone = client.introspect_token(provider["introspection_endpoint"], token=refreshed["access_token"])
    assert gone.json() == {"active": False}
    # 8: introspection needs the client's authentication
    anonymous = requests.post(provider["introspection_endpoint"], data={"token": token["access_token"]}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")


def test_prompt_none(provider, confidential, callback):
    """1: silent authentication answers without a page, by the rules of OIDC Core 3.1.2.6."""
    client, browser = rp(confidential, callback), Browser()
    url, _state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=generate_token(48),
                                                  prompt="none")
    assert query_of(browser.authorize(url))["error"] == "login_required"
    sign_in(client, provider, browser, prompt="consent")  # signs in and consents once
    pages = list(browser.pages)
    token, _claims = sign_in(client, provider, browser, prompt="none")
    assert browser.pages == pages and token["access_token"]  # a code, no page

    stranger = authlib_client(confidential.application.client_id, confidential.client_secret,
                              scope=SCOPE + " write", redirect_uri=callback, code_challenge_method="S256")
    url, _state = stranger.create_authorization_url(provider["authorization_endpoint"],
                                                    code_verifier=generate_token(48), prompt="none")
    assert query_of(browser.authorize(url))["error"] == "consent_required"  # a scope never granted


@pytest.mark.parametrize("params", [{"max_age": "0"}, {"prompt": "login"}])
def test_max_age_and_prompt_login_ask_for_a_fresh_sign_in(provider, confidential, callback, params):
    """2: the sign-in page again, and auth_time is that sign-in."""
    client, browser = rp(confidential, callback), Browser()
    _token, first = sign_in(client, provider, browser)
    Session.objects.update(created_at=Session.objects.get().created_at.replace(year=2020))
    _token, claims = sign_in(client, provider, browser, **params)
    assert browser.pages == ["/oauth/login/", "/oauth/authorize/"] * 2
    assert claims["auth_time"] >= first["auth_time"] and time.time() - claims["auth_time"] < 60


def test_the_token_request_must_repeat_the_redirect_uri(provider, confidential, callback):
    """3: without it, invalid_grant."""
    client, browser = rp(confidential, callback), Browser()
    verifier = generate_token(48)
    url, _state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=verifier)
    code = query_of(browser.authorize(url))["code"]
    forgetful = authlib_client(confidential.application.client_id, confidential.client_secret)
    with pytest.raises(OAuthError) as refused:
        forgetful.fetch_token(provider["token_endpoint"], code=code, code_verifier=verifier)
    assert refused.value.error == "invalid_grant"


def test_a_replayed_code_revokes_the_first_uses_tokens(provider, confidential, callback):
    """4"""
    client, browser = rp(confidential, callback), Browser()
    verifier = generate_token(48)
    url, _state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=verifier)
    back = browser.authorize(url)
    token = client.fetch_token(provider["token_endpoint"], authorization_response=back, code_verifier=verifier)
    with pytest.raises(OAuthError) as replay:
        client.fetch_token(provider["token_endpoint"], authorization_response=back, code_verifier=verifier)
    assert replay.value.error == "invalid_grant"
    assert client.get(provider["userinfo_endpoint"]).status_code == 401
    with pytest.raises(OAuthError):
        client.refresh_token(provider["token_endpoint"], refresh_token=token["refresh_token"])


def test_invalid_client_with_basic_is_a_basic_challenge(provider, confidential):
    """5"""
    reply = requests.post(provider["token_endpoint"], auth=(confidential.application.client_id, "wrong"),
                          data={"grant_type": "refresh_token", "refresh_token": "x"}, timeout=10)
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")


def test_metadata_advertises_what_works(provider, live_server):
    """6"""
    path_form = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server/oauth", timeout=10).json()
    assert path_form["issuer"] == provider["issuer"] == f"{live_server.url}/oauth"
    for document in (provider, path_form):
        assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
        assert document["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_without_s256_is_refused_before_any_page(provider, confidential, callback, method):
    """7"""
    params = {"response_type": "code", "client_id": confidential.application.client_id, "redirect_uri": callback,
              "scope": SCOPE, "state": "s"}
    if method:
        params.update(code_challenge="x" * 43, code_challenge_method=method)
    browser = Browser()
    back = browser.authorize(requests.Request("GET", provider["authorization_endpoint"], params=params).prepare().url)
    assert back.startswith(callback) and query_of(back)["error"] == "invalid_request" and browser.pages == []


def test_a_public_client_signs_in_and_rotates_refresh_tokens(provider, callback):
    """10: no secret, PKCE, refresh rotation with reuse detection."""
    UserFactory(username="carol")
    public = applications.application_create(owner=UserFactory(username="nativedev"), name="Native",
                                             redirect_uris=REGISTERED, client_type="public")
    client = authlib_client(public.application.client_id, scope=SCOPE, redirect_uri=callback,
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    token, claims = sign_in(client, provider, Browser())
    assert claims["aud"] == public.application.client_id
    fresh = client.refresh_token(provider["token_endpoint"], refresh_token=token["refresh_token"])
    with pytest.raises(OAuthError) as reuse:
        client.refresh_token(provider["token_endpoint"], refresh_token=token["refresh_token"])
    assert reuse.value.error == "invalid_grant"
    with pytest.raises(OAuthError):  # the whole family is revoked
        client.refresh_token(provider["token_endpoint"], refresh_token=fresh["refresh_token"])
