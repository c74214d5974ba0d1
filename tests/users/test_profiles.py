"""GET/POST/PUT/PATCH/DELETE /users/{loginname}: who sees and changes what."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, Session, User, UserStatus
from accountsite import errors
from membership.models import TierType
from tests.conftest import CALLER_ROLES, REFUSED_ROLES, client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

PUBLIC_FIELDS = {"loginname", "nickname", "intro", "github", "school", "website", "registered_at", "userType"}


def refusal(actor: str, **refused: type[errors.ServiceError]) -> type[errors.ServiceError] | None:
    """The error `actor` gets: its account state's, else the endpoint's rule for it; None: allowed."""
    return REFUSED_ROLES.get(actor) or refused.get(actor)


# --- GET ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_get_user_matrix(caller_client, actor):
    reply = caller_client(actor).get("/users/alice")
    error = refusal(actor)  # anyone may read a profile
    body = envelope(reply, error, status=None if error else 200)
    if error is None:
        if actor in ("self", "admin"):
            assert body["data"]["email"] == "alice@example.com"
            assert body["data"]["role"] == "common" and body["data"]["status"] == UserStatus.ACTIVE
        else:
            assert set(body["data"]) == PUBLIC_FIELDS
        assert "password" not in body["data"]


def test_get_user_is_case_insensitive_and_never_shows_the_password(admin_client, user):
    body = envelope(admin_client.get("/users/ALICE/"), status=200)
    assert body["data"]["loginname"] == "alice" and body["data"]["userType"] == TierType.REGISTERED
    assert not any("pass" in key for key in body["data"])


@pytest.mark.parametrize(("actor", "error"), [
    ("anonymous", errors.NotFoundError), ("other", errors.NotFoundError), ("admin", None),
])
def test_deleted_user_is_visible_to_admins_only(caller_client, actor, error):
    UserFactory(username="gone", status=UserStatus.DELETED)
    body = envelope(caller_client(actor).get("/users/gone"), error, status=None if error else 200)
    if error is None:
        assert body["data"]["status"] == UserStatus.DELETED


def test_unknown_user_is_404(anon_client, db):
    envelope(anon_client.get("/users/nobody"), errors.NotFoundError)


# --- PUT / PATCH ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_update_profile_matrix(caller_client, actor, method):
    client = caller_client(actor)
    before = snapshot()
    reply = getattr(client, method)("/users/alice", {"nickname": "Ally", "comments": "hi"}, format="json")
    error = refusal(actor, anonymous=errors.NotAuthenticatedError, other=errors.PermissionDeniedError)
    body = envelope(reply, error, status=None if error else 200)
    alice = User.objects.get(username="alice")
    if error is None:
        assert (alice.nickname, alice.intro) == ("Ally", "hi")
        assert body["data"]["nickname"] == "Ally" and body["data"]["comment"] == "hi"
    else:
        before.assert_unchanged()


@pytest.mark.parametrize("field", [
    {"role": "admin"}, {"status": 5}, {"userstatus": "5"}, {"userType": TierType.DIAMOND}, {"invalid_at": None},
    {"password": "an0ther-Long-password"}, {"passwd": "an0ther-Long-password"}, {"email": "new@example.com"},
    {"loginname": "renamed"}, {"loginName": "renamed"}, {"username": "renamed"},
])
def test_self_may_not_set_admin_fields(user_client, field):
    before = snapshot()
    reply = user_client.put("/users/alice", {"nickname": "Changed", **field}, format="json")
    body = envelope(reply, errors.PermissionDeniedError)
    assert body["error"]["fields"]
    before.assert_unchanged()


@pytest.mark.parametrize(("field", "bad"), [
    ("nickname", "n" * 65), ("intro", "i" * 513), ("comment", "c" * 513), ("school", "s" * 65),
    ("github", "bad--name"), ("github", "g" * 40), ("website", "ftp://example.com"),
    ("website", "not a url"), ("website", "https://example.com/" + "w" * 190),
    ("website", "http://exa\u202emple.com"), ("website", "https://example.com/\u2067x"),
])
def test_bad_profile_input_is_1007_and_changes_nothing(user_client, field, bad):
    before = snapshot()
    body = envelope(user_client.patch("/users/alice", {field: bad}, format="json"), errors.InvalidParametersError)
    assert body["error"]
    before.assert_unchanged()


@pytest.mark.parametrize(("path", "body", "named"), [
    ("/users/alice", {"nickname": "ok", "nickName": [1, 2]}, ["nickname", "nickName"]),
    ("/users/alice", {"nickName": "A", "nickname": "B"}, ["nickName", "nickname"]),
    ("/users/alice", {"intro": "A", "comment": "B"}, ["intro", "comment"]),
    ("/users/alice", {"comments": "A", "intro": "B"}, ["comments", "intro"]),
    ("/users/alice", {"userName": "A", "realname": "B"}, ["userName", "realname"]),
    ("/auth/me", {"intro": "A", "comment": "B"}, ["intro", "comment"]),
])
def test_one_field_under_two_spellings_is_1007_not_a_guess(user_client, path, body, named):
    """docs/api.md: a field is never silently dropped; with two spellings, one of them would be."""
    before = snapshot()
    reply = envelope(user_client.patch(path, body, format="json"), errors.InvalidParametersError)
    [message] = reply["error"][named[0]]
    assert message == f"Given more than once, as {' and '.join(named)}: give one of them."
    before.assert_unchanged()


@pytest.mark.parametrize(("client_name", "path", "method", "body", "named"), [
    ("user_client", "/users/alice", "patch", {"nickName": "n" * 200}, "nickName"),
    ("user_client", "/users/alice", "put", {"userName": "\x00"}, "userName"),
    ("user_client", "/auth/me", "patch", {"comments": "c" * 5000}, "comments"),
    ("admin_client", "/users/alice", "put", {"userStatus": "9"}, "userStatus"),
    ("user_client", "/users/alice/pwd", "put", {"oldPassword": "x", "newPassword": "short"}, "newPassword"),
])
def test_a_refusal_names_the_field_as_the_body_spelt_it(request, user, client_name, path, method, body, named):
    """A client that sent a seed's spelling finds its field in the refusal under that spelling."""
    client = request.getfixturevalue(client_name)
    before = snapshot()
    reply = envelope(getattr(client, method)(path, body, format="json"), errors.InvalidParametersError)
    assert named in reply["error"], reply
    before.assert_unchanged()


@pytest.mark.parametrize("body", [{"userStatus": 3}, {"userstatus": 3, "nickName": "x"}, {"usertype": 4}])
def test_a_field_the_caller_may_not_set_is_named_as_the_body_spelt_it(user_client, body):
    before = snapshot()
    reply = envelope(user_client.patch("/users/alice", body, format="json"), errors.PermissionDeniedError)
    assert reply["error"] == {"fields": [next(iter(body))]}
    before.assert_unchanged()


def test_profile_fields_are_optional_and_seed_004_names_work(user_client):
    body = envelope(user_client.put("/users/alice", {"github": "octo-cat", "website": "https://a.example/x",
                                                     "school": "MIT", "userName": "Alice A"}, format="json"))
    assert body["data"]["github"] == "octo-cat" and body["data"]["real_name"] == "Alice A"
    envelope(user_client.put("/users/alice", {}, format="json"), status=200)


@pytest.mark.parametrize("client_name", ["user_client", "admin_client"])
def test_username_in_a_write_is_the_login_name_which_stays(request, user, client_name):
    """Every reply's `username` is the login name: a client writing back what it read changes nothing by it
    (7006 names it), and the real name is not overwritten with it."""
    client = request.getfixturevalue(client_name)
    before = snapshot()
    body = envelope(client.patch("/users/alice", {"username": "alice", "nickname": "cc"}, format="json"),
                    errors.PermissionDeniedError)
    assert body["error"] == {"fields": ["username"]}
    before.assert_unchanged()


def test_admin_put_with_seed_004_spellings(admin_client, user):
    alice_client = client_for(user, terminal="phone")
    body = envelope(admin_client.put("/users/alice", {
        "userstatus": "3", "nickname": "foo", "userName": "FOO", "comments": "test user",
        "passwd": "a-Brand-new-passw0rd",
    }, format="json"), status=200)
    assert body["data"]["status"] == UserStatus.INVALID and body["data"]["real_name"] == "FOO"
    alice = User.objects.get(pk=user.pk)
    assert alice.check_password("a-Brand-new-passw0rd") and alice.intro == "test user"
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    envelope(alice_client.get("/auth/me"), errors.NotAuthenticatedError)
    assert AuditEvent.objects.filter(user=user, action="user.status", actor__username="root").exists()


def test_the_admin_tier_goes_with_the_admin_role_only(admin_client, user):
    before = snapshot()
    body = envelope(admin_client.put("/users/alice", {"userType": TierType.ADMIN}, format="json"),
                    errors.MembershipChangeError)
    assert "userType" in body["error"]
    envelope(admin_client.put("/users/alice", {"role": "common", "userType": TierType.ADMIN}, format="json"),
             errors.MembershipChangeError)
    before.assert_unchanged()
    body = envelope(admin_client.put("/users/alice", {"role": "admin", "userType": TierType.ADMIN}, format="json"))
    assert body["data"]["userType"] == TierType.ADMIN


def test_admin_role_change_moves_the_tier(admin_client, user):
    body = envelope(admin_client.patch("/users/alice", {"role": "admin"}, format="json"))
    assert body["data"]["role"] == "admin" and body["data"]["userType"] == TierType.ADMIN
    assert User.objects.get(pk=user.pk).is_staff
    body = envelope(admin_client.patch("/users/alice", {"role": "common"}, format="json"))
    assert body["data"]["role"] == "common" and body["data"]["userType"] == TierType.REGISTERED


def test_the_tier_a_role_change_gives_has_no_end_date(admin_client, user):
    """The admin tier and tier 1 are held without an end: a role change does not carry over the end of the paid
    tier it replaces (the user's record and /vip read it alike, and never as a past date of a tier in force)."""
    envelope(admin_client.patch("/users/alice", {"userType": TierType.GOLD, "invalid_at": "2099-01-01T00:00:00Z"},
                                format="json"))
    body = envelope(admin_client.patch("/users/alice", {"role": "admin"}, format="json"))
    assert body["data"]["userType"] == TierType.ADMIN and body["data"]["invalid_at"] is None
    assert envelope(admin_client.get("/vip/alice"))["data"]["invalidTime"] is None
    body = envelope(admin_client.patch("/users/alice", {"role": "common"}, format="json"))
    assert body["data"]["userType"] == TierType.REGISTERED and body["data"]["invalid_at"] is None
    assert envelope(admin_client.get("/vip/alice"))["data"]["invalidTime"] is None
    body = envelope(admin_client.patch("/users/alice", {"role": "common", "invalid_at": "2096-01-01T00:00:00Z",
                                                        "userType": TierType.GOLD}, format="json"))
    assert body["data"]["invalid_at"].startswith("2096-01-01")  # a paid tier's end given with the change is kept
    assert envelope(admin_client.get("/vip/alice"))["data"]["invalidTime"].startswith("2096-01-01")


@pytest.mark.parametrize("change", [{"role": "admin"}, {"userType": TierType.REGISTERED}, {}])
def test_an_end_asked_for_a_tier_that_never_ends_is_1007(admin_client, user, change):
    """The end was dropped and the reply said 200 with `invalid_at: null`: it read as done."""
    if not change:  # the end alone, for a member of tier 1
        envelope(admin_client.patch("/users/alice", {"userType": TierType.REGISTERED}, format="json"))
    before = snapshot()
    reply = admin_client.patch("/users/alice", {**change, "invalid_at": "2097-01-01T00:00:00Z"}, format="json")
    assert "invalid_at" in envelope(reply, errors.InvalidParametersError)["error"]
    before.assert_unchanged()


def test_admin_sets_tier_and_expiry(admin_client, user):
    body = envelope(admin_client.patch("/users/alice", {"userType": "4", "invalid_at": "2099-01-01T00:00:00Z"},
                                       format="json"))
    assert body["data"]["userType"] == TierType.GOLD and body["data"]["invalid_at"].startswith("2099-01-01")
    body = envelope(admin_client.patch("/users/alice", {"invalidTime": "2000-01-01T00:00:00Z"}, format="json"))
    assert body["data"]["userType"] == TierType.REGISTERED  # expired: reads as tier 1


@pytest.mark.parametrize("data", [
    {"status": 9}, {"userstatus": "x"}, {"role": "root"}, {"userType": 99}, {"userType": 0},
    {"invalid_at": "tomorrow"}, {"passwd": "short"}, {"passwd": "12345678901"},
])
def test_admin_bad_input_is_1007_and_changes_nothing(admin_client, user, data):
    before = snapshot()
    envelope(admin_client.put("/users/alice", {"nickname": "Changed", **data}, format="json"),
             errors.InvalidParametersError)
    before.assert_unchanged()


def test_admin_unknown_field_is_7006(admin_client, user):
    before = snapshot()
    envelope(admin_client.put("/users/alice", {"is_superuser": True}, format="json"), errors.PermissionDeniedError)
    before.assert_unchanged()


def test_update_of_deleted_user_is_404_for_its_owner_token_refused_and_others(other_client, db):
    UserFactory(username="gone", status=UserStatus.DELETED)
    envelope(other_client.put("/users/gone", {"nickname": "x"}, format="json"), errors.NotFoundError)


# --- POST (create) ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_create_matrix(caller_client, actor):
    reply = caller_client(actor).post("/users/newbie@example.com",
                                      {"passwd": "a-Long-enough-passw0rd", "nickname": "New"}, format="json")
    error = refusal(actor)  # anyone may sign up
    body = envelope(reply, error, status=None if error else 201)
    created = User.objects.filter(username="newbie@example.com").first()
    if error is None:
        assert created.status == UserStatus.ACTIVE and created.check_password("a-Long-enough-passw0rd")
        assert body["data"]["loginname"] == "newbie@example.com" and body["data"]["userType"] == TierType.REGISTERED
        assert created.membership.tier.user_type == TierType.REGISTERED and created.quotas.count() == 4
    else:
        assert created is None


def test_admin_creates_an_admin_with_status_and_tier(admin_client):
    body = envelope(admin_client.post("/users/ops", {"password": "a-Long-enough-passw0rd", "role": "admin",
                                                     "status": "1", "email": "ops@example.com"},
                                      format="json"), status=201)
    assert body["data"]["role"] == "admin" and body["data"]["status"] == 1
    assert body["data"]["userType"] == TierType.ADMIN
    body = envelope(admin_client.post("/users/gold", {"password": "a-Long-enough-passw0rd", "userType": TierType.GOLD},
                                      format="json"), status=201)
    assert body["data"]["userType"] == TierType.GOLD


@pytest.mark.parametrize("field", [{"role": "admin"}, {"status": 2}, {"userType": TierType.DIAMOND}, {"userstatus": 2}])
def test_non_admin_create_with_admin_fields_is_7006(anon_client, user_client, field, db):
    for client in (anon_client, user_client):
        envelope(client.post("/users/sneaky", {"password": "a-Long-enough-passw0rd", **field}, format="json"),
                 errors.PermissionDeniedError)
    assert not User.objects.filter(username="sneaky").exists()


@pytest.mark.parametrize(("path", "data", "error"), [
    ("/users/ALICE", {"password": "a-Long-enough-passw0rd"}, errors.LoginNameTakenError),
    ("/users/fresh", {"password": "a-Long-enough-passw0rd", "email": "ALICE@example.com"}, errors.EmailTakenError),
    ("/users/ab", {"password": "a-Long-enough-passw0rd"}, errors.InvalidParametersError),
    ("/users/bad%20name", {"password": "a-Long-enough-passw0rd"}, errors.InvalidParametersError),
    ("/users/fresh", {}, errors.InvalidParametersError),
    ("/users/fresh", {"password": "short"}, errors.InvalidParametersError),
    ("/users/fresh", {"password": "a-Long-enough-passw0rd", "email": "not-an-address"},
     errors.InvalidParametersError),
    ("/users/fresh", {"password": "a-Long-enough-passw0rd", "website": "javascript:alert(1)"},
     errors.InvalidParametersError),
])
def test_create_bad_input(anon_client, user, path, data, error):
    before = snapshot()
    envelope(anon_client.post(path, data, format="json"), error)
    before.assert_unchanged()


@pytest.mark.parametrize("path", ["/users/%20newbie%20", "/users/newbie%20", "/users/%09newbie"])
def test_create_takes_the_paths_name_as_sent(anon_client, db, path):
    """The path names the account: one with spaces around a name is no login name (1007), not that name, which
    GET of the same path would then answer 404 for."""
    before = snapshot()
    envelope(anon_client.post(path, {"password": "a-Long-enough-passw0rd"}, format="json"),
             errors.InvalidParametersError if "%20" in path else errors.NotFoundError)
    before.assert_unchanged()
    assert not User.objects.filter(username__iexact="newbie").exists()


def test_create_accepts_a_form_body(anon_client, db):
    envelope(anon_client.post("/users/formuser", {"passwd": "a-Long-enough-passw0rd"}), status=201)
    assert User.objects.filter(username="formuser").exists()


# --- DELETE ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", CALLER_ROLES)
def test_delete_matrix(caller_client, actor):
    client = caller_client(actor)
    victim_client = client_for(User.objects.get(username="alice"), terminal="tablet")
    before = snapshot()
    error = refusal(actor, anonymous=errors.NotAuthenticatedError, other=errors.PermissionDeniedError)
    envelope(client.delete("/users/alice"), error, status=None if error else 200)
    alice = User.objects.get(username="alice")
    if error is None:
        assert alice.status == UserStatus.DELETED
        assert not Session.objects.filter(user=alice, revoked_at__isnull=True).exists()
        envelope(victim_client.get("/auth/me"), errors.NotAuthenticatedError)  # its session was revoked
    else:
        before.assert_unchanged()


def test_deleted_login_name_stays_reserved(admin_client, anon_client, user):
    envelope(admin_client.delete("/users/alice"), status=200)
    envelope(anon_client.get("/users/alice"), errors.NotFoundError)
    envelope(anon_client.post("/users/Alice", {"password": PASSWORD + "x"}, format="json"), errors.LoginNameTakenError)
    envelope(anon_client.post("/auth/register", {"username": "alice", "password": PASSWORD + "x"}, format="json"),
             errors.LoginNameTakenError)


@pytest.mark.parametrize("name", ["tiers", "TIERS"])
def test_tiers_is_no_login_name_at_any_door(admin_client, name):
    """/vip/tiers is the tier list: an account named so could never reach its own /vip/{loginname}."""
    body = envelope(admin_client.post(f"/users/{name}", {"password": PASSWORD}, format="json"),
                    errors.InvalidParametersError)
    assert '"tiers"' in body["error"]["loginname"][0]
    with pytest.raises(ValidationError):
        User(username=name, password="x").full_clean(exclude=["password"])
    assert not User.objects.filter(username__iexact="tiers").exists()


# --- What a write answers ----------------------------------------------------------------------------------------

def test_an_update_answers_only_what_the_caller_may_read(user):
    """The reply of PUT/PATCH is the record as the caller may read it (GET's): an operator whose permission
    is to change tiers, not to view users, and an app holding only `write`, read the full record (e-mail,
    real name, status, last sign-in) through a write, though GET answers them the public fields."""
    from tests.conftest import app_client, staff_user

    tiers_only = client_for(staff_user("tiers", permissions=("membership.change_membership",)))
    assert set(envelope(tiers_only.get("/users/alice"), status=200)["data"]) == PUBLIC_FIELDS
    body = envelope(tiers_only.patch("/users/alice", {"userType": TierType.CERTIFIED}, format="json"), status=200)
    assert set(body["data"]) == PUBLIC_FIELDS and body["data"]["userType"] == TierType.CERTIFIED

    write_only = app_client(user, scope="write")
    body = envelope(write_only.patch("/users/alice", {"nickname": "Al"}, format="json"), status=200)
    assert set(body["data"]) == PUBLIC_FIELDS and body["data"]["nickname"] == "Al"
    full = envelope(app_client(user, scope="read write").patch("/users/alice", {"nickname": "Ali"}, format="json"),
                    status=200)["data"]
    assert full["email"] == "alice@example.com" and full["nickname"] == "Ali"


def test_a_write_to_the_own_profile_answers_only_what_the_app_may_read(user):
    """PATCH /auth/me with an app token holding `write` alone: GET /auth/me is 7006 for it, so the reply of
    its write is the public record, not the e-mail address, the real name or the status."""
    from tests.conftest import app_client

    write_only = app_client(user, scope="write")
    envelope(write_only.get("/auth/me"), errors.PermissionDeniedError)
    body = envelope(write_only.patch("/auth/me", {"nickname": "Al"}, format="json"), status=200)
    assert set(body["data"]) == PUBLIC_FIELDS and body["data"]["nickname"] == "Al"
    full = envelope(app_client(user, scope="read write").patch("/auth/me", {}, format="json"), status=200)["data"]
    assert full["email"] == "alice@example.com" and full["nickname"] == "Al"
