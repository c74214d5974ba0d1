"""PUT /users/{loginname}/pwd and GET/POST /users/{loginname}/pwd/validate."""

import pytest

from accounts.models import Session, User, UserStatus
from accountsite import errors
from tests.conftest import CALLER_ROLES, REFUSED_ROLES, client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Brand-new-passw0rd"


@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_change_password_matrix(caller_client, actor):
    client = caller_client(actor)
    alice = User.objects.get(username="alice")
    elsewhere = client_for(alice, terminal="elsewhere")
    before = snapshot()
    body = {"passwd": NEW_PASSWORD} if actor == "admin" else {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}
    error = REFUSED_ROLES.get(actor) or {"anonymous": errors.NotAuthenticatedError, "self": None,
                                         "other": errors.PermissionDeniedError, "admin": None}[actor]
    reply = envelope(client.put("/users/alice/pwd", body, format="json"), error, status=None if error else 200)
    if error is None:
        assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)
        envelope(elsewhere.get("/auth/me"), errors.NotAuthenticatedError)
        if actor == "self":  # the caller's own session continues with fresh tokens
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {reply['data']['access']}")
            envelope(client.get("/auth/me"), status=200)
        else:
            assert reply["data"] is None
            assert not Session.objects.filter(user=alice, revoked_at__isnull=True).exists()
    else:
        before.assert_unchanged()


@pytest.mark.parametrize(("data", "error"), [
    ({"passwd": NEW_PASSWORD}, errors.InvalidParametersError),
    ({"oldpwd": "wrong-passw0rd-x", "passwd": NEW_PASSWORD}, errors.WrongPasswordError),
    ({"oldpwd": PASSWORD, "passwd": "short"}, errors.InvalidParametersError),
    ({"oldpwd": PASSWORD, "passwd": "1234567890"}, errors.InvalidParametersError),
    ({"oldpwd": PASSWORD}, errors.InvalidParametersError),
    ({"old-password": PASSWORD, "new-password": "password"}, errors.InvalidParametersError),
])
def test_change_password_bad_input(user_client, data, error):
    before = snapshot()
    envelope(user_client.put("/users/alice/pwd", data, format="json"), error)
    before.assert_unchanged()


def test_admin_changing_own_password_needs_the_old_one(admin_client, admin_user):
    envelope(admin_client.put("/users/root/pwd", {"passwd": NEW_PASSWORD}, format="json"),
             errors.InvalidParametersError)
    envelope(admin_client.put("/users/root/pwd", {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}, format="json"))
    assert User.objects.get(pk=admin_user.pk).check_password(NEW_PASSWORD)


def test_change_password_of_deleted_user_is_404_for_others(other_client):
    UserFactory(username="gone", status=UserStatus.DELETED)
    envelope(other_client.put("/users/gone/pwd", {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}, format="json"),
             errors.NotFoundError)


# --- validate -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_validate_password_is_open_to_anyone(caller_client, actor):
    """A token, even a dead one, is ignored here: the password is the credential."""
    client = caller_client(actor)
    envelope(client.get("/users/alice/pwd/validate", {"pwd": PASSWORD}), status=200)
    envelope(client.get("/users/alice/pwd/validate", {"pwd": "wrong-password"}), errors.WrongPasswordError)


def test_validate_password_post_and_aliases(anon_client, user):
    envelope(anon_client.post("/users/alice/pwd/validate", {"pwd": PASSWORD}, format="json"), status=200)
    envelope(anon_client.post("/users/ALICE/pwd/validate/", {"password": PASSWORD}, format="json"), status=200)
    envelope(anon_client.post("/users/alice/pwd/validate", {"pwd": "nope-nope-nope"}, format="json"),
             errors.WrongPasswordError)
    envelope(anon_client.post("/users/alice/pwd/validate", {}, format="json"), errors.InvalidParametersError)
    envelope(anon_client.get("/users/alice/pwd/validate"), errors.InvalidParametersError)


def test_validate_by_email_or_for_missing_user_is_8004(anon_client, user):
    envelope(anon_client.get("/users/alice@example.com/pwd/validate", {"pwd": PASSWORD}), errors.WrongPasswordError)
    missing = anon_client.get("/users/nobody/pwd/validate", {"pwd": PASSWORD})
    wrong = anon_client.get("/users/alice/pwd/validate", {"pwd": "wrong-password"})
    assert (missing.status_code, missing.content) == (wrong.status_code, wrong.content)


def test_validate_failures_count_toward_the_login_lockout(anon_client, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        envelope(anon_client.get("/users/alice/pwd/validate", {"pwd": "wrong-password"}), errors.WrongPasswordError)
    envelope(anon_client.get("/users/alice/pwd/validate", {"pwd": PASSWORD}), errors.TooManyRequestsError)
    reply = anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json")
    envelope(reply, errors.TooManyRequestsError)
    assert int(reply["Retry-After"]) > 0
