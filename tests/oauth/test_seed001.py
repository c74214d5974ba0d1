"""Seed 001: developer mode on PATCH /auth/me, a code at login or after consent, and POST /oauth/."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.oauth import applications, seed
from accountsite import errors
from tests.conftest import envelope
from tests.factories import PASSWORD
from tests.oauth.conftest import CALLBACK, code_for, exchange, query_of

pytestmark = pytest.mark.django_db


def seed_exchange(secret_id: str, secret_value: str, code: str):
    return APIClient().post("/oauth/", {"secret_id": secret_id, "secret_value": secret_value,
                                        "authorization_code": code}, format="json")


def test_developer_mode_round_trip(user_client, other):
    # alice turns developer mode on and registers her callback
    body = envelope(user_client.patch("/auth/", {"is_developer": True, "redirect_uris": CALLBACK}, format="json"))
    data = body["data"]
    secret_id, secret_value = data["secret_id"], data["secret_value"]
    assert data["is_developer"] is True and data["developer"]["client_id"] == secret_id
    application = Application.objects.get(client_id=secret_id)
    assert application.user.username == "alice" and application.redirect_uris == CALLBACK
    assert application.client_secret != secret_value  # stored hashed
    assert application.client_type == "confidential" and application.authorization_grant_type == "authorization-code"

    # GET /auth/ names the client but never shows the secret again
    me = envelope(user_client.get("/auth/"))["data"]
    assert me["developer"]["client_id"] == secret_id and "secret_value" not in str(me)

    # bob signs in to alice's app (seed 001: login with secret_id + redirect_uri in the query)
    login = APIClient().post(f"/login/?secret_id={secret_id}&redirect_uri={CALLBACK}",
                             {"username": "bob", "password": PASSWORD}, format="json")
    reply = envelope(login)["data"]
    assert reply["access"] and reply["redirect_uri"] == CALLBACK and reply["authorization_code"]

    # alice's server exchanges the code with the secret
    user = envelope(seed_exchange(secret_id, secret_value, reply["authorization_code"]))["data"]
    assert user == {"username": "bob", "email": "bob@example.com"}

    # the code is single use
    envelope(seed_exchange(secret_id, secret_value, reply["authorization_code"]), errors.InvalidSecretError)


def test_login_with_client_in_the_body_and_client_id_spelling(issued, user):
    reply = envelope(APIClient().post("/auth/login", {
        "login": "alice", "password": PASSWORD, "client_id": issued.application.client_id, "redirect_uri": CALLBACK,
    }, format="json"))["data"]
    assert Grant.objects.get(code=reply["authorization_code"]).code_challenge == ""


def test_developer_mode_twice_creates_no_second_app(user_client):
    envelope(user_client.patch("/auth/me", {"is_developer": True}, format="json"))
    again = envelope(user_client.patch("/auth/me", {"is_developer": True}, format="json"))["data"]
    assert "secret_value" not in again and again["developer"]["apps"] == 1
    assert Application.objects.count() == 1


@pytest.mark.parametrize(("payload", "field"), [
    ({"is_developer": True, "redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
    ({"is_developer": True, "redirect_uris": "/relative/cb"}, "redirect_uris"),
    ({"is_developer": True, "redirect_uris": "https://app.example/cb#frag"}, "redirect_uris"),
    ({"is_developer": True, "redirect_uris": "ftp://app.example/cb"}, "redirect_uris"),
    ({"is_developer": True, "redirect_uris": "https://app.example/cb\x00x"}, "redirect_uris"),
    ({"is_developer": True, "redirect_uris": ["https://ok.example/cb", 5]}, "redirect_uris"),
    ({"is_developer": True, "nickname": "New", "redirect_uris": "https://user:pw@app.example/cb"}, "redirect_uris"),
    ({"redirect_uris": CALLBACK}, "is_developer"),
    ({"is_developer": "maybe"}, "is_developer"),
])
def test_developer_mode_bad_input_changes_nothing(user_client, user, payload, field):
    body = envelope(user_client.patch("/auth/me", payload, format="json"), errors.InvalidParametersError)
    assert field in body["error"]
    user.refresh_from_db()
    assert user.is_developer is False and user.nickname == "Alice"
    assert not Application.objects.exists()


def test_developer_mode_cannot_be_turned_off_by_patch(user_client, user):
    envelope(user_client.patch("/auth/me", {"is_developer": True}, format="json"))
    envelope(user_client.patch("/auth/me", {"is_developer": False}, format="json"), errors.InvalidParametersError)
    user.refresh_from_db()
    assert user.is_developer is True and Application.objects.count() == 1


@pytest.mark.parametrize(("query", "error"), [
    ("secret_id=nope&redirect_uri=https://app.example/cb", errors.NotFoundError),
    ("secret_id={client_id}&redirect_uri=https://evil.example/cb", errors.InvalidParametersError),
    ("secret_id={client_id}&redirect_uri=https://app.example/cb?x=1", errors.InvalidParametersError),
    ("secret_id={client_id}", errors.InvalidParametersError),
])
def test_login_with_a_bad_client_or_redirect_issues_nothing(app, user, query, error):
    reply = APIClient().post("/login/?" + query.format(client_id=app.client_id),
                             {"username": "alice", "password": PASSWORD}, format="json")
    envelope(reply, error)
    assert not Session.objects.filter(user=user).exists() and not Grant.objects.exists()


def test_wrong_secret_is_7005_and_keeps_the_code(issued, user):
    grant = seed.seed_code_issue(user=user, target=seed.seed_target_resolve(
        client_id=issued.application.client_id, redirect_uri=CALLBACK))
    envelope(seed_exchange(issued.application.client_id, "wrong-secret", grant.code), errors.NotAuthenticatedError)
    envelope(seed_exchange("unknown-client", issued.client_secret, grant.code), errors.NotAuthenticatedError)
    assert Grant.objects.filter(pk=grant.pk).exists()
    assert envelope(seed_exchange(issued.application.client_id, issued.client_secret, grant.code))["data"][
        "username"] == "alice"


def test_code_expires_after_60_seconds(issued, user):
    target = seed.seed_target_resolve(client_id=issued.application.client_id, redirect_uri=CALLBACK)
    issued_at = timezone.now() - timedelta(seconds=61)
    grant = seed.seed_code_issue(user=user, target=target, now=issued_at)
    assert grant.expires == issued_at + timedelta(seconds=60)
    with pytest.raises(errors.InvalidSecretError):
        seed.seed_code_exchange(client_id=issued.application.client_id, client_secret=issued.client_secret,
                                 code=grant.code)
    # within its minute the same kind of code works, by the service clock
    fresh = seed.seed_code_issue(user=user, target=target)
    assert seed.seed_code_exchange(client_id=issued.application.client_id, client_secret=issued.client_secret,
                                    code=fresh.code, now=fresh.expires - timedelta(seconds=1)) == user


def test_code_of_another_client_is_8005(issued, developer, user):
    other = applications.application_create(owner=developer, name="Other", redirect_uris=CALLBACK)
    grant = seed.seed_code_issue(user=user, target=seed.seed_target_resolve(
        client_id=issued.application.client_id, redirect_uri=CALLBACK))
    envelope(seed_exchange(other.application.client_id, other.client_secret, grant.code), errors.InvalidSecretError)


def test_flows_cannot_redeem_each_others_codes(browser_client, issued, user):
    app, secret = issued.application, issued.client_secret
    # a PKCE code of the standard flow is refused by the seed exchange (it would skip PKCE) ...
    code, verifier = code_for(browser_client, app)
    envelope(seed_exchange(app.client_id, secret, code), errors.InvalidSecretError)
    assert exchange(code, verifier, app, secret).status_code == 200  # still the standard flow's to redeem
    AccessToken.objects.all().delete()
    # ... and a seed code (no PKCE challenge) is refused by the token endpoint
    grant = seed.seed_code_issue(user=user, target=seed.seed_target_resolve(client_id=app.client_id,
                                                                              redirect_uri=CALLBACK))
    reply = exchange(grant.code, "v" * 64, app, secret)
    assert reply.status_code == 400 and not AccessToken.objects.exists()


def test_seed_exchange_bad_input(db):
    body = envelope(APIClient().post("/oauth/", {"secret_id": "x"}, format="json"), errors.InvalidParametersError)
    assert set(body["error"]) == {"secret_value", "authorization_code"}


def test_get_oauth_redirects_to_the_consent_page_and_back_with_a_code(browser_client, issued, user):
    app = issued.application
    start = browser_client.get("/oauth/", {"secret_id": app.client_id, "redirect_uri": CALLBACK, "state": "s1"})
    assert start.status_code == 302 and start["Location"].startswith("/oauth/consent/?")
    page = browser_client.get(start["Location"])
    assert page.status_code == 200
    assert b"Photo Printer" in page.content and b"See your e-mail address" in page.content
    params = query_of(start["Location"])
    back = browser_client.post("/oauth/consent/", {**params, "allow": "Authorize"})
    assert back.status_code == 302 and back["Location"].startswith(CALLBACK + "?")
    answer = query_of(back["Location"])
    assert answer["state"] == "s1"
    assert envelope(seed_exchange(app.client_id, issued.client_secret, answer["code"]))["data"]["username"] == "alice"


def test_consent_denied_redirects_with_access_denied(browser_client, app):
    params = {"client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s2"}
    back = browser_client.post("/oauth/consent/", params)
    assert back.status_code == 302 and query_of(back["Location"]) == {"error": "access_denied", "state": "s2"}
    assert not Grant.objects.exists()


def test_consent_page_needs_a_signed_in_user(app):
    page = Client().get("/oauth/consent/", {"client_id": app.client_id, "redirect_uri": CALLBACK})
    assert page.status_code == 302 and page["Location"].startswith("/oauth/login/?next=")


@pytest.mark.parametrize(("query", "error"), [
    ({"secret_id": "nope", "redirect_uri": CALLBACK}, errors.NotFoundError),
    ({"secret_id": "{client_id}", "redirect_uri": "https://evil.example/cb"}, errors.InvalidParametersError),
    ({"redirect_uri": CALLBACK}, errors.InvalidParametersError),
])
def test_get_oauth_with_bad_client_or_redirect(app, query, error):
    query = {name: value.format(client_id=app.client_id) for name, value in query.items()}
    envelope(Client().get("/oauth/", query), error)


def test_consent_post_with_a_tampered_redirect_issues_nothing(browser_client, app):
    reply = browser_client.post("/oauth/consent/", {"client_id": app.client_id, "allow": "Authorize",
                                                    "redirect_uri": "https://evil.example/cb"})
    assert reply.status_code == 400 and "Location" not in reply and not Grant.objects.exists()


def test_standard_and_seed_flows_share_the_sign_in_page(app):
    """The login page uses the API's rules: a wrong password shows a generic error, no session."""
    client = Client()
    page = client.get("/oauth/login/", {"next": "/oauth/consent/"})
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    wrong = client.post("/oauth/login/", {"login": "dev", "password": "wrong-password", "next": "/oauth/consent/"})
    assert wrong.status_code == 401 and b"Wrong login name or password" in wrong.content
    assert "_auth_user_id" not in client.session
    right = client.post("/oauth/login/", {"login": "dev", "password": PASSWORD, "next": "/oauth/consent/"})
    assert right.status_code == 302 and right["Location"] == "/oauth/consent/"
    assert client.session["_auth_user_id"] == str(User.objects.get(username="dev").pk)


def test_sign_in_page_refuses_frozen_users_and_offsite_next(db):
    from tests.factories import UserFactory

    UserFactory(username="frozen", status=5)
    client = Client()
    frozen = client.post("/oauth/login/", {"login": "frozen", "password": PASSWORD})
    assert frozen.status_code == 401 and "_auth_user_id" not in client.session
    UserFactory(username="carol")
    offsite = client.post("/oauth/login/", {"login": "carol", "password": PASSWORD, "next": "https://evil.example/"})
    assert offsite.status_code == 200 and b"signed in as" in offsite.content.lower()


def test_sign_in_page_locks_like_the_api(db, settings):
    from tests.factories import UserFactory

    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 2
    UserFactory(username="dana")
    client = Client()
    for _ in range(2):
        assert client.post("/oauth/login/", {"login": "dana", "password": "bad-password"}).status_code == 401
    locked = client.post("/oauth/login/", {"login": "dana", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session



def test_me_of_a_non_developer_has_no_developer_block(user_client):
    data = envelope(user_client.get("/auth/me"))["data"]
    assert data["developer"] is None and data["is_developer"] is False
