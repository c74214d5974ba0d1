"""PUT /users/{loginname}/pwd and GET/POST /users/{loginname}/pwd/validate."""

import pytest

from accounts.models import Session, User, UserStatus
from tests.conftest import client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.users.conftest import ACTORS, REFUSED, snapshot

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Brand-new-passw0rd"


@pytest.mark.parametrize("actor", ACTORS)
def test_change_password_matrix(actor_client, actor):
    client = actor_client(actor)
    alice = User.objects.get(username="alice")
    elsewhere = client_for(alice, terminal="elsewhere")
    before = snapshot("alice")
    body = {"passwd": NEW_PASSWORD} if actor == "admin" else {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}
    code, status = REFUSED.get(actor) or {"anonymous": (7005, 401), "self": (0, 200), "other": (7006, 403),
                                          "admin": (0, 200)}[actor]
    reply = envelope(client.put("/users/alice/pwd", body, format="json"), code, status)
    if code == 0:
        assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)
        envelope(elsewhere.get("/auth/me"), 7005, 401)
        if actor == "self":  # the caller's own session continues with fresh tokens
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {reply['data']['access']}")
            envelope(client.get("/auth/me"), 0, 200)
        else:
            assert reply["data"] is None
            assert not Session.objects.filter(user=alice, revoked_at__isnull=True).exists()
    else:
        assert snapshot("alice") == before


@pytest.mark.parametrize(("data", "code", "status"), [
    ({"passwd": NEW_PASSWORD}, 1007, 400),
    ({"oldpwd": "wrong-passw0rd-x", "passwd": NEW_PASSWORD}, 8004, 400),
    ({"oldpwd": PASSWORD, "passwd": "short"}, 1007, 400),
    ({"oldpwd": PASSWORD, "passwd": "1234567890"}, 1007, 400),
    ({"oldpwd": PASSWORD}, 1007, 400),
    ({"old-password": PASSWORD, "new-password": "password"}, 1007, 400),
])
def test_change_password_bad_input(user_client, data, code, status):
    before = snapshot("alice")
    envelope(user_client.put("/users/alice/pwd", data, format="json"), code, status)
    assert snapshot("alice") == before


def test_admin_changing_own_password_needs_the_old_one(admin_client, admin_user):
    envelope(admin_client.put("/users/root/pwd", {"passwd": NEW_PASSWORD}, format="json"), 1007, 400)
    envelope(admin_client.put("/users/root/pwd", {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}, format="json"))
    assert User.objects.get(pk=admin_user.pk).check_password(NEW_PASSWORD)


def test_change_password_of_deleted_user_is_404_for_others(other_client):
    UserFactory(username="gone", status=UserStatus.DELETED)
    envelope(other_client.put("/users/gone/pwd", {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}, format="json"),
             1009, 404)


# --- validate -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", ACTORS)
def test_validate_password_is_open_to_anyone(actor_client, actor):
    """A token, even a dead one, is ignored here: the password is the credential."""
    client = actor_client(actor)
    envelope(client.get("/users/alice/pwd/validate", {"pwd": PASSWORD}), 0, 200)
    envelope(client.get("/users/alice/pwd/validate", {"pwd": "wrong-password"}), 8004, 400)


def test_validate_password_post_and_aliases(anon_client, user):
    envelope(anon_client.post("/users/alice/pwd/validate", {"pwd": PASSWORD}, format="json"), 0, 200)
    envelope(anon_client.post("/users/ALICE/pwd/validate/", {"password": PASSWORD}, format="json"), 0, 200)
    envelope(anon_client.post("/users/alice/pwd/validate", {"pwd": "nope-nope-nope"}, format="json"), 8004, 400)
    envelope(anon_client.post("/users/alice/pwd/validate", {}, format="json"), 1007, 400)
    envelope(anon_client.get("/users/alice/pwd/validate"), 1007, 400)


def test_validate_by_email_or_for_missing_user_is_8004(anon_client, user):
    envelope(anon_client.get("/users/alice@example.com/pwd/validate", {"pwd": PASSWORD}), 8004, 400)
    missing = anon_client.get("/users/nobody/pwd/validate", {"pwd": PASSWORD})
    wrong = anon_client.get("/users/alice/pwd/validate", {"pwd": "wrong-password"})
    assert (missing.status_code, missing.content) == (wrong.status_code, wrong.content)


def test_validate_failures_count_toward_the_login_lockout(anon_client, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        envelope(anon_client.get("/users/alice/pwd/validate", {"pwd": "wrong-password"}), 8004, 400)
    envelope(anon_client.get("/users/alice/pwd/validate", {"pwd": PASSWORD}), 1029, 429)
    reply = anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json")
    envelope(reply, 1029, 429)
    assert int(reply["Retry-After"]) > 0
