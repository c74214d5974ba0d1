"""Signing in with a second factor through the API: POST /auth/login answers an mfa_token and no tokens,
POST /auth/login/mfa finishes with a code, a recovery code (or a passkey, tests/mfa/test_passkeys.py)."""

import time

import pytest

from accounts.models import AuditEvent, Session
from accounts.services import mfa, passwords
from accountsite import errors
from tests.conftest import envelope
from tests.factories import PASSWORD
from tests.mfa.helpers import totp_code, totp_on

pytestmark = pytest.mark.django_db


def first_step(client, username="alice", terminal="phone"):
    return envelope(client.post("/auth/login", {"username": username, "password": PASSWORD, "terminal": terminal},
                                format="json"))["data"]


def wrong_code(client, token: str) -> None:
    """A wrong authenticator code for the sign-in waiting on `token`: refused, and counted."""
    envelope(client.post("/auth/login/mfa", {"mfa_token": token, "code": "000000"}, format="json"),
             errors.InvalidSecretError)


def test_without_a_second_factor_login_answers_tokens(user, anon_client):
    data = first_step(anon_client)
    assert "access" in data and "mfa_required" not in data


def test_the_right_password_answers_an_mfa_token_and_no_tokens(user, anon_client):
    totp_on(user)
    data = first_step(anon_client)
    assert data["mfa_required"] is True and data["methods"] == ["totp", "recovery_code"]
    assert set(data) == {"mfa_required", "mfa_token", "methods", "expires_at"}
    assert not Session.objects.filter(user=user).exists()
    assert not AuditEvent.objects.filter(user=user, action="session.login").exists()


def test_a_code_finishes_the_sign_in_on_the_terminal_asked_for(user, anon_client):
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    data = envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)},
                                     format="json"))["data"]
    assert data["terminal"] == "phone" and data["user"]["username"] == "alice"
    session = Session.objects.get(user=user, revoked_at__isnull=True)
    assert session.terminal == "phone"
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['access']}")
    envelope(anon_client.get("/auth/me"))


def test_the_mfa_token_is_single_use(user, anon_client):
    codes = totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"))
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[0]}, format="json"),
             errors.NotAuthenticatedError)
    assert Session.objects.filter(user=user).count() == 1


def test_a_second_check_of_the_same_sign_in_waits_and_spends_no_factor(user, anon_client, monkeypatch):
    """Two requests with two right recovery codes for one mfa_token: the one arriving while the first is
    being checked is told to wait (429) before its code is checked, so only one code is used up."""
    codes = totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    real, inner = mfa.second_factor_verify, []

    def verify_while_another_arrives(**kwargs):
        if not inner:
            inner.append(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[1]},
                                          format="json"))
        return real(**kwargs)

    monkeypatch.setattr(mfa, "second_factor_verify", verify_while_another_arrives)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[0]}, format="json"))
    envelope(inner[0], errors.TooManyRequestsError)
    assert inner[0]["Retry-After"] == "1"
    assert mfa.mfa_summary(user)["recovery_codes_left"] == len(codes) - 1
    # The check is over: the token is used up, and the second code still signs in with a new one.
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[1]}, format="json"),
             errors.NotAuthenticatedError)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": first_step(anon_client)["mfa_token"],
                                                  "recovery_code": codes[1]}, format="json"))


def test_a_wrong_code_frees_the_sign_in_for_the_next_try(user, anon_client):
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    wrong_code(anon_client, token)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"))


def test_an_expired_or_unknown_mfa_token_is_refused(user, anon_client, settings):
    settings.MFA_TOKEN_SECONDS = 1
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    time.sleep(1.1)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.NotAuthenticatedError)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": "made-up", "code": "123456"}, format="json"),
             errors.NotAuthenticatedError)
    assert not Session.objects.exists()


def test_a_password_change_voids_a_pending_sign_in(user, anon_client):
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    passwords.password_set(user=user, password="another-Long-passw0rd", actor=user,
                           reason=passwords.RevokeReason.PASSWORD_CHANGE)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.NotAuthenticatedError)


def test_a_recovery_code_signs_in_once(user, anon_client):
    codes = totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[0]}, format="json"))
    token = first_step(anon_client)["mfa_token"]
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[0]}, format="json"),
             errors.InvalidSecretError)
    assert AuditEvent.objects.filter(user=user, action="mfa.recovery_use").count() == 1


def test_wrong_codes_count_toward_the_lockout(user, anon_client, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    for _ in range(3):
        wrong_code(anon_client, token)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.TooManyRequestsError)
    envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json"),
             errors.TooManyRequestsError)
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 3
    assert not Session.objects.exists()


def test_an_address_past_its_limit_is_refused_before_the_factor_is_checked(user, anon_client, settings):
    """The per-address limit holds at the second step as at the first: an address that has spent its failures
    (here on another name) cannot go on guessing codes, nor spend a right one."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 3
    codes = totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    for _ in range(3):
        envelope(anon_client.post("/auth/login", {"username": "nobody", "password": "wrong"}, format="json"),
                 errors.WrongPasswordError, status=401)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "recovery_code": codes[0]}, format="json"),
             errors.TooManyRequestsError)
    assert mfa.mfa_summary(user)["recovery_codes_left"] == len(codes)
    assert not Session.objects.exists()


@pytest.mark.parametrize("code", ["\uff11\uff12\uff13\uff14\uff15\uff16", "\u0661\u0662\u0663\u0664\u0665\u0666"])
def test_digits_of_other_scripts_are_a_wrong_code(user, anon_client, code):
    """Six full-width or Arabic-Indic digits passed the code's isdigit() check and reached hmac.compare_digest,
    which refuses non-ASCII text: a 500 at every door that takes a code (here, in the back office's second step
    and in its enrolment: tests/mfa/test_doors.py)."""
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": code}, format="json"),
             errors.InvalidSecretError)
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 1


@pytest.mark.parametrize("body", [{}, {"code": "123456", "recovery_code": "abcde-fghij"}, {"code": ""}])
def test_exactly_one_second_factor_is_given(user, anon_client, body):
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, **body}, format="json"),
             errors.InvalidParametersError)


def test_a_frozen_account_cannot_finish(user, anon_client):
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    type(user).objects.filter(pk=user.pk).update(status=5)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.AccountDisabledError)


def test_the_password_alone_cannot_change_the_password_or_delete_an_account_with_mfa(user, anon_client):
    totp_on(user)
    envelope(anon_client.post("/auth/password", {"username": "alice", "old_password": PASSWORD,
                                                 "new_password": "another-Long-passw0rd"}, format="json"),
             errors.PermissionDeniedError)
    envelope(anon_client.post("/auth/unregister", {"username": "alice", "password": PASSWORD}, format="json"),
             errors.PermissionDeniedError)
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and user.status == 2


def test_the_right_password_does_not_reset_the_count_of_wrong_codes(user, anon_client, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    totp_on(user)
    for _ in range(3):  # each round: the right password, then a wrong code
        token = first_step(anon_client)["mfa_token"]
        wrong_code(anon_client, token)
    envelope(anon_client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json"),
             errors.TooManyRequestsError)


@pytest.mark.parametrize("door", ["validate", "unregister", "password"])
def test_the_password_alone_elsewhere_does_not_reset_the_count_of_wrong_codes(user, anon_client, settings, door):
    """The doors that check the password alone (seed 004's pwd/validate, seed 003's unregister and password
    change without a token) must not clear the wrong codes counted on an account with a second factor:
    whoever knows the password could otherwise guess codes forever, clearing the count every few tries."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    for _ in range(2):
        wrong_code(anon_client, token)
    request = {"validate": ("/users/alice/pwd/validate", {"pwd": PASSWORD}),
               "unregister": ("/auth/unregister", {"username": "alice", "password": PASSWORD}),
               "password": ("/auth/password", {"username": "alice", "old_password": PASSWORD,
                                               "new_password": "another-Long-passw0rd"})}[door]
    anon_client.post(*request, format="json")
    wrong_code(anon_client, token)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.TooManyRequestsError)
    assert not Session.objects.exists()


def test_a_password_reset_does_not_reset_the_count_of_wrong_codes(user, anon_client, settings):
    """A reset code proves the mailbox, not the second factor: whoever reads the mail must not be able to
    clear the wrong codes counted with a reset every few tries, and guess codes without end."""
    from accounts.models import SecretPurpose
    from accounts.services import codes

    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    for _ in range(2):
        wrong_code(anon_client, token)
    sid, _ = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
    new_password = "a-New-passw0rd-here"
    envelope(anon_client.put("/users/alice/pwd/reset", {"sid": sid, "passwd": new_password}, format="json"))
    token = envelope(anon_client.post("/auth/login", {"username": "alice", "password": new_password},
                                      format="json"))["data"]["mfa_token"]
    wrong_code(anon_client, token)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.TooManyRequestsError)
    assert not Session.objects.filter(revoked_at__isnull=True).exists()


def test_a_whole_sign_in_clears_the_count(user, anon_client, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    for _ in range(2):
        wrong_code(anon_client, token)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"))
    token = first_step(anon_client)["mfa_token"]
    for _ in range(2):
        wrong_code(anon_client, token)


def test_a_pending_second_step_ends_when_the_account_leaves_active_even_if_restored(user, admin_user, anon_client):
    from accounts.models import UserStatus
    from accounts.services import users

    totp_on(user)
    token = first_step(anon_client)["mfa_token"]
    users.user_status_set(user=user, status=UserStatus.FROZEN, actor=admin_user)
    users.user_status_set(user=user, status=UserStatus.ACTIVE, actor=admin_user)
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user)}, format="json"),
             errors.NotAuthenticatedError)
    assert not Session.objects.filter(user=user, terminal="phone").exists()
    token = first_step(anon_client)["mfa_token"]  # signing in again works
    envelope(anon_client.post("/auth/login/mfa", {"mfa_token": token, "code": totp_code(user, steps=1)},
                              format="json"))
