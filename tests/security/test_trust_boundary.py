"""Regression tests for the takeover paths of the trust-boundary review, one section per hole.

Each reproduces the attack as it was run against the service and checks it now fails, and that the
legitimate path next to it still works.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant
from rest_framework.test import APIClient

from accounts.browser import BROWSER_COOKIE, BROWSER_COOKIE_SECONDS
from accounts.models import AccountSecret, AuditEvent, SecretPurpose, Session, User, UserStatus
from accounts.oauth import applications
from accounts.services import codes, passwords, sessions, users
from accounts.services.email import email_change_confirm
from accountsite import errors
from membership.models import TierType
from membership.services import membership_tier_assign
from quotas.models import Quota, QuotaKind
from repos.models import Commit, Repository
from tests.conftest import app_client, browser_sign_in, browser_terminal_of, client_for, envelope, staff_user
from tests.factories import PASSWORD, AdminFactory, UserFactory
from tests.oauth.conftest import CALLBACK, authorize, exchange, pkce_pair, query_of
from tests.quotas.helpers import give_tier
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-Brand-new-passw0rd"


# --- 1. An app's token cannot take over the account ----------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("put", "/users/alice/email", {"email": "attacker@evil.example", "password": PASSWORD}),
    ("post", "/users/alice/email/verify", {"sid": "whatever"}),
    ("put", "/users/alice/pwd", {"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}),
    ("post", "/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("delete", "/users/alice", None),
    ("post", "/auth/unregister", {"password": PASSWORD}),
    ("post", "/auth/logout", {"all": True}),
    ("get", "/auth/sessions", None),
    ("put", "/vip/alice", {"userType": TierType.CERTIFIED, "cost": "0.00"}),
    ("get", "/vip/alice/ledger", None),
    ("patch", "/auth/me", {"is_developer": True}),
    ("get", "/developer/apps/", None),
    ("post", "/developer/apps/", {"name": "mine"}),
])
def test_an_apps_token_with_every_scope_gets_7006_for_account_security(user, method, path, body):
    app = app_client(user, "openid profile email read write")
    sessions = client_for(user, "phone")
    before = snapshot()
    envelope(getattr(app, method)(path, body, format="json"), errors.PermissionDeniedError)
    before.assert_unchanged()
    envelope(sessions.get("/auth/me"))  # nothing was logged out


def test_an_apps_token_still_reads_and_writes_the_profile_and_repositories(user):
    give_tier(user, TierType.CERTIFIED)
    app = app_client(user, "read write")
    envelope(app.patch("/auth/me", {"nickname": "Via app"}, format="json"))
    envelope(app.post("/repos/", {"name": "from-app"}, format="json"), status=201)
    envelope(app.post("/repos/alice/from-app/commits", {"content": "x"}, format="json"), status=201)
    assert envelope(app.get("/repos/alice/from-app"))["data"]["name"] == "from-app"
    reader = app_client(user, "read")
    envelope(reader.get("/auth/me"))
    envelope(reader.patch("/auth/me", {"nickname": "nope"}, format="json"), errors.PermissionDeniedError)
    assert User.objects.get(pk=user.pk).nickname == "Via app"


def test_the_reproduced_takeover_chain_stops_at_its_first_step(user, django_capture_on_commit_callbacks):
    """The chain was: change the e-mail to the app's address, verify, forget/pwd, pwd/reset, sign in."""
    app = app_client(user, "read write")
    with django_capture_on_commit_callbacks(execute=True):
        envelope(app.put("/users/alice/email", {"email": "attacker@evil.example", "password": PASSWORD},
                         format="json"), errors.PermissionDeniedError)
        envelope(APIClient().put("/users/alice/forget/pwd"))
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]  # the code goes to alice only


# --- 2. A sign-in racing a credential change does not outlive it ------------------------------------------------

def test_a_sign_in_checked_before_a_password_change_is_refused_after_it(user):
    checked = sessions.credentials_verify(login="alice", password=PASSWORD, ip="198.51.100.1")
    passwords.password_set(user=User.objects.get(pk=user.pk), password=NEW_PASSWORD, actor=None, reason="change")
    with pytest.raises(errors.WrongPasswordError):
        sessions.session_start(user=checked, terminal="web", ip="198.51.100.1", user_agent="t")
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()


@pytest.mark.parametrize("status", [UserStatus.FROZEN, UserStatus.INVALID, UserStatus.DELETED])
def test_a_sign_in_checked_before_a_freeze_does_not_come_back_with_the_restore(user, status):
    checked = sessions.credentials_verify(login="alice", password=PASSWORD, ip="198.51.100.1")
    users.user_status_set(user=User.objects.get(pk=user.pk), status=status, actor=None)
    with pytest.raises(errors.AccountDisabledError):
        sessions.session_start(user=checked, terminal="web", ip="198.51.100.1", user_agent="t")
    users.user_status_set(user=User.objects.get(pk=user.pk), status=UserStatus.ACTIVE, actor=None)
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()


# --- 3. Staff does not escalate to superuser -------------------------------------------------------------------

@pytest.mark.parametrize(("groups", "body"), [
    ((), {"password": NEW_PASSWORD}),
    (("support",), {"password": NEW_PASSWORD}),
    (("support",), {"status": 5}),
    (("support", "billing"), {"role": "common"}),
])
def test_staff_cannot_take_over_a_superuser(admin_user, groups, body):
    staff = client_for(staff_user("helper", *groups))
    before = snapshot()
    envelope(staff.put(f"/users/{admin_user.username}", body, format="json"), errors.PermissionDeniedError)
    before.assert_unchanged()
    envelope(APIClient().post("/auth/login", {"username": admin_user.username, "password": NEW_PASSWORD},
                              format="json"), errors.WrongPasswordError, status=401)


def test_support_freezes_ordinary_users_and_only_a_superuser_freezes_staff(user, admin_user):
    support = client_for(staff_user("helper", "support"))
    colleague = staff_user("colleague", "billing")
    envelope(support.put("/users/alice", {"status": 5}, format="json"))
    envelope(support.put("/users/colleague", {"status": 5}, format="json"), errors.PermissionDeniedError)
    envelope(client_for(admin_user).put("/users/colleague", {"status": 5}, format="json"))
    assert User.objects.get(pk=user.pk).status == User.objects.get(pk=colleague.pk).status == UserStatus.FROZEN



@pytest.mark.parametrize("body", [{"role": "common"}, {"status": UserStatus.FROZEN}, {"userType": TierType.GOLD}])
def test_an_operator_never_changes_their_own_role_status_or_tier(admin_user, body):
    """A superuser who made themselves `common` locked themselves out of the back office (contract: `role`
    is never writable by its own user); freezing or billing oneself is no operator power either."""
    root = client_for(admin_user)
    before = snapshot()
    reply = envelope(root.patch(f"/users/{admin_user.username}", body, format="json"), errors.PermissionDeniedError)
    assert reply["error"] == {"fields": list(body)}
    before.assert_unchanged()
    other_root = client_for(AdminFactory(username="root2"))
    envelope(other_root.patch(f"/users/{admin_user.username}", body, format="json"))


def test_only_a_superuser_changes_an_administrators_tier_or_buys_one_for_them(user, admin_user):
    """change_membership moves ordinary members between tiers; on a staff account (whose tier goes with its
    role) it is a superuser's power, like its password, status and role."""
    cashier = client_for(staff_user("cashier", "billing", permissions=("membership.change_membership",)))
    colleague = staff_user("colleague", "support")
    before = snapshot()
    envelope(cashier.put("/users/colleague", {"userType": TierType.CERTIFIED}, format="json"),
             errors.PermissionDeniedError)
    envelope(cashier.put("/vip/colleague", {"userType": TierType.CERTIFIED, "cost": "0.00"}, format="json"),
             errors.PermissionDeniedError)
    before.assert_unchanged()
    envelope(cashier.put("/users/alice", {"userType": TierType.CERTIFIED}, format="json"))
    envelope(cashier.put("/vip/alice", {"userType": TierType.GOLD, "cost": "0.00"}, format="json"),
             errors.CostMismatchError)  # allowed: refused only for the price it quoted
    envelope(client_for(admin_user).put("/users/colleague", {"userType": TierType.CERTIFIED}, format="json"))
    assert envelope(client_for(colleague).get("/auth/me"))["data"]["userType"] == TierType.CERTIFIED


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("spelling", ["password", "passwd"])
def test_an_operator_token_cannot_set_its_own_password_without_the_current_one(admin_user, method, spelling):
    """A stolen superuser token would otherwise keep the account for good: an operator's own password
    changes like anyone's, with the current one (PUT /users/{me}/pwd, POST /auth/password). The refusal
    names the field as the body spelt it."""
    root = client_for(admin_user)
    before = snapshot()
    reply = envelope(getattr(root, method)(f"/users/{admin_user.username}", {spelling: NEW_PASSWORD},
                                           format="json"), errors.PermissionDeniedError)
    assert reply["error"] == {"fields": [spelling]}
    before.assert_unchanged()
    envelope(root.get("/auth/me"))  # no session ended either
    envelope(root.put(f"/users/{admin_user.username}/pwd", {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
                      format="json"))
    envelope(APIClient().post("/auth/login", {"username": admin_user.username, "password": NEW_PASSWORD},
                              format="json"))


def test_a_top_up_refused_for_another_account_says_so_not_that_it_is_ones_own(user, other):
    for caller in (client_for(other), client_for(staff_user("helper", "support"))):
        reply = envelope(caller.post("/vip/alice/topup", {"amount": "5.00"}, format="json"),
                         errors.PermissionDeniedError)
        assert "own account" not in reply["msg"]
    reply = envelope(client_for(staff_user("cashier", "billing")).post("/vip/cashier/topup", {"amount": "5.00"},
                                                                       format="json"), errors.PermissionDeniedError)
    assert "own account" in reply["msg"]


def test_support_ends_ordinary_users_sessions_and_only_a_superuser_ends_staffs(user, admin_user):
    """Otherwise a support operator could sign a superuser out again and again."""
    support = Client()
    browser_sign_in(support, staff_user("helper", "support"))
    root_api, alice_api = client_for(admin_user, "cli"), client_for(user, "cli")
    for target in (admin_user, user):
        support.post("/admin/accounts/user/", {"action": "revoke_sessions", "_selected_action": [target.pk]})
    envelope(root_api.get("/auth/me"))
    envelope(alice_api.get("/auth/me"), errors.NotAuthenticatedError)
    session = Session.objects.get(user=admin_user, terminal="cli")
    support.post(f"/admin/accounts/user/{admin_user.pk}/sessions/{session.pk}/revoke/")  # the page's own button
    envelope(root_api.get("/auth/me"))

# --- 4. The admin login is the same door as /auth/login --------------------------------------------------------

def admin_login(password: str, *, ip: str = "198.51.100.7", username: str = "root", browser: Client | None = None):
    return (browser or Client(REMOTE_ADDR=ip)).post("/admin/login/", {"username": username, "password": password,
                                                                     "next": "/admin/"})


def test_admin_login_locks_out_after_ten_failures_even_with_the_right_password(admin_user, settings):
    for _ in range(settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT):
        assert admin_login("wrong-password").status_code == 200  # the form again
    refused = admin_login(PASSWORD)
    assert refused.status_code == 200 and "Too many failed attempts" in refused.content.decode()
    envelope(APIClient().post("/auth/login", {"username": "root", "password": PASSWORD}, format="json"),
             errors.TooManyRequestsError)


def test_api_failures_lock_the_admin_login_too(admin_user, settings):
    for _ in range(settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT):
        APIClient().post("/auth/login", {"username": "root", "password": "wrong-password"}, format="json")
    assert "Too many failed attempts" in admin_login(PASSWORD).content.decode()


def test_admin_login_opens_a_session_row_and_writes_the_sign_in_audit_row(admin_user):
    browser = Client(REMOTE_ADDR="198.51.100.7")
    reply = admin_login(PASSWORD, browser=browser)
    assert reply.status_code == 302 and reply["Location"] == "/admin/"
    terminal = browser_terminal_of(browser, "admin")
    session = Session.objects.get(user=admin_user, terminal=terminal, revoked_at__isnull=True)
    assert session.ip == "198.51.100.7"
    assert AuditEvent.objects.filter(user=admin_user, action="session.login", data__terminal=terminal).exists()


def test_each_browser_keeps_its_own_back_office_session(admin_user, settings):
    """Two browsers signed in to the back office stay signed in; signing in again in one of them replaces
    that browser's session only, on the same terminal (the same device for the new-device notice)."""
    first, second = Client(REMOTE_ADDR="198.51.100.7"), Client(REMOTE_ADDR="198.51.100.8")
    admin_login(PASSWORD, browser=first)
    cookie = first.cookies[BROWSER_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == BROWSER_COOKIE_SECONDS
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE
    first_session = Session.objects.get(user=admin_user, revoked_at__isnull=True)
    admin_login(PASSWORD, browser=second)
    assert first.get("/admin/").status_code == 200 and second.get("/admin/").status_code == 200
    assert browser_terminal_of(first, "admin") != browser_terminal_of(second, "admin")
    admin_login(PASSWORD, browser=first)
    assert BROWSER_COOKIE not in admin_login(PASSWORD, browser=first).cookies  # its id is kept, not made again
    live = Session.objects.filter(user=admin_user, revoked_at__isnull=True)
    assert sorted(live.values_list("terminal", flat=True)) == sorted(
        [browser_terminal_of(first, "admin"), browser_terminal_of(second, "admin")])
    first_session.refresh_from_db()
    assert first_session.revoked_at is not None and first_session.terminal == browser_terminal_of(first, "admin")
    assert second.get("/admin/").status_code == 200


@pytest.mark.parametrize("cookie", ["", "not-an-id", "ABCDEF012345", "0123456789abc", "01234567\xe99ab",
                                    "0123456789ab; admin"])
def test_a_browser_id_that_is_not_one_of_ours_is_replaced(admin_user, cookie):
    browser = Client(REMOTE_ADDR="198.51.100.7")
    browser.cookies[BROWSER_COOKIE] = cookie
    reply = admin_login(PASSWORD, browser=browser)
    made = reply.cookies[BROWSER_COOKIE].value
    assert re.fullmatch(r"[0-9a-f]{12}", made)
    assert Session.objects.get(user=admin_user, revoked_at__isnull=True).terminal == f"admin {made}"


@pytest.mark.parametrize("status", [UserStatus.FROZEN, UserStatus.INVALID, UserStatus.INACTIVE])
def test_admin_login_refuses_staff_who_may_not_sign_in(status):
    AdminFactory(username="root", status=status)
    reply = admin_login(PASSWORD)
    assert reply.status_code == 200 and not Session.objects.exists()


def test_django_authenticate_is_no_way_in(admin_user):
    from django.contrib.auth import authenticate

    assert authenticate(username="root", password=PASSWORD) is None


# --- 5. Mailed codes do not outlive credential changes -------------------------------------------------------

def open_codes(user) -> int:
    return AccountSecret.objects.filter(user=user, used_at__isnull=True).count()


def test_a_reset_code_dies_with_an_email_change(user):
    reset, _ = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
    change, _ = codes.secret_issue(user=user, purpose=SecretPurpose.EMAIL_CHANGE, new_email="new@example.com")
    email_change_confirm(user=user, sid=change)
    envelope(APIClient().put("/users/alice/pwd/reset", {"sid": reset, "passwd": NEW_PASSWORD}, format="json"),
             errors.InvalidSecretError)
    assert open_codes(user) == 0


@pytest.mark.parametrize("change", ["password_change", "password_reset", "freeze"])
def test_every_open_code_dies_with_a_password_or_status_change(user, change):
    for purpose in SecretPurpose:
        codes.secret_issue(user=user, purpose=purpose, new_email="n@example.com")
    if change == "password_change":
        passwords.password_change(user=user, old_password=PASSWORD, new_password=NEW_PASSWORD, ip="127.0.0.1",
                                 session=None)
    elif change == "password_reset":
        raw, _ = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
        passwords.password_reset(loginname="alice", sid=raw, password=NEW_PASSWORD)
    else:
        users.user_status_set(user=user, status=UserStatus.FROZEN, actor=None)
    assert open_codes(user) == 0


# --- 6. Logging out everywhere ends the browser sign-ins too ----------------------------------------------------

def test_logout_all_ends_the_oauth_sign_in_cookie(user):
    developer = UserFactory(username="dev")
    application = applications.application_create(owner=developer, redirect_uris=CALLBACK).application
    browser = Client()
    page = browser.post("/oauth/login/", {"login": "alice", "password": PASSWORD, "next": "/oauth/authorize/"})
    assert page.status_code == 302
    _verifier, challenge = pkce_pair()
    assert authorize(browser, application, challenge=challenge).status_code == 302  # signed in: consent works
    envelope(client_for(user).post("/auth/logout", {"all": True}, format="json"))
    again = browser.get("/oauth/authorize/", {"response_type": "code", "client_id": application.client_id,
                                              "redirect_uri": CALLBACK, "code_challenge": challenge,
                                              "code_challenge_method": "S256", "scope": "read write"})
    assert again.status_code == 302 and again["Location"].startswith("/oauth/login/")


@pytest.mark.parametrize("event", ["logout_all", "password_change", "freeze", "revoke_session"])
def test_revocation_events_sign_the_admin_browser_out(admin_user, event):
    browser = Client()
    session = browser_sign_in(browser, admin_user)
    assert browser.get("/admin/").status_code == 200
    api = client_for(admin_user)
    if event == "logout_all":
        envelope(api.post("/auth/logout", {"all": True}, format="json"))
    elif event == "password_change":
        envelope(api.post("/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"))
    elif event == "freeze":
        users.user_status_set(user=admin_user, status=UserStatus.FROZEN, actor=None)
        users.user_status_set(user=admin_user, status=UserStatus.ACTIVE, actor=None)
    else:
        envelope(api.delete(f"/auth/sessions/{session.pk}"))
    assert browser.get("/admin/")["Location"].startswith("/admin/login/")


def test_browser_sessions_are_listed_with_the_others(admin_user):
    browser_sign_in(Client(), admin_user)
    terminals = {row["terminal"] for row in envelope(client_for(admin_user, "cli").get("/auth/sessions"))["data"]}
    assert terminals == {"admin", "cli"}


# --- 7. A frozen or deleted developer's app stops working -------------------------------------------------------

@pytest.mark.parametrize("status", [UserStatus.FROZEN, UserStatus.DELETED])
def test_an_app_dies_with_its_developers_account(user, status):
    developer = UserFactory(username="dev")
    issued = applications.application_create(owner=developer, redirect_uris=CALLBACK)
    holder = app_client(user, "read write", owner=developer)
    browser = Client()
    browser_sign_in(browser, user, terminal="oauth-sign-in-page")
    verifier, challenge = pkce_pair()
    code = query_of(authorize(browser, issued.application, challenge=challenge)["Location"])["code"]

    users.user_status_set(user=developer, status=status, actor=None)
    envelope(holder.get("/auth/me"), errors.NotAuthenticatedError)
    assert not AccessToken.objects.filter(application=issued.application).exists()
    assert not Grant.objects.filter(application=issued.application).exists()
    refused = exchange(code, verifier, issued.application, issued.client_secret)
    assert refused.status_code in (400, 401) and "access_token" not in refused.json()
    page = browser.get("/oauth/authorize/", {"response_type": "code", "client_id": issued.application.client_id,
                                             "redirect_uri": CALLBACK, "code_challenge": challenge,
                                             "code_challenge_method": "S256", "scope": "read"})
    assert page.status_code == 400  # an unknown client: no consent page, no redirect


def test_a_token_minted_for_an_inactive_developers_app_is_refused(user):
    developer = UserFactory(username="dev")
    holder = app_client(user, "read", owner=developer)
    User.objects.filter(pk=developer.pk).update(status=UserStatus.FROZEN)  # behind the services' back
    envelope(holder.get("/auth/me"), errors.NotAuthenticatedError)


# --- 8. An expired paid tier is enforced as tier 1 at once -----------------------------------------------------

def test_an_expired_gold_member_cannot_create_past_tier_1_before_the_daily_job(user):
    # Gold (2 private repositories) until a minute ago; the daily job has not run yet.
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None,
                           expires_at=timezone.now() - timedelta(minutes=1))
    api = client_for(user)
    envelope(api.post("/repos/", {"name": "secret", "visibility": "private"}, format="json"), errors.QuotaExceededError)
    assert not Repository.objects.exists()
    assert envelope(api.get("/quota/alice/repository"))["data"]["quotaPrivate"] == 0


def test_a_paid_tier_in_force_keeps_its_limits(user):
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None,
                           expires_at=timezone.now() + timedelta(days=30))
    envelope(client_for(user).post("/repos/", {"name": "secret", "visibility": "private"}, format="json"), status=201)


# --- 9. No arithmetic overflows ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [2**63 - 1, 2**62, 10**18])
@pytest.mark.parametrize("tier", [TierType.GOLD, TierType.ADMIN])  # the admin tier's storage is unlimited
def test_huge_commits_are_8008_never_a_crash(user, size, tier):
    if tier == TierType.ADMIN:  # the admin tier goes with the role
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    give_tier(user, tier)
    api = client_for(user)
    envelope(api.post("/repos/", {"name": "big"}, format="json"), status=201)
    codes = [api.post("/repos/alice/big/commits", {"content": "x", "size": size}, format="json").json()["code"]
             for _ in range(10)]
    accepted = codes.count(0)
    assert codes == [0] * accepted + [errors.QuotaExceededError.code] * (10 - accepted)
    assert accepted == (0 if tier == TierType.GOLD else (2**63 - 1) // size)  # unlimited stops at what a counter holds
    deposit = Quota.objects.get(user=user, kind=QuotaKind.DEPOSIT)
    assert deposit.use == size * accepted == sum(Commit.objects.values_list("size", flat=True))


# --- 10. Identities cannot be squatted ------------------------------------------------------------------------

def test_a_login_name_equal_to_someones_address_is_taken(other):
    envelope(APIClient().post("/auth/register", {"username": "BOB@example.com", "password": PASSWORD},
                              format="json"), errors.LoginNameTakenError)
    envelope(APIClient().post("/users/bob@example.com", {"passwd": PASSWORD}, format="json"),
             errors.LoginNameTakenError)


def test_an_address_equal_to_someones_login_name_is_taken(db):
    UserFactory(username="carol@example.com", email=None)
    envelope(APIClient().post("/auth/register", {"username": "mallory", "password": PASSWORD,
                                                 "email": "Carol@example.com"}, format="json"), errors.EmailTakenError)


def test_ones_own_address_as_login_name_is_fine(db):
    envelope(APIClient().post("/auth/register", {"username": "dan@example.com", "password": PASSWORD,
                                                 "email": "dan@example.com"}, format="json"), status=201)


# --- 11. Introspection answers a client about its own tokens only ---------------------------------------------

def test_a_client_cannot_introspect_another_clients_token(user):
    holder = app_client(user, "read write")
    spy = applications.application_create(owner=UserFactory(username="spy"), redirect_uris=CALLBACK)
    own = Client().post("/oauth/introspect/", {"client_id": holder.application.client_id, "token": holder.raw_token,
                                               "client_secret": "wrong"})
    assert own.status_code == 401 and own["WWW-Authenticate"].startswith("Basic")
    foreign = Client().post("/oauth/introspect/", {"client_id": spy.application.client_id,
                                                   "client_secret": spy.client_secret, "token": holder.raw_token})
    assert foreign.status_code == 200 and foreign.json() == {"active": False}


def test_introspection_needs_client_authentication(user):
    holder = app_client(user)
    reply = Client().post("/oauth/introspect/", {"token": holder.raw_token})
    assert reply.status_code == 401 and reply.json() == {"error": "invalid_client"}


# --- Every back-office action says what it needs -------------------------------------------------------------

def test_every_admin_action_declares_its_permissions():
    from django.contrib import admin

    undeclared = []
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.actions or ():
            func = getattr(model_admin, action) if isinstance(action, str) else action
            if not getattr(func, "allowed_permissions", ()):
                undeclared.append(f"{model.__name__}.{getattr(func, '__name__', action)}")
    assert undeclared == []


# --- A session someone else holds cannot add a sign-in factor of its own -------------------------------------------

@pytest.mark.parametrize("path", ["/auth/mfa/totp", "/auth/passkeys/options"])
def test_adding_a_sign_in_factor_asks_for_the_password_again(user, path, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    from accounts.models import TotpDevice
    from tests.mfa.helpers import totp_code

    stolen = client_for(user, "stolen")
    before = snapshot()
    envelope(stolen.post(path, {}, format="json"), errors.InvalidParametersError)
    before.assert_unchanged()
    envelope(stolen.post(path, {"password": "not-the-password"}, format="json"), errors.WrongPasswordError)
    assert AuditEvent.objects.filter(user=user, action="session.login_failed").count() == 1  # counted
    assert not TotpDevice.objects.exists()
    envelope(stolen.post(path, {"password": PASSWORD}, format="json"))
    if path == "/auth/mfa/totp":
        with django_capture_on_commit_callbacks(execute=True):
            envelope(stolen.post("/auth/mfa/totp/confirm", {"code": totp_code(user)}, format="json"))
        assert mailoutbox[-1].subject == "A sign-in factor was added to your accountsite account"
        assert "An authenticator app was added" in mailoutbox[-1].body
