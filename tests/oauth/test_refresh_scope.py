"""The scope of a refresh (RFC 6749 section 6): any part of what the user granted, all of it when none is
named, never more, however many refreshes asked for less before."""

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, RefreshToken

from accounts.models import OAuthCode
from accounts.oauth import codes
from tests.migrations import MigrationSteps
from tests.oauth.conftest import SCOPES, tokens_for

pytestmark = pytest.mark.django_db


def refreshed(app, issued, refresh_token: str, scope: str | None = None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id,
            "client_secret": issued.client_secret}
    if scope is not None:
        data["scope"] = scope
    return Client().post("/oauth/token/", data)


def narrowed(browser_client, app, issued, *, granted: str = SCOPES, to: str = "read") -> dict:
    """Tokens of an authorization of `granted`, refreshed once asking for `to` only."""
    tokens = tokens_for(browser_client, app, issued.client_secret, scope=granted)
    reply = refreshed(app, issued, tokens["refresh_token"], to)
    assert reply.status_code == 200 and reply.json()["scope"] == to
    return reply.json()


def scope_of(access_token: str) -> set[str]:
    return set(AccessToken.objects.get(token_checksum=codes.code_hash(access_token)).scope.split())


def test_a_refresh_may_ask_again_for_what_an_earlier_refresh_left_out(browser_client, app, issued):
    tokens = narrowed(browser_client, app, issued)
    wide = refreshed(app, issued, tokens["refresh_token"], SCOPES)
    assert wide.status_code == 200 and set(wide.json()["scope"].split()) == set(SCOPES.split())
    assert scope_of(wide.json()["access_token"]) == set(SCOPES.split()) and wide.json()["id_token"]
    # and narrowing twice in a row still leaves the whole grant to the family's next refresh
    again = refreshed(app, issued, refreshed(app, issued, wide.json()["refresh_token"], "read").json()["refresh_token"],
                      "write")
    assert again.status_code == 200 and again.json()["scope"] == "write"


def test_a_refresh_naming_no_scope_gets_the_whole_grant_after_a_narrower_one(browser_client, app, issued):
    tokens = narrowed(browser_client, app, issued, to="profile")
    whole = refreshed(app, issued, tokens["refresh_token"])
    assert whole.status_code == 200 and set(whole.json()["scope"].split()) == set(SCOPES.split())
    assert scope_of(whole.json()["access_token"]) == set(SCOPES.split()) and whole.json()["id_token"]


@pytest.mark.parametrize("beyond", ["read write email", "admin", "write profile"])
def test_a_refresh_asking_beyond_the_grant_is_invalid_scope_even_after_a_narrower_one(browser_client, app, issued,
                                                                                       beyond):
    tokens = narrowed(browser_client, app, issued, granted="openid read write")
    refused = refreshed(app, issued, tokens["refresh_token"], beyond)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert scope_of(tokens["access_token"]) == {"read"}  # nothing issued, nothing rotated
    # what was refused is the scope beyond the grant, not the part a narrower refresh left out
    within = refreshed(app, issued, tokens["refresh_token"], "write")
    assert within.status_code == 200 and within.json()["scope"] == "write"


def test_a_narrowed_refresh_token_of_a_revoked_family_gets_nothing_back(browser_client, app, issued):
    tokens = narrowed(browser_client, app, issued)
    auth = {"client_id": app.client_id, "client_secret": issued.client_secret}
    assert Client().post("/oauth/revoke_token/", {**auth, "token": tokens["refresh_token"]}).status_code == 200
    for scope in (SCOPES, None):
        reply = refreshed(app, issued, tokens["refresh_token"], scope)
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_a_replayed_narrowed_refresh_token_still_revokes_its_family(browser_client, app, issued):
    first = tokens_for(browser_client, app, issued.client_secret)
    narrow = refreshed(app, issued, first["refresh_token"], "read").json()
    wide = refreshed(app, issued, narrow["refresh_token"]).json()
    replay = refreshed(app, issued, narrow["refresh_token"], SCOPES)  # the stolen copy, used after its owner
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    stolen = refreshed(app, issued, wide["refresh_token"], SCOPES)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists() and not AccessToken.objects.exists()


def test_a_family_whose_grant_was_noted_without_its_scope_keeps_the_last_tokens_scope(browser_client, app, issued):
    # Codes noted before their scope was (and families older than the notes) have only their last token's
    # scope to go by: no refresh may go past it.
    tokens = narrowed(browser_client, app, issued)
    OAuthCode.objects.update(scope=None)
    assert refreshed(app, issued, tokens["refresh_token"], "write").json()["error"] == "invalid_scope"
    same = refreshed(app, issued, tokens["refresh_token"])
    assert same.status_code == 200 and same.json()["scope"] == "read"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_notes_each_live_familys_scope_as_its_grant(browser_client, app, issued):
    live = narrowed(browser_client, app, issued, granted="openid read write", to="openid read")
    dead = tokens_for(browser_client, app, issued.client_secret)
    families = {name: RefreshToken.objects.get(token_checksum=codes.code_hash(tokens["refresh_token"])).token_family
                for name, tokens in (("live", live), ("dead", dead))}
    RefreshToken.revoke_family(families["dead"])
    steps = MigrationSteps()
    steps.apps_at([("accounts", "0017_login_name_not_tiers")])
    Code = steps.apps_at([("accounts", "0018_oauth_code_scope")]).get_model("accounts", "OAuthCode")
    # the live family's last scope, the most known of its grant; a revoked family never refreshes again
    assert dict(Code.objects.values_list("token_family", "scope")) == {families["live"]: "openid read",
                                                                       families["dead"]: None}
    steps.to_latest()


def test_introspecting_a_narrowed_refresh_token_gives_the_whole_grant(browser_client, app, issued):
    """RFC 7662's scope of a refresh token: what it can still get, not what its last refresh asked for."""
    tokens = narrowed(browser_client, app, issued)
    auth = {"client_id": app.client_id, "client_secret": issued.client_secret}
    refresh = Client().post("/oauth/introspect/", {**auth, "token": tokens["refresh_token"]}).json()
    assert refresh["active"] and refresh["token_type"] == "refresh_token"
    assert set(refresh["scope"].split()) == set(SCOPES.split())
    access = Client().post("/oauth/introspect/", {**auth, "token": tokens["access_token"]}).json()
    assert access["active"] and access["scope"] == "read"
