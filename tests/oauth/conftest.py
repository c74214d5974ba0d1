"""Fixtures for the OAuth tests: a developer's app, PKCE pairs and the authorization-code dance."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.oauth import applications
from tests.conftest import browser_sign_in, free_port
from tests.factories import UserFactory

CALLBACK = "https://app.example/cb"
SCOPES = "openid profile email read write"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def developer(db):
    return UserFactory(username="dev")


@pytest.fixture
def issued(developer):
    """The developer's app (the plaintext secret is only here)."""
    return applications.application_create(owner=developer, name="Photo Printer", redirect_uris=CALLBACK)


@pytest.fixture
def app(issued):
    return issued.application


@pytest.fixture
def browser_client(user):
    """A Django test client with alice signed in on the consent pages (a Django session)."""
    client = Client()
    browser_sign_in(client, user)
    return client


def authorize(client, app, *, challenge: str | None, scope: str = SCOPES, redirect_uri: str = CALLBACK,
              allow: bool = True, state: str = "st4te"):
    """GET the consent page, then POST the decision; returns the POST reply (a redirect on success)."""
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": state}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = client.get("/oauth/authorize/", params)
    assert page.status_code == 200, page.content[:500]
    return client.post("/oauth/authorize/", {**params, "allow": "Authorize"} if allow else params)


def code_for(client, app, *, scope: str = SCOPES) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    reply = authorize(client, app, challenge=challenge, scope=scope)
    assert reply.status_code == 302, reply.content[:500]
    return query_of(reply["Location"])["code"], verifier


def exchange(code: str, verifier: str | None, app, secret: str, *, redirect_uri: str = CALLBACK):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": app.client_id, "client_secret": secret}
    if verifier is not None:
        data["code_verifier"] = verifier
    return Client().post("/oauth/token/", data)


def tokens_for(client, app, secret: str, *, scope: str = SCOPES) -> dict:
    code, verifier = code_for(client, app, scope=scope)
    reply = exchange(code, verifier, app, secret)
    assert reply.status_code == 200, reply.content
    return reply.json()


@pytest.fixture
def callback():
    """A client's loopback redirect URI on a port nobody listens on: a browser's request to it is intercepted,
    never served."""
    return f"http://127.0.0.1:{free_port()}/cb"
