"""One spelling per field, unknown fields refused, one message for 7005, and a registration limit that counts
only real sign-ups."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import EMAIL_ASCII_VALIDATOR, User
from accounts.oauth import applications
from accounts.services import sessions
from accountsite import errors
from membership.models import TierType
from repos.services import repository_create
from tests.conftest import envelope
from tests.factories import PASSWORD
from tests.quotas.helpers import give_tier
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


def register(name, ip="203.0.113.30", **extra):
    return APIClient().post("/auth/register", {"username": name, "password": PASSWORD, **extra}, format="json",
                            REMOTE_ADDR=ip)


def test_refused_sign_ups_do_not_count_toward_the_registration_limit(settings):
    settings.ACCOUNTS_REGISTRATIONS_PER_IP = 2
    for _ in range(5):
        envelope(register("x"), errors.InvalidParametersError)  # too short a name
        envelope(APIClient().post("/auth/register", {"username": "shorty", "password": "short"}, format="json",
                                  REMOTE_ADDR="203.0.113.30"), errors.InvalidParametersError)
    envelope(register("first"), status=201)
    envelope(register("first"), errors.LoginNameTakenError)  # a duplicate counts: it probes names
    envelope(register("second"), errors.TooManyRequestsError)
    assert not User.objects.filter(username="second").exists()


def test_refused_sign_ups_by_name_do_not_count_either(settings):
    settings.ACCOUNTS_REGISTRATIONS_PER_IP = 1
    for _ in range(3):
        envelope(APIClient().post("/users/carol", {"password": "short"}, format="json", REMOTE_ADDR="203.0.113.31"),
                 errors.InvalidParametersError)
    envelope(APIClient().post("/users/carol", {"password": PASSWORD}, format="json", REMOTE_ADDR="203.0.113.31"),
             status=201)
    envelope(APIClient().post("/users/dave", {"password": PASSWORD}, format="json", REMOTE_ADDR="203.0.113.31"),
             errors.TooManyRequestsError)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/auth/register", {"username": "carol", "password": PASSWORD, "favourite_colour": "teal"}),
    ("post", "/auth/login", {"username": "alice", "password": PASSWORD, "remember_me": True}),
    ("post", "/repos/", {"name": "data", "visibilty": "private"}),
    ("put", "/vip/alice", {"userType": 3, "cost": "0.00", "validty": 2}),
    ("post", "/auth/logout", {"everywhere": True}),
])
def test_unknown_fields_are_refused_naming_the_fields(user, user_client, unchanged, method, path, body):
    response = getattr(user_client, method)(path, body, format="json")
    data = envelope(response, errors.InvalidParametersError)
    unknown = (set(body) - {"username", "password", "name", "userType", "cost"}).pop()
    assert list(data["error"]) == [unknown]
    assert "The fields are:" in data["error"][unknown][0] and unknown in data["msg"]
    unchanged()


NO_BODY = [("put", "/users/alice/forget/pwd"), ("post", "/users/alice/active/resend"),
           ("post", "/auth/login/passkey/options")]


@pytest.mark.parametrize(("method", "path"), NO_BODY)
@pytest.mark.parametrize("body", ['{"bogus": 1}', "{", "[1, 2]"])
def test_an_endpoint_that_reads_no_body_refuses_one_that_says_something(user, user_client, mailoutbox, method, path,
                                                                       body):
    before = snapshot()
    data = envelope(getattr(user_client, method)(path, body, content_type="application/json"),
                    errors.InvalidParametersError)
    if body == '{"bogus": 1}':
        assert data["error"] == {"bogus": ["Unknown field. This endpoint takes none."]}
    before.assert_unchanged()
    assert not mailoutbox


@pytest.mark.parametrize(("method", "path"), NO_BODY)
def test_an_endpoint_that_reads_no_body_takes_none_or_an_empty_object(user, user_client, method, path):
    envelope(getattr(user_client, method)(path), status=None)
    envelope(getattr(user_client, method)(path, "{}", content_type="application/json"), status=None)


def _deletions(user, user_client) -> list[str]:
    """The paths of DELETEs that read no body, each naming something of alice's."""
    app = applications.application_create(owner=user, name="Printer", redirect_uris="https://app.example/cb").application
    repository_create(owner=give_tier(user, TierType.GOLD), name="data")
    another_session, _pair = sessions.session_start(user=user, terminal="tablet", ip="127.0.0.1", user_agent="pytest")
    return [f"/auth/sessions/{another_session.pk}", "/repos/alice/data", f"/developer/apps/{app.pk}", "/users/alice"]


@pytest.mark.parametrize("body", [({"password": "not-hers"}, "json"), ({"password": "not-hers"}, "multipart"),
                                  ("[1]", None)])
def test_a_deletion_refuses_a_body_that_says_something(user, user_client, body):
    """A DELETE read no body and dropped whatever one said: DELETE /users/alice {"password": "wrong"} deleted
    the account of a client that believed its password was being checked."""
    paths = _deletions(user, user_client)
    before = snapshot()
    data, kind = body
    for path in paths:
        reply = (user_client.delete(path, data, content_type="application/json") if kind is None
                 else user_client.delete(path, data, format=kind))
        answer = envelope(reply, errors.InvalidParametersError)
        if kind is not None:
            assert answer["error"] == {"password": ["Unknown field. This endpoint takes none."]}
    before.assert_unchanged()


def test_a_deletion_takes_no_body_or_an_empty_object(user, user_client):
    for path in _deletions(user, user_client):  # the account last: its deletion ends the session
        envelope(user_client.delete(path, "{}" if "apps" in path else None, content_type="application/json"))


def test_the_password_check_refuses_unknown_fields_in_a_body(user):
    data = envelope(APIClient().post("/users/alice/pwd/validate", {"pwd": PASSWORD, "bogus": 1}, format="json"),
                    errors.InvalidParametersError)
    assert list(data["error"]) == ["bogus"]
    envelope(APIClient().post("/users/alice/pwd/validate", {"pwd": PASSWORD}, format="json"))
    envelope(APIClient().get("/users/alice/pwd/validate", {"pwd": PASSWORD}))


def test_an_apps_unknown_field_is_refused(user, user_client):
    app = applications.application_create(owner=user, name="Printer", redirect_uris="https://app.example/cb").application
    data = envelope(user_client.patch(f"/developer/apps/{app.pk}", {"name": "New", "redirect_uri": "https://x.example/cb"},
                                      format="json"), errors.InvalidParametersError)
    assert list(data["error"]) == ["redirect_uri"] and "redirect_uris" in data["error"]["redirect_uri"][0]
    app.refresh_from_db()
    assert app.name == "Printer"


def test_a_users_field_an_owner_may_not_set_stays_7006(user_client):
    body = envelope(user_client.patch("/users/alice", {"nickname": "A", "email_verified": True}, format="json"),
                    errors.PermissionDeniedError)
    assert body["error"] == {"fields": ["email_verified"]}


def test_the_repository_quota_is_written_with_the_names_it_is_read_with(user, admin_client):
    data = envelope(admin_client.put("/quota/alice/repository", {"quotaPublic": 30}, format="json"))["data"]
    assert data["quotaPublic"] == 30
    data = envelope(admin_client.put("/quota/alice/repository", {"quotaPrivate": "7", "public": 31},
                                     format="json"))["data"]
    assert (data["quotaPublic"], data["quotaPrivate"]) == (31, 7)
    data = envelope(admin_client.post("/quota/alice/repository/use", {"usePublic": 2}, format="json"))["data"]
    assert data["usePublic"] == 2


def test_developer_redirect_uris_for_a_developer_are_refused_not_dropped(user, user_client):
    first = envelope(user_client.patch("/auth/me", {"is_developer": True, "redirect_uris": "https://a.example/cb"},
                                       format="json"))["data"]
    assert first["secret_value"]
    data = envelope(user_client.patch("/auth/me", {"is_developer": True, "redirect_uris": "https://b.example/cb"},
                                      format="json"), errors.InvalidParametersError)
    assert list(data["error"]) == ["redirect_uris"]
    me = envelope(user_client.get("/auth/me"))["data"]
    assert me["developer"]["redirect_uris"] == ["https://a.example/cb"]


def test_every_refused_token_reads_the_same(user, user_client):
    messages = set()
    messages.add(envelope(APIClient().get("/auth/me"), errors.NotAuthenticatedError)["msg"])
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.e30.bm90LWEtc2lnbmF0dXJl")
    messages.add(envelope(garbage.get("/auth/me"), errors.NotAuthenticatedError)["msg"])
    refresh = user_client.tokens.refresh
    envelope(user_client.post("/auth/logout", {}, format="json"))
    messages.add(envelope(user_client.get("/auth/me"), errors.NotAuthenticatedError)["msg"])
    messages.add(envelope(APIClient().post("/auth/refresh", {"refresh": refresh}, format="json"),
                          errors.NotAuthenticatedError)["msg"])
    app_token = APIClient()
    app_token.credentials(HTTP_AUTHORIZATION="Bearer not-a-known-oauth-token")
    messages.add(envelope(app_token.get("/auth/me"), errors.NotAuthenticatedError)["msg"])
    assert messages == {errors.NotAuthenticatedError.message}


@pytest.mark.parametrize("address", [
    "bob@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # fullwidth EXAMPLE: IDNA made it example.com
    "bob@exam\u00adple.com",  # a soft hyphen, dropped the same way
    "\u017fam@ex.com",  # long s: the database's case folding makes it sam@ex.com
    "\u212aate@ex.com",  # Kelvin sign: kate@ex.com
    "al\u0131ce@ex.com", "j\u00f6rg@ex.com", "bob@b\u00fccher.example",
])
def test_an_address_is_ascii_so_no_two_spellings_reach_one_mailbox(user, user_client, address):
    """Each of these signed up beside (or squatted on) the plain ASCII address it folds to."""
    before = snapshot()
    reply = envelope(register("carol", email=address), errors.InvalidParametersError)
    assert EMAIL_ASCII_VALIDATOR.message in reply["error"]["email"]
    envelope(user_client.put("/users/alice/email", {"email": address, "password": PASSWORD}, format="json"),
             errors.InvalidParametersError)
    before.assert_unchanged()
    envelope(register("carol", email="carol@xn--bcher-kva.example"), status=201)


@pytest.mark.parametrize("address", [
    '"alice"@example.com',  # a quoted local part: the same mailbox as alice@example.com (RFC 5321)
    "=?utf-8?q?alice?=@example.com",  # an encoded word: Django's mail decodes it, the code went to alice@
    "=?us-ascii?b?YWxpY2U=?=@example.com",
    '"evil@attacker.example,"@example.com',
])
def test_an_address_has_one_spelling_so_no_two_accounts_share_a_mailbox(user, user_client, address):
    """Each of these signed up beside alice@example.com, whose mailbox received its codes."""
    before = snapshot()
    reply = envelope(register("carol", email=address), errors.InvalidParametersError)
    assert "no quotes and no encoded words" in reply["error"]["email"][0]
    envelope(user_client.put("/users/alice/email", {"email": address, "password": PASSWORD}, format="json"),
             errors.InvalidParametersError)
    before.assert_unchanged()
    envelope(register("carol", email="carol+tag=x?y@example.com"), status=201)


@pytest.mark.parametrize("address", ["carol@[127.0.0.1]", "carol@[IPv6:::1]", "carol@localhost",
                                     "carol@db.LOCALHOST"])
def test_an_address_names_a_domain_not_a_host(user, user_client, admin_client, address):
    """Django's e-mail check takes an address literal and a bare localhost: codes and notices would go to a
    host the address names (the mail server's own, or one on the service's network). Every way an address
    comes in refuses them: sign-up, a change of address, an operator's account, createsuperuser."""
    before = snapshot()
    message = "An e-mail address needs a domain name (name@example.com), not an IP address or localhost."
    assert message in envelope(register("carol", email=address), errors.InvalidParametersError)["error"]["email"]
    envelope(user_client.put("/users/alice/email", {"email": address, "password": PASSWORD}, format="json"),
             errors.InvalidParametersError)
    envelope(admin_client.post("/users/carol", {"password": PASSWORD, "email": address}, format="json"),
             errors.InvalidParametersError)
    with pytest.raises(CommandError):
        call_command("createsuperuser", "--noinput", username="root2", email=address, verbosity=0)
    before.assert_unchanged()
    envelope(register("carol", email="carol@mail.example.com"), status=201)


@pytest.mark.parametrize(("username", "email"), [
    ("root2", "ALICE@example.com"),  # someone's address: it was an IntegrityError traceback
    ("Alice@Example.com", "root2@example.com"),  # someone's address as a login name: it squatted on it
    ("root2", "bob@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com"),  # not ASCII
])
def test_createsuperuser_keeps_the_identity_rules(user, username, email):
    with pytest.raises(CommandError):
        call_command("createsuperuser", "--noinput", username=username, email=email, verbosity=0)
    assert User.objects.count() == 1
    envelope(APIClient().post("/auth/login", {"username": "alice@example.com", "password": PASSWORD}, format="json"))
