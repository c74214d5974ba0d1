"""GET/POST/PUT/PATCH/DELETE /users/{loginname}: who sees and changes what (CONTRACT section 3)."""

import pytest

from accounts.models import AuditEvent, Session, User, UserStatus
from tests.conftest import client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.users.conftest import ACTORS, REFUSED, snapshot

pytestmark = pytest.mark.django_db

PUBLIC_FIELDS = {"loginname", "nickname", "intro", "github", "school", "website", "registered_at", "userType"}


def expected(actor: str, allowed: dict) -> tuple[int, int]:
    return REFUSED.get(actor) or allowed[actor]


# --- GET ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", ACTORS)
def test_get_user_matrix(actor_client, actor):
    reply = actor_client(actor).get("/users/alice")
    code, status = expected(actor, {"anonymous": (0, 200), "self": (0, 200), "other": (0, 200), "admin": (0, 200)})
    body = envelope(reply, code, status)
    if code == 0:
        if actor in ("self", "admin"):
            assert body["data"]["email"] == "alice@example.com"
            assert body["data"]["role"] == "common" and body["data"]["status"] == UserStatus.ACTIVE
        else:
            assert set(body["data"]) == PUBLIC_FIELDS
        assert "password" not in body["data"]


def test_get_user_is_case_insensitive_and_never_shows_the_password(admin_client, user):
    body = envelope(admin_client.get("/users/ALICE/"), 0, 200)
    assert body["data"]["loginname"] == "alice" and body["data"]["userType"] == 1
    assert not any("pass" in key for key in body["data"])


@pytest.mark.parametrize(("actor", "code", "status"), [
    ("anonymous", 1009, 404), ("other", 1009, 404), ("admin", 0, 200),
])
def test_deleted_user_is_visible_to_admins_only(actor_client, actor, code, status):
    UserFactory(username="gone", status=UserStatus.DELETED)
    body = envelope(actor_client(actor).get("/users/gone"), code, status)
    if code == 0:
        assert body["data"]["status"] == UserStatus.DELETED


def test_unknown_user_is_404(anon_client, db):
    envelope(anon_client.get("/users/nobody"), 1009, 404)


# --- PUT / PATCH ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("actor", ACTORS)
def test_update_profile_matrix(actor_client, actor, method):
    client = actor_client(actor)
    before = snapshot("alice")
    reply = getattr(client, method)("/users/alice", {"nickname": "Ally", "comments": "hi"}, format="json")
    code, status = expected(actor, {"anonymous": (7005, 401), "self": (0, 200), "other": (7006, 403),
                                    "admin": (0, 200)})
    body = envelope(reply, code, status)
    alice = User.objects.get(username="alice")
    if code == 0:
        assert (alice.nickname, alice.intro) == ("Ally", "hi")
        assert body["data"]["nickname"] == "Ally" and body["data"]["comment"] == "hi"
    else:
        assert snapshot("alice") == before


@pytest.mark.parametrize("field", [
    {"role": "admin"}, {"status": 5}, {"userstatus": "5"}, {"userType": 5}, {"invalid_at": None},
    {"password": "an0ther-Long-password"}, {"passwd": "an0ther-Long-password"}, {"email": "new@example.com"},
])
def test_self_may_not_set_admin_fields(user_client, field):
    before = snapshot("alice")
    reply = user_client.put("/users/alice", {"nickname": "Changed", **field}, format="json")
    body = envelope(reply, 7006, 403)
    assert body["error"]["fields"]
    assert snapshot("alice") == before


@pytest.mark.parametrize(("field", "bad"), [
    ("nickname", "n" * 65), ("intro", "i" * 513), ("comment", "c" * 513), ("school", "s" * 65),
    ("github", "bad--name"), ("github", "g" * 40), ("website", "ftp://example.com"),
    ("website", "not a url"), ("website", "https://example.com/" + "w" * 190),
])
def test_bad_profile_input_is_1007_and_changes_nothing(user_client, field, bad):
    before = snapshot("alice")
    body = envelope(user_client.patch("/users/alice", {field: bad}, format="json"), 1007, 400)
    assert body["error"]
    assert snapshot("alice") == before


def test_profile_fields_are_optional_and_seed_004_names_work(user_client):
    body = envelope(user_client.put("/users/alice", {"github": "octo-cat", "website": "https://a.example/x",
                                                     "school": "MIT", "userName": "Alice A"}, format="json"))
    assert body["data"]["github"] == "octo-cat" and body["data"]["real_name"] == "Alice A"
    envelope(user_client.put("/users/alice", {}, format="json"), 0, 200)


def test_admin_put_with_seed_004_spellings(admin_client, user):
    alice_client = client_for(user, terminal="phone")
    body = envelope(admin_client.put("/users/alice", {
        "userstatus": "3", "nickname": "foo", "username": "FOO", "comments": "test user",
        "passwd": "a-Brand-new-passw0rd",
    }, format="json"), 0, 200)
    assert body["data"]["status"] == UserStatus.INVALID and body["data"]["real_name"] == "FOO"
    alice = User.objects.get(pk=user.pk)
    assert alice.check_password("a-Brand-new-passw0rd") and alice.intro == "test user"
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    envelope(alice_client.get("/auth/me"), 7005, 401)
    assert AuditEvent.objects.filter(user=user, action="user.status", actor__username="root").exists()


def test_admin_role_change_moves_the_tier(admin_client, user):
    body = envelope(admin_client.patch("/users/alice", {"role": "admin"}, format="json"))
    assert body["data"]["role"] == "admin" and body["data"]["userType"] == 2
    assert User.objects.get(pk=user.pk).is_staff
    body = envelope(admin_client.patch("/users/alice", {"role": "common"}, format="json"))
    assert body["data"]["role"] == "common" and body["data"]["userType"] == 1


def test_admin_sets_tier_and_expiry(admin_client, user):
    body = envelope(admin_client.patch("/users/alice", {"userType": "4", "invalid_at": "2099-01-01T00:00:00Z"},
                                       format="json"))
    assert body["data"]["userType"] == 4 and body["data"]["invalid_at"].startswith("2099-01-01")
    body = envelope(admin_client.patch("/users/alice", {"invalidTime": "2000-01-01T00:00:00Z"}, format="json"))
    assert body["data"]["userType"] == 1  # expired: reads as tier 1


@pytest.mark.parametrize("data", [
    {"status": 9}, {"userstatus": "x"}, {"role": "root"}, {"userType": 99}, {"userType": 0},
    {"invalid_at": "tomorrow"}, {"passwd": "short"}, {"passwd": "12345678901"},
])
def test_admin_bad_input_is_1007_and_changes_nothing(admin_client, user, data):
    before = snapshot("alice")
    envelope(admin_client.put("/users/alice", {"nickname": "Changed", **data}, format="json"), 1007, 400)
    assert snapshot("alice") == before


def test_admin_unknown_field_is_7006(admin_client, user):
    before = snapshot("alice")
    envelope(admin_client.put("/users/alice", {"is_superuser": True}, format="json"), 7006, 403)
    assert snapshot("alice") == before


def test_update_of_deleted_user_is_404_for_its_owner_token_refused_and_others(other_client, db):
    UserFactory(username="gone", status=UserStatus.DELETED)
    envelope(other_client.put("/users/gone", {"nickname": "x"}, format="json"), 1009, 404)


# --- POST (create) ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", ACTORS)
def test_create_matrix(actor_client, actor):
    reply = actor_client(actor).post("/users/newbie@example.com",
                                     {"passwd": "a-Long-enough-passw0rd", "nickname": "New"}, format="json")
    code, status = expected(actor, {"anonymous": (0, 201), "self": (0, 201), "other": (0, 201), "admin": (0, 201)})
    body = envelope(reply, code, status)
    created = User.objects.filter(username="newbie@example.com").first()
    if code == 0:
        assert created.status == UserStatus.ACTIVE and created.check_password("a-Long-enough-passw0rd")
        assert body["data"]["loginname"] == "newbie@example.com" and body["data"]["userType"] == 1
        assert created.membership.tier.user_type == 1 and created.quotas.count() == 4
    else:
        assert created is None


def test_admin_creates_an_admin_with_status_and_tier(admin_client):
    body = envelope(admin_client.post("/users/ops", {"password": "a-Long-enough-passw0rd", "role": "admin",
                                                     "status": "1", "email": "ops@example.com"},
                                      format="json"), 0, 201)
    assert body["data"]["role"] == "admin" and body["data"]["status"] == 1 and body["data"]["userType"] == 2
    body = envelope(admin_client.post("/users/gold", {"password": "a-Long-enough-passw0rd", "userType": 4},
                                      format="json"), 0, 201)
    assert body["data"]["userType"] == 4


@pytest.mark.parametrize("field", [{"role": "admin"}, {"status": 2}, {"userType": 5}, {"userstatus": 2}])
def test_non_admin_create_with_admin_fields_is_7006(anon_client, user_client, field, db):
    for client in (anon_client, user_client):
        envelope(client.post("/users/sneaky", {"password": "a-Long-enough-passw0rd", **field}, format="json"),
                 7006, 403)
    assert not User.objects.filter(username="sneaky").exists()


@pytest.mark.parametrize(("path", "data", "code", "status"), [
    ("/users/ALICE", {"password": "a-Long-enough-passw0rd"}, 8002, 409),
    ("/users/fresh", {"password": "a-Long-enough-passw0rd", "email": "ALICE@example.com"}, 8003, 409),
    ("/users/ab", {"password": "a-Long-enough-passw0rd"}, 1007, 400),
    ("/users/bad%20name", {"password": "a-Long-enough-passw0rd"}, 1007, 400),
    ("/users/fresh", {}, 1007, 400),
    ("/users/fresh", {"password": "short"}, 1007, 400),
    ("/users/fresh", {"password": "a-Long-enough-passw0rd", "email": "not-an-address"}, 1007, 400),
    ("/users/fresh", {"password": "a-Long-enough-passw0rd", "website": "javascript:alert(1)"}, 1007, 400),
])
def test_create_bad_input(anon_client, user, path, data, code, status):
    count = User.objects.count()
    envelope(anon_client.post(path, data, format="json"), code, status)
    assert User.objects.count() == count


def test_create_accepts_a_form_body(anon_client, db):
    envelope(anon_client.post("/users/formuser", {"passwd": "a-Long-enough-passw0rd"}), 0, 201)
    assert User.objects.filter(username="formuser").exists()


# --- DELETE ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", ACTORS)
def test_delete_matrix(actor_client, actor):
    client = actor_client(actor)
    victim_client = client_for(User.objects.get(username="alice"), terminal="tablet")
    before = snapshot("alice")
    code, status = expected(actor, {"anonymous": (7005, 401), "self": (0, 200), "other": (7006, 403),
                                    "admin": (0, 200)})
    envelope(client.delete("/users/alice"), code, status)
    alice = User.objects.get(username="alice")
    if code == 0:
        assert alice.status == UserStatus.DELETED
        assert not Session.objects.filter(user=alice, revoked_at__isnull=True).exists()
        envelope(victim_client.get("/auth/me"), 7005, 401)  # its session was revoked
    else:
        assert snapshot("alice") == before


def test_deleted_login_name_stays_reserved(admin_client, anon_client, user):
    envelope(admin_client.delete("/users/alice"), 0, 200)
    envelope(anon_client.get("/users/alice"), 1009, 404)
    envelope(anon_client.post("/users/Alice", {"password": PASSWORD + "x"}, format="json"), 8002, 409)
    envelope(anon_client.post("/auth/register", {"username": "alice", "password": PASSWORD + "x"}, format="json"),
             8002, 409)
