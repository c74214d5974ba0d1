"""The back office for OAuth apps goes through the same services (revocation, deletion)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from accounts.models import AuditEvent
from accounts.oauth import applications
from accountsite.errors import NotAuthenticatedError
from tests.conftest import browser_sign_in, staff_user
from tests.oauth.conftest import CALLBACK, code_for, tokens_for

pytestmark = pytest.mark.django_db


def test_application_list_shows_owner_and_redirect_uris(operator, app):
    page = operator.get("/admin/oauth2_provider/application/")
    assert page.status_code == 200
    assert b"Photo Printer" in page.content and CALLBACK.encode() in page.content and b"dev" in page.content


def test_revoke_action_ends_tokens_and_grants_but_keeps_the_app(operator, browser_client, app, issued):
    tokens_for(browser_client, app, issued.client_secret)
    code_for(browser_client, app)
    reply = operator.post("/admin/oauth2_provider/application/", {
        "action": "revoke_credentials", "_selected_action": [app.pk]})
    assert reply.status_code == 302
    assert not AccessToken.objects.exists() and not Grant.objects.exists()
    assert Application.objects.filter(pk=app.pk).exists()
    assert AuditEvent.objects.filter(action="oauth.app_revoke").exists()


def test_admin_delete_goes_through_the_service(operator, browser_client, app, issued):
    tokens_for(browser_client, app, issued.client_secret)
    reply = operator.post(f"/admin/oauth2_provider/application/{app.pk}/delete/", {"post": "yes"})
    assert reply.status_code == 302
    assert not Application.objects.exists() and not AccessToken.objects.exists()
    assert AuditEvent.objects.filter(action="oauth.app_delete").exists()


def test_grant_admin_revokes_codes(operator, browser_client, app):
    code_for(browser_client, app)
    grant = Grant.objects.get()
    reply = operator.post("/admin/oauth2_provider/grant/", {"action": "revoke_grants", "_selected_action": [grant.pk]})
    assert reply.status_code == 302 and not Grant.objects.exists()


@pytest.mark.parametrize(("model", "door"), [("accesstoken", "revoke_tokens"), ("refreshtoken", "revoke_tokens"),
                                             ("grant", "revoke_grants"), ("grant", "delete page")])
def test_an_operator_revoking_tokens_or_codes_is_on_the_users_trail(operator, browser_client, app, issued, user,
                                                                     admin_user, model, door):
    """Revoked from the lists, tokens and codes ended with no audit row: the user's trail names the operator,
    what ended and the app, as the app-wide revocation's row does."""
    tokens = tokens_for(browser_client, app, issued.client_secret)
    code_for(browser_client, app)
    credential = {"accesstoken": AccessToken, "refreshtoken": RefreshToken, "grant": Grant}[model].objects.get()
    listing = f"/admin/oauth2_provider/{model}/"
    if door == "delete page":
        reply = operator.post(f"{listing}{credential.pk}/delete/", {"post": "yes"})
    else:
        reply = operator.post(listing, {"action": door, "_selected_action": [credential.pk]})
    assert reply.status_code == 302
    event = AuditEvent.objects.get(action="oauth.credentials_revoke")
    kind = {"accesstoken": "access token", "refreshtoken": "refresh token", "grant": "authorization code"}[model]
    assert (event.user, event.actor) == (user, admin_user)
    assert event.data == {"kind": kind, "count": 1, "client_ids": [app.client_id]}
    if model == "grant":
        assert not Grant.objects.exists()
    else:  # the pair ends together, the refresh token kept as revoked (a replay is still recognised)
        assert not AccessToken.objects.exists() and RefreshToken.objects.get().revoked is not None
        refreshed = Client().post("/oauth/token/", {
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": app.client_id,
            "client_secret": issued.client_secret})
        assert refreshed.status_code == 400


def test_reset_secret_shows_no_secret_and_the_old_one_stops(operator, app, issued):
    reply = operator.post("/admin/oauth2_provider/application/", {
        "action": "reset_secret", "_selected_action": [app.pk]}, follow=True)
    text = reply.content.decode()
    assert "Reset the secret of 1 application" in text and issued.client_secret not in text
    with pytest.raises(NotAuthenticatedError):
        applications.application_authenticate(client_id=app.client_id, client_secret=issued.client_secret)


def test_reset_secret_reports_a_public_client_and_resets_the_others(operator, app, issued, developer):
    """A public client has no secret: the action says so for that app, resets the rest, and is no 500."""
    public = applications.application_create(owner=developer, client_type=Application.CLIENT_PUBLIC,
                                              redirect_uris="https://spa.example/cb").application
    reply = operator.post("/admin/oauth2_provider/application/", {
        "action": "reset_secret", "_selected_action": [public.pk, app.pk]}, follow=True)
    text = reply.content.decode()
    refusals = [str(message) for message in reply.context["messages"]]
    assert reply.status_code == 200 and f"{public}: A public client has no secret to rotate." in refusals
    assert "Reset the secret of 1 application" in text
    with pytest.raises(NotAuthenticatedError):
        applications.application_authenticate(client_id=app.client_id, client_secret=issued.client_secret)


@pytest.mark.parametrize("model", ["application", "accesstoken", "grant"])
def test_an_operator_who_may_not_see_users_searches_their_login_names_not_their_addresses(operator, browser_client,
                                                                                          app, issued, developer,
                                                                                          model):
    """A search narrowing a list a letter at a time reads the column it searches: by e-mail address only for
    operators who may see users."""
    tokens_for(browser_client, app, issued.client_secret)
    code_for(browser_client, app)
    owner = developer if model == "application" else app_user(model)
    apps_only = Client()
    browser_sign_in(apps_only, staff_user("appmgr", permissions=(f"oauth2_provider.view_{model}",)))
    listing = f"/admin/oauth2_provider/{model}/"

    def found(client: Client, search: str) -> int:
        reply = client.get(listing, {"q": search})
        assert reply.status_code == 200
        return reply.context["cl"].result_count

    address_part = "@" + owner.email.split("@")[1]  # in no login name, app name or client id
    assert found(apps_only, owner.username) == found(operator, owner.username) >= 1
    assert found(operator, address_part) >= 1 and found(apps_only, address_part) == 0


def app_user(model: str):
    """The user the browser client's tokens and codes were made for."""
    return {"accesstoken": AccessToken, "grant": Grant}[model].objects.select_related("user").first().user


@pytest.mark.parametrize("model", ["application", "accesstoken", "refreshtoken", "idtoken", "grant"])
def test_apps_and_tokens_are_read_only_even_for_a_superuser(operator, browser_client, app, issued, model):
    """Editing an app's owner, redirect URIs or secret, or a token's or code's user, would hand over the
    users who trust the app; developers manage apps at /developer/apps/, operators revoke or delete."""
    tokens_for(browser_client, app, issued.client_secret)
    code_for(browser_client, app)
    from oauth2_provider.models import IDToken, RefreshToken

    row = {"application": app, "accesstoken": AccessToken.objects.first(), "refreshtoken": RefreshToken.objects.first(),
           "idtoken": IDToken.objects.first(), "grant": Grant.objects.first()}[model]
    page = operator.get(f"/admin/oauth2_provider/{model}/{row.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    # No stored secret, nor its hash: a client secret's hash, a token or its checksum, a code.
    stored = [str(getattr(row, name)) for name in ("client_secret", "token", "token_checksum", "code")
              if getattr(row, name, "")]
    assert stored or model == "idtoken"
    assert not [value for value in stored if value.encode() in page.content]
    assert operator.post(f"/admin/oauth2_provider/{model}/{row.pk}/change/", {"user": 1}).status_code == 403


def test_an_application_has_no_view_on_site(operator, app):
    """The change page showed "View on site", whose address was a 500: DOT's Application.get_absolute_url
    reverses its own management pages ('oauth2_provider:detail'), which this service does not serve."""
    page = operator.get(f"/admin/oauth2_provider/application/{app.pk}/change/")
    assert page.status_code == 200 and "View on site" not in page.content.decode()
    content_type = ContentType.objects.get_for_model(Application)
    assert operator.get(f"/admin/r/{content_type.pk}/{app.pk}/").status_code == 404
