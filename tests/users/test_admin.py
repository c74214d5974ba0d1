"""The back office for users, sessions and audit events: every change goes through the services."""

import pytest
from django.core import mail
from django.test import Client

from accounts.models import AuditEvent, Session, User, UserStatus
from accountsite import errors
from membership.models import TierType
from tests.conftest import browser_sign_in, client_for, envelope, messages_of, staff_user
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def act(operator: Client, action: str, *users: User, path: str = "/admin/accounts/user/"):
    return operator.post(path, {"action": action, "_selected_action": [u.pk for u in users]}, follow=True)


def test_user_list_searches_and_filters_and_never_shows_passwords(operator, user, other):
    page = operator.get("/admin/accounts/user/", {"q": "ali"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "alice" in text and ">bob<" not in text and user.password not in text
    for query in ({"status__exact": 2}, {"is_staff__exact": 1}, {"user_type": 1}, {"is_developer__exact": 0}):
        assert operator.get("/admin/accounts/user/", query).status_code == 200
    change = operator.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert user.password not in change and 'name="password"' not in change


@pytest.mark.parametrize(("action", "status"), [
    ("freeze_users", UserStatus.FROZEN), ("invalidate_users", UserStatus.INVALID), ("delete_users", UserStatus.DELETED),
])
def test_status_actions_end_sessions_at_once(operator, user, action, status):
    api = client_for(user)
    assert act(operator, action, user).status_code == 200
    assert User.objects.get(pk=user.pk).status == status
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)
    assert AuditEvent.objects.filter(user=user, action="user.status", data__status=status).exists()


def test_activate_action(operator):
    waiting = UserFactory(username="waiting", status=UserStatus.INACTIVE)
    act(operator, "activate_users", waiting)
    assert User.objects.get(pk=waiting.pk).status == UserStatus.ACTIVE


@pytest.mark.parametrize("action", ["activate_users", "freeze_users", "invalidate_users"])
def test_status_actions_leave_deleted_accounts_to_the_restore_action(operator, user, action):
    gone = UserFactory(username="gone", status=UserStatus.DELETED)
    page = act(operator, action, user, gone)
    assert User.objects.get(pk=gone.pk).status == UserStatus.DELETED
    assert not AuditEvent.objects.filter(user=gone, action="user.status").exists()
    assert "1 deleted user(s) left as they are: restore them first." in messages_of(page)


@pytest.mark.parametrize("status", [UserStatus.FROZEN, UserStatus.INVALID, UserStatus.INACTIVE])
def test_the_change_form_does_not_move_a_deleted_account_in_passing(operator, status):
    gone = UserFactory(username="gone", status=UserStatus.DELETED)
    form = {"username": "gone", "email": gone.email, "nickname": "", "real_name": "", "intro": "", "github": "",
            "school": "", "website": "", "status": status}
    reply = operator.post(f"/admin/accounts/user/{gone.pk}/change/", form)
    assert reply.status_code == 200 and "status" in reply.context["adminform"].form.errors
    assert User.objects.get(pk=gone.pk).status == UserStatus.DELETED
    form["status"] = UserStatus.ACTIVE  # restoring, as the Restore action does, stays possible here
    assert operator.post(f"/admin/accounts/user/{gone.pk}/change/", form).status_code == 302
    assert User.objects.get(pk=gone.pk).status == UserStatus.ACTIVE


def test_revoke_sessions_and_reset_mail_actions(operator, user, django_capture_on_commit_callbacks):
    api = client_for(user)
    act(operator, "revoke_sessions", user)
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)
    with django_capture_on_commit_callbacks(execute=True):
        act(operator, "send_password_reset", user)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]] and "sid=" in mail.outbox[0].body


@pytest.mark.parametrize("status", [UserStatus.INACTIVE, UserStatus.INVALID, UserStatus.FROZEN, UserStatus.DELETED])
def test_reset_mail_goes_only_to_accounts_that_could_use_it(operator, user, status, django_capture_on_commit_callbacks):
    User.objects.filter(pk=user.pk).update(status=status)
    UserFactory(username="mailless", email=None)
    with django_capture_on_commit_callbacks(execute=True):
        page = act(operator, "send_password_reset", user, User.objects.get(username="mailless"))
    assert mail.outbox == [] and "sent to 0 user(s)" in page.content.decode()


def test_status_edit_in_the_change_form_goes_through_the_service(operator, user):
    api = client_for(user)
    form = {"username": "alice", "email": "alice@example.com", "nickname": "Alice", "real_name": "", "intro": "",
            "github": "", "school": "", "website": "", "status": UserStatus.FROZEN}
    reply = operator.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert reply.status_code == 302, reply.content.decode()[:2000]
    assert User.objects.get(pk=user.pk).status == UserStatus.FROZEN
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)
    assert AuditEvent.objects.filter(user=user, action="user.status", data__reason="admin").exists()


def test_users_cannot_be_added_or_hard_deleted_here(operator, user):
    assert operator.get("/admin/accounts/user/add/").status_code == 403
    assert operator.get(f"/admin/accounts/user/{user.pk}/delete/").status_code == 403


def test_sessions_are_read_only_with_a_revoke_action(operator, user):
    client_for(user, terminal="phone")
    session = Session.objects.get(user=user, terminal="phone")
    listing = operator.get("/admin/accounts/session/").content.decode()
    assert "phone" in listing and session.refresh_jti not in listing
    assert operator.get(f"/admin/accounts/session/{session.pk}/change/").status_code == 200
    assert session.refresh_jti not in operator.get(f"/admin/accounts/session/{session.pk}/change/").content.decode()
    act(operator, "revoke", session, path="/admin/accounts/session/")
    assert Session.objects.get(pk=session.pk).revoke_reason == "admin"


def test_audit_events_are_read_only(operator, user):
    act(operator, "freeze_users", user)
    event = AuditEvent.objects.filter(action="user.status").first()
    assert "user.status" in operator.get("/admin/accounts/auditevent/").content.decode()
    assert operator.get("/admin/accounts/auditevent/add/").status_code == 403
    assert operator.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_non_staff_cannot_use_the_back_office(user):
    browser = Client()
    browser_sign_in(browser, user)
    assert browser.get("/admin/accounts/user/").status_code == 302


def test_role_actions_move_the_tier_and_the_form_cannot_set_roles(operator, user):
    act(operator, "make_admin", user)
    alice = User.objects.select_related("membership__tier").get(pk=user.pk)
    assert alice.is_staff and alice.membership.tier.user_type == TierType.ADMIN
    act(operator, "make_common", user)
    alice = User.objects.select_related("membership__tier").get(pk=user.pk)
    assert not alice.is_staff and alice.membership.tier.user_type == TierType.REGISTERED
    form = {"username": "alice", "email": "alice@example.com", "nickname": "Alice", "real_name": "", "intro": "",
            "github": "", "school": "", "website": "", "status": UserStatus.ACTIVE, "is_staff": "on",
            "is_superuser": "on"}
    assert operator.post(f"/admin/accounts/user/{user.pk}/change/", form).status_code == 302
    assert not User.objects.get(pk=user.pk).is_admin


def test_restore_action_only_touches_deleted_users(operator):
    ice = UserFactory(username="ice", status=UserStatus.FROZEN)
    gone = UserFactory(username="gone", status=UserStatus.DELETED)
    act(operator, "restore_users", ice, gone)
    assert User.objects.get(pk=ice.pk).status == UserStatus.FROZEN
    assert User.objects.get(pk=gone.pk).status == UserStatus.ACTIVE


def test_admin_password_change_goes_through_the_service(admin_user):
    browser = Client()
    browser_sign_in(browser, admin_user)
    api = client_for(admin_user, "cli")
    new = {"new_password1": "A-new-passw0rd!", "new_password2": "A-new-passw0rd!"}
    wrong = browser.post("/admin/password_change/", {"old_password": "not-it-at-all", **new})
    assert wrong.status_code == 200 and "current password is wrong" in wrong.content.decode()
    right = browser.post("/admin/password_change/", {"old_password": PASSWORD, **new})
    assert right.status_code == 302 and right["Location"] == "/admin/password_change/done/"
    assert browser.get("/admin/").status_code == 200  # this browser stays signed in
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)  # every other sign-in ended
    assert AuditEvent.objects.filter(user=admin_user, action="password.change").exists()


def test_a_locked_out_admin_password_change_says_why(admin_user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 2
    browser = Client()
    browser_sign_in(browser, admin_user)
    new = {"new_password1": "A-new-passw0rd!", "new_password2": "A-new-passw0rd!"}
    for _ in range(2):
        browser.post("/admin/password_change/", {"old_password": "not-it-at-all", **new})
    locked = browser.post("/admin/password_change/", {"old_password": PASSWORD, **new})
    page = " ".join(locked.content.decode().split())
    assert locked.status_code == 200 and "Too many" in page, page[page.find("errornote"):][:400]
    assert User.objects.get(pk=admin_user.pk).check_password(PASSWORD)


def test_an_admin_password_change_from_an_address_past_its_limit_is_refused(admin_user, settings):
    """The back office's door to passwords.password_check: its address's sign-in failures lock it too."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 2
    for name in ("nobody1", "nobody2"):
        Client(REMOTE_ADDR="203.0.113.44").post("/admin/login/", {"username": name, "password": "not-it-at-all"})
    browser = Client(REMOTE_ADDR="203.0.113.44")
    browser_sign_in(browser, admin_user)
    new = {"new_password1": "A-new-passw0rd!", "new_password2": "A-new-passw0rd!"}
    locked = browser.post("/admin/password_change/", {"old_password": PASSWORD, **new})
    page = " ".join(locked.content.decode().split())
    assert locked.status_code == 200 and "Too many" in page, page[page.find("errornote"):][:400]
    assert User.objects.get(pk=admin_user.pk).check_password(PASSWORD)


def test_an_operator_ending_sessions_leaves_an_audit_row(operator, user, admin_user):
    client_for(user, "phone")
    act(operator, "revoke_sessions", user)
    event = AuditEvent.objects.get(user=user, action="session.revoke")
    assert event.actor == admin_user and event.data["sessions"] == 1


def _identity_form(user: User, **changes) -> dict:
    form = {"username": user.username, "email": user.email, "nickname": user.nickname, "real_name": "", "intro": "",
            "github": "", "school": "", "website": "", "status": user.status}
    return {**form, **changes}


def test_an_address_is_set_only_with_the_password_power_and_the_old_one_is_told(user, other,
                                                                                django_capture_on_commit_callbacks):
    """An operator with only accounts.change_user (meant for renaming) set a user's address to their own, then
    took the account through the public password reset, past accounts.set_user_password; the user was never
    told. The address is the password's power now, and the old address hears of every change."""
    renamer = Client()
    browser_sign_in(renamer, staff_user("op-rename", permissions=("accounts.change_user",)))
    for field, value in (("email", "mallory@evil.example"), ("email_verified", "on")):
        reply = renamer.post(f"/admin/accounts/user/{user.pk}/change/", _identity_form(user, **{field: value}),
                             follow=True)
        assert f"You may not change: {field}." in reply.content.decode()
    assert (User.objects.get(pk=user.pk).email, User.objects.get(pk=user.pk).email_verified) == (user.email, False)
    reply = renamer.post(f"/admin/accounts/user/{user.pk}/change/", _identity_form(user, username="alice2"))
    assert reply.status_code == 302 and User.objects.get(pk=user.pk).username == "alice2"

    setter = Client()
    browser_sign_in(setter, staff_user("op-setter", permissions=("accounts.change_user",
                                                                 "accounts.set_user_password")))
    with django_capture_on_commit_callbacks(execute=True):
        reply = setter.post(f"/admin/accounts/user/{other.pk}/change/",
                            _identity_form(other, email="robert@example.org"))
    assert reply.status_code == 302 and User.objects.get(pk=other.pk).email == "robert@example.org"
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["bob@example.com"], "The e-mail address of your accountsite account was changed")]
    assert "r***@example.org" in mail.outbox[0].body and "robert" not in mail.outbox[0].body


def test_no_operator_sets_their_own_address_with_operator_powers(admin_user, operator):
    """As with their password: a stolen operator session must not move the address a reset goes to."""
    reply = operator.post(f"/admin/accounts/user/{admin_user.pk}/change/",
                          _identity_form(admin_user, email="elsewhere@example.org"), follow=True)
    assert "You may not change: email." in reply.content.decode()
    assert User.objects.get(pk=admin_user.pk).email == admin_user.email
