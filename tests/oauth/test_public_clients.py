"""Public clients (RFC 8252 native apps, single-page apps): no secret, PKCE, redirect URIs they can own,
rotating refresh tokens with reuse detection."""

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accountsite import errors
from tests.conftest import client_for, envelope
from tests.oauth.conftest import pkce_pair, query_of

pytestmark = pytest.mark.django_db

NATIVE = "com.example.photos:/oauth/cb"
SPA = "https://spa.example/cb"
URIS = f"{NATIVE} http://127.0.0.1/cb http://[::1]/cb {SPA}"


@pytest.fixture
def public_app(developer):
    body = envelope(client_for(developer).post("/developer/apps/", {"name": "Photos", "client_type": "public",
                                                                     "redirect_uris": URIS}, format="json"),
                    status=201)
    assert body["data"]["client_type"] == "public" and body["data"]["secret_value"] is None
    return Application.objects.get(client_id=body["data"]["client_id"])


def public_code(client, app, redirect_uri: str = NATIVE) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri,
              "scope": "openid profile read", "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    assert client.get("/oauth/authorize/", params).status_code == 200
    reply = client.post("/oauth/authorize/", {**params, "allow": "Authorize"})
    assert reply.status_code == 302 and reply["Location"].startswith(redirect_uri + "?"), reply.content[:300]
    return query_of(reply["Location"])["code"], verifier


def public_exchange(app, code: str, verifier: str | None, redirect_uri: str = NATIVE, **headers: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": app.client_id}
    if verifier is not None:
        data["code_verifier"] = verifier
    return Client().post("/oauth/token/", data, **headers)


@pytest.mark.parametrize("redirect_uris", [
    "javascript:alert(1)", "myapp:/cb", "http://app.example/cb", "http://localhost/cb", "https:///cb",
    "com.example.photos://host/cb", "https://spa.example/cb#frag", "https://u:p@spa.example/cb", "file:///etc/passwd",
    "https://spa.example/cb\x00",
])
def test_a_public_client_may_register_only_redirect_uris_it_can_own(developer, redirect_uris):
    envelope(client_for(developer).post("/developer/apps/", {"client_type": "public", "redirect_uris": redirect_uris},
                                        format="json"), errors.InvalidParametersError)
    assert not Application.objects.exists()


def test_client_type_is_confidential_or_public(developer):
    envelope(client_for(developer).post("/developer/apps/", {"client_type": "secretive"}, format="json"),
             errors.InvalidParametersError)
    body = envelope(client_for(developer).post("/developer/apps/", {}, format="json"), status=201)
    assert body["data"]["client_type"] == "confidential" and body["data"]["secret_value"]


@pytest.mark.parametrize("redirect_uri", [NATIVE, "http://127.0.0.1:50123/cb", "http://[::1]:50124/cb", SPA])
def test_a_public_client_signs_a_user_in_with_pkce_and_no_secret(browser_client, public_app, redirect_uri):
    code, verifier = public_code(browser_client, public_app, redirect_uri)
    tokens = public_exchange(public_app, code, verifier, redirect_uri)
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["id_token"] and tokens.json()["refresh_token"]
    info = Client().get("/oauth/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access_token']}")
    assert info.json()["preferred_username"] == "alice"


@pytest.mark.parametrize("redirect_uri", [NATIVE, "http://127.0.0.1:6666/cb"])
def test_a_native_apps_earlier_consent_issues_nothing_without_the_page(browser_client, public_app, redirect_uri):
    """RFC 8252 8.6: any program on the user's machine may claim a public client's id and a loopback port or its
    private-use scheme. Once the user had approved the app, prompt=none or approval_prompt=auto gave such a
    program a code at once, with no page."""
    assert public_exchange(public_app, *public_code(browser_client, public_app, redirect_uri),
                           redirect_uri).status_code == 200  # approved once, tokens issued
    challenge = pkce_pair()[1]
    params = {"response_type": "code", "client_id": public_app.client_id, "redirect_uri": redirect_uri,
              "scope": "openid profile read", "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    silent = browser_client.get("/oauth/authorize/", {**params, "prompt": "none"})
    assert query_of(silent["Location"])["error"] == "consent_required"
    page = browser_client.get("/oauth/authorize/", {**params, "approval_prompt": "auto"})
    assert page.status_code == 200 and b'id="authorizationForm"' in page.content
    # A single-page app's https address is the browser's to guard: its standing consent still answers at once.
    assert public_exchange(public_app, *public_code(browser_client, public_app, SPA), SPA).status_code == 200
    spa = browser_client.get("/oauth/authorize/", {**params, "redirect_uri": SPA, "prompt": "none"})
    assert spa["Location"].startswith(SPA + "?") and "code" in query_of(spa["Location"])


def test_a_loopback_port_past_65535_matches_nothing(browser_client, public_app):
    params = {"response_type": "code", "client_id": public_app.client_id, "redirect_uri": "http://127.0.0.1:99999/cb",
              "scope": "openid", "code_challenge": pkce_pair()[1], "code_challenge_method": "S256"}
    reply = browser_client.get("/oauth/authorize/", params)
    assert reply.status_code == 400 and "Location" not in reply


def test_a_public_clients_code_needs_its_verifier(browser_client, public_app):
    code, _verifier = public_code(browser_client, public_app)
    refused = public_exchange(public_app, code, None)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_public_refresh_tokens_rotate_and_a_replay_revokes_the_family(browser_client, public_app):
    code, verifier = public_code(browser_client, public_app)
    first = public_exchange(public_app, code, verifier).json()
    refresh = {"grant_type": "refresh_token", "client_id": public_app.client_id}
    second = Client().post("/oauth/token/", {**refresh, "refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    replay = Client().post("/oauth/token/", {**refresh, "refresh_token": first["refresh_token"]})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists() and not AccessToken.objects.exists()
    stolen = Client().post("/oauth/token/", {**refresh, "refresh_token": second["refresh_token"]})
    assert stolen.status_code == 400


def test_a_single_page_app_gets_cors_on_the_token_endpoint(browser_client, public_app):
    code, verifier = public_code(browser_client, public_app, SPA)
    reply = public_exchange(public_app, code, verifier, SPA, HTTP_ORIGIN="https://spa.example")
    assert reply.status_code == 200 and reply["Access-Control-Allow-Origin"] == "https://spa.example"
    code, verifier = public_code(browser_client, public_app, SPA)
    other = public_exchange(public_app, code, verifier, SPA, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_a_single_page_app_reads_why_an_exchange_failed_and_is_answered_its_preflight(public_app):
    """DOT marked successful exchanges only: the app could not read `invalid_grant`, and the preflight a
    browser sends before the exchange got no CORS at all."""
    refused = public_exchange(public_app, "no-such-code", "x" * 43, SPA, HTTP_ORIGIN="https://spa.example")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert refused["Access-Control-Allow-Origin"] == "https://spa.example"
    preflight = Client().options("/oauth/token/", HTTP_ORIGIN="https://spa.example",
                                 HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                                 HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert preflight["Access-Control-Allow-Origin"] == "https://spa.example"
    elsewhere = public_exchange(public_app, "no-such-code", "x" * 43, SPA, HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in elsewhere


def test_a_single_page_app_may_call_userinfo_and_revocation_from_its_origin(browser_client, public_app):
    """A browser app reads who signed in (userinfo) and gives its tokens back at sign-out (RFC 7009) from
    the origin of its https redirect URI: the preflight and the reply carry CORS for that origin only."""
    code, verifier = public_code(browser_client, public_app, SPA)
    tokens = public_exchange(public_app, code, verifier, SPA).json()
    preflight = Client().options("/oauth/userinfo/", HTTP_ORIGIN="https://spa.example",
                                 HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                                 HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")
    assert preflight["Access-Control-Allow-Origin"] == "https://spa.example"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    info = Client().get("/oauth/userinfo/", HTTP_ORIGIN="https://spa.example",
                        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert info.status_code == 200 and info["Access-Control-Allow-Origin"] == "https://spa.example"
    revoked = Client().post("/oauth/revoke_token/", {"client_id": public_app.client_id,
                                                    "token": tokens["refresh_token"]}, HTTP_ORIGIN="https://spa.example")
    assert revoked.status_code == 200 and revoked["Access-Control-Allow-Origin"] == "https://spa.example"
    # Another origin, or an API address, gets nothing.
    for path, origin in (("/oauth/userinfo/", "https://evil.example"), ("/auth/me", "https://spa.example")):
        reply = Client().options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
        assert "Access-Control-Allow-Origin" not in reply


def test_a_public_client_cannot_introspect_or_rotate_a_secret(browser_client, public_app, developer):
    code, verifier = public_code(browser_client, public_app)
    tokens = public_exchange(public_app, code, verifier).json()
    for secret in ("", "x"):
        reply = Client().post("/oauth/introspect/", {"client_id": public_app.client_id, "client_secret": secret,
                                                     "token": tokens["access_token"]})
        assert reply.status_code == 401
    envelope(client_for(developer).post(f"/developer/apps/{public_app.pk}/rotate_secret"),
             errors.InvalidParametersError)
    # it may revoke its own tokens with its client_id (RFC 7009)
    revoked = Client().post("/oauth/revoke_token/", {"client_id": public_app.client_id,
                                                    "token": tokens["refresh_token"]})
    assert revoked.status_code == 200 and not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_a_public_apps_redirect_uris_keep_their_rules_when_changed(developer, public_app):
    client = client_for(developer)
    envelope(client.patch(f"/developer/apps/{public_app.pk}", {"redirect_uris": "http://app.example/cb"},
                          format="json"), errors.InvalidParametersError)
    body = envelope(client.patch(f"/developer/apps/{public_app.pk}", {"redirect_uris": "https://new.example/cb"},
                                 format="json"), status=200)
    assert body["data"]["redirect_uris"] == ["https://new.example/cb"]
    public_app.refresh_from_db()
    assert public_app.allowed_origins == "https://new.example"


def test_metadata_offers_public_clients_at_the_token_endpoint_but_not_introspection(db):
    data = Client().get("/oauth/.well-known/oauth-authorization-server").json()
    assert "none" in data["token_endpoint_auth_methods_supported"]
    assert "none" not in data["introspection_endpoint_auth_methods_supported"]
    assert "none" in Client().get("/.well-known/openid-configuration").json()["token_endpoint_auth_methods_supported"]
