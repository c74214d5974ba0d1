"""/developer/apps/: who may do what, bad input changing nothing, secret rotation and deletion."""

import json

import pytest
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from accounts.oauth import applications
from accountsite import errors
from tests.conftest import envelope
from tests.oauth.conftest import CALLBACK, exchange, tokens_for
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_app(user):
    return applications.application_create(owner=user, name="Alice's app", redirect_uris=CALLBACK)


def _call(client, action: str, pk: int):
    return {
        "list": lambda: client.get("/developer/apps/"),
        "create": lambda: client.post("/developer/apps/", {"name": "New", "redirect_uris": CALLBACK}, format="json"),
        "retrieve": lambda: client.get(f"/developer/apps/{pk}"),
        "update": lambda: client.patch(f"/developer/apps/{pk}", {"name": "Renamed"}, format="json"),
        "rotate": lambda: client.post(f"/developer/apps/{pk}/rotate_secret"),
        "delete": lambda: client.delete(f"/developer/apps/{pk}"),
    }[action]()


@pytest.mark.parametrize("action", ["list", "create", "retrieve", "update", "rotate", "delete"])
@pytest.mark.parametrize(("who", "error"), [("anon", errors.NotAuthenticatedError), ("other", errors.NotFoundError),
                                           ("owner", None)])
def test_permission_matrix(request, alice_app, action, who, error):
    client = request.getfixturevalue({"anon": "anon_client", "other": "other_client", "owner": "user_client"}[who])
    before = Application.objects.get(pk=alice_app.application.pk)
    if who == "other" and action in ("list", "create"):
        error = None  # bob sees his own (empty) list and may create his own app
    body = envelope(_call(client, action, alice_app.application.pk), error)
    after = Application.objects.filter(pk=before.pk).first()
    if error is not None or action in ("list", "create", "retrieve"):
        assert after is not None and (after.name, after.client_secret) == (before.name, before.client_secret)
    if who == "other" and action == "list":
        assert body["data"]["results"] == []
    if error is None and action in ("create", "rotate"):
        assert body["data"]["secret_value"] and body["data"]["secret_id"]
    if error is None and action in ("list", "retrieve", "update"):
        assert "secret_value" not in str(body["data"]) and before.client_secret not in str(body["data"])


def test_create_turns_developer_mode_on_and_lists_only_own_apps(other_client, other, alice_app):
    body = envelope(other_client.post("/developer/apps/", {"name": "Bob's", "redirect_uris": [CALLBACK]},
                                      format="json"), status=201)
    other.refresh_from_db()
    assert other.is_developer and body["data"]["redirect_uris"] == [CALLBACK]
    listed = envelope(other_client.get("/developer/apps/"))["data"]
    assert listed["total"] == 1 and listed["results"][0]["name"] == "Bob's"


@pytest.mark.parametrize("redirect_uris", [
    "not a uri", "/relative", "https://app.example/cb#x", "javascript:alert(1)", "data:text/html,hi",
    "https://u:p@app.example/cb", {"uri": CALLBACK}, " ".join(f"https://a{i}.example/cb" for i in range(11)),
    "https://app.example/cb\x00x", "https://app.example/cb\x01x",
    "https://app.example/cb\x7f", "https://app.ex\u00e4mple/cb", ["https://app.example/\x00"],
])
def test_bad_redirect_uris_change_nothing(user_client, alice_app, redirect_uris):
    pk = alice_app.application.pk
    body = envelope(user_client.patch(f"/developer/apps/{pk}", {"name": "Changed", "redirect_uris": redirect_uris},
                                      format="json"), errors.InvalidParametersError)
    assert "redirect_uris" in body["error"]
    envelope(user_client.post("/developer/apps/", {"redirect_uris": redirect_uris}, format="json"),
             errors.InvalidParametersError)
    assert Application.objects.count() == 1
    application = Application.objects.get(pk=pk)
    assert application.name == "Alice's app" and application.redirect_uris == CALLBACK


@pytest.mark.parametrize("body", [
    {"redirect_uris": ["https://app.example/cb", "<script>x</script>"]},  # not absolute
    {"redirect_uris": "https://app.example:99999/<script>x</script>"},  # no port
    {"redirect_uris": "https://app.example/<script>x</script>#frag"},  # a fragment
    {"redirect_uris": "https://u:p@app.example/<script>x</script>"},  # credentials
    {"client_type": "public", "redirect_uris": "http://app.example/<script>x</script>"},  # not for a public client
    {"client_type": "<script>x</script>", "redirect_uris": "https://app.example/cb"},
])
def test_a_refused_app_names_the_field_and_echoes_nothing(user_client, body):
    """A 400 never echoes the input back: a refused redirect URI is named by its place in the list."""
    reply = envelope(user_client.post("/developer/apps/", body, format="json"), errors.InvalidParametersError)
    assert "<script>" not in json.dumps(reply) and set(reply["error"]) <= {"redirect_uris", "client_type"}
    if "client_type" not in reply["error"]:
        assert "Redirect URI" in reply["msg"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/developer/apps/", '{"redirect_uris": "https://app.example/\\ud800"}'),
    ("post", "/developer/apps/", '{"client_type": "public", "redirect_uris": ["com.example.app:/cb\\udfff"]}'),
    ("patch", "/auth/me", '{"is_developer": true, "redirect_uris": "https://app.example/\\ud800"}'),
])
def test_a_lone_surrogate_in_a_redirect_uri_is_1007(user_client, alice_app, method, path, body):
    """JSON can carry a lone surrogate (an escape); no database column stores one: it was a 500."""
    before = snapshot()
    reply = envelope(getattr(user_client, method)(path, body, content_type="application/json"),
                     errors.InvalidParametersError)
    assert "redirect_uris" in reply["error"]
    before.assert_unchanged()


def test_update_name_and_redirect_uris(user_client, alice_app):
    pk = alice_app.application.pk
    data = envelope(user_client.patch(f"/developer/apps/{pk}", {
        "name": "Renamed", "redirect_uris": "https://a.example/cb https://b.example/cb"}, format="json"))["data"]
    assert data["name"] == "Renamed" and data["redirect_uris"] == ["https://a.example/cb", "https://b.example/cb"]
    assert Application.objects.get(pk=pk).redirect_uris == "https://a.example/cb https://b.example/cb"


def test_removing_a_redirect_uri_ends_the_codes_sent_to_it(user_client, alice_app, browser_client, user):
    """A code already delivered to a redirect URI the developer has since removed (an address they lost, say)
    cannot be exchanged; a code sent to a URI that stays registered still can."""
    from oauth2_provider.models import Grant

    from accounts.oauth import seed
    from tests.oauth.conftest import code_for

    app, secret, kept = alice_app.application, alice_app.client_secret, "https://kept.example/cb"
    envelope(user_client.patch(f"/developer/apps/{app.pk}", {"redirect_uris": [CALLBACK, kept]}, format="json"))
    app.refresh_from_db()
    code, verifier = code_for(browser_client, app)
    seed_code = seed.seed_code_issue(user=user, target=seed.seed_target_resolve(client_id=app.client_id,
                                                                                redirect_uri=CALLBACK)).code
    kept_code = seed.seed_code_issue(user=user, target=seed.seed_target_resolve(client_id=app.client_id,
                                                                                redirect_uri=kept)).code
    envelope(user_client.patch(f"/developer/apps/{app.pk}", {"redirect_uris": kept}, format="json"))
    refused = exchange(code, verifier, app, secret)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    envelope(APIClient().post("/oauth/", {"secret_id": app.client_id, "secret_value": secret,
                                          "authorization_code": seed_code}, format="json"), errors.InvalidSecretError)
    assert list(Grant.objects.values_list("code", flat=True)) == [kept_code]
    envelope(APIClient().post("/oauth/", {"secret_id": app.client_id, "secret_value": secret,
                                          "authorization_code": kept_code}, format="json"))


def test_a_blank_name_gives_the_default_name_as_at_creation(user_client, alice_app):
    """The consent page asks "Authorize <name>?": a nameless app would ask about nothing."""
    pk = alice_app.application.pk
    for blank in ("", "   "):
        data = envelope(user_client.patch(f"/developer/apps/{pk}", {"name": blank}, format="json"))["data"]
        assert data["name"] == "alice's app"
    assert Application.objects.get(pk=pk).name == "alice's app"


def test_rotate_secret_returns_it_once_and_the_old_one_stops_working(user_client, alice_app, browser_client):
    app, old_secret = alice_app.application, alice_app.client_secret
    rotated = envelope(user_client.post(f"/developer/apps/{app.pk}/rotate_secret"))["data"]
    new_secret = rotated["secret_value"]
    assert new_secret and new_secret != old_secret
    shown = envelope(user_client.get(f"/developer/apps/{app.pk}"))["data"]
    assert "secret_value" not in shown and new_secret not in str(shown)
    # the old secret no longer authenticates the client; the new one does
    from tests.oauth.conftest import code_for

    code, verifier = code_for(browser_client, app)
    refused = exchange(code, verifier, app, old_secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert exchange(code, verifier, app, new_secret).status_code == 200
    envelope(APIClient().post("/oauth/", {"secret_id": app.client_id, "secret_value": old_secret,
                                          "authorization_code": "x"}, format="json"), errors.NotAuthenticatedError)


def test_delete_removes_the_app_and_its_tokens(user_client, alice_app, browser_client):
    app = alice_app.application
    tokens = tokens_for(browser_client, app, alice_app.client_secret)
    envelope(user_client.delete(f"/developer/apps/{app.pk}"))
    assert not Application.objects.filter(pk=app.pk).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    envelope(client.get("/auth/me"), errors.NotAuthenticatedError)
    envelope(user_client.get(f"/developer/apps/{app.pk}"), errors.NotFoundError)


@pytest.mark.parametrize("change", [
    lambda app, user: applications.application_update(application=app, actor=user, name="Renamed"),
    lambda app, user: applications.application_update(application=app, actor=user, redirect_uris="https://b.example/cb"),
    lambda app, user: applications.application_secret_rotate(application=app, actor=user),
], ids=["rename", "redirect_uris", "rotate"])
def test_a_change_to_an_app_deleted_meanwhile_is_404(user, alice_app, change):
    """PATCH or rotate_secret read the app, then a DELETE of it committed before they changed it (two requests
    at once): 1009, as a moment later, not a 500 (DoesNotExist, or a save that updated no row)."""
    stale = Application.objects.get(pk=alice_app.application.pk)
    applications.application_delete(application=alice_app.application, actor=user)
    with pytest.raises(errors.NotFoundError):
        change(stale, user)
    assert not Application.objects.exists()


def test_unknown_ids_are_404(user_client):
    envelope(user_client.get("/developer/apps/999999"), errors.NotFoundError)


def test_list_query_count_does_not_grow(user_client, user, django_assert_max_num_queries):
    for n in range(5):
        applications.application_create(owner=user, name=f"app {n}", redirect_uris=CALLBACK)
    with django_assert_max_num_queries(6):
        body = envelope(user_client.get("/developer/apps/"))
    assert body["data"]["total"] == 5
