"""OpenID Connect / OAuth conformance of the provider: the requests real relying parties send
(prompt, max_age, redirect_uri at the token endpoint, code replay, client errors, metadata)."""

import pytest
from django.test import Client
from oauth2_provider.models import Grant

from accounts.oauth import revocation
from tests.oauth.conftest import CALLBACK, SCOPES, pkce_pair, query_of, tokens_for

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


def test_prompt_none_consent_covers_the_scopes_granted_and_ends_with_the_tokens(browser_client, app, issued, user):
    tokens_for(browser_client, app, issued.client_secret, scope="openid profile")
    wider = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", scope="openid write"))
    assert query_of(wider["Location"])["error"] == "consent_required"
    same = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", scope="openid"))
    assert "code" in query_of(same["Location"])
    revocation.oauth_tokens_revoke(user=user)
    ended = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none", scope="openid"))
    assert query_of(ended["Location"])["error"] == "consent_required"


def test_prompt_none_with_another_value_is_invalid_and_unknown_clients_never_redirect(browser_client, app):
    mixed = browser_client.get("/oauth/authorize/", authorize_params(app, prompt="none login"))
    assert mixed.status_code == 302 and query_of(mixed["Location"])["error"] == "invalid_request"
    for client in (browser_client, Client()):
        unknown = client.get("/oauth/authorize/", authorize_params(app, prompt="none", client_id="nobody"))
        assert unknown.status_code == 400 and "Location" not in unknown
        evil = client.get("/oauth/authorize/", authorize_params(app, prompt="none",
                                                                redirect_uri="https://evil.example/cb"))
        assert evil.status_code == 400 and "Location" not in evil
