"""The back office: operators see whether a user has second factors (never a secret) and, with
accounts.reset_user_mfa (support has it), turn them off; the user is told by mail."""

import pytest
from django.test import Client

from accounts.models import AuditEvent, Passkey, RecoveryCode, RevokeReason, Session, TotpDevice, UserStatus
from accounts.selectors import mfa_methods
from accounts.services import mfa
from accountsite import errors
from tests.conftest import browser_sign_in, envelope, staff_user
from tests.mfa.helpers import passkey_on, totp_on

pytestmark = pytest.mark.django_db


def operator_client(*groups: str) -> Client:
    client = Client()
    client.operator = staff_user(f"op-{'-'.join(groups) or 'none'}", *groups)
    browser_sign_in(client, client.operator)
    return client


def test_the_user_page_shows_the_factors_without_secrets(user):
    totp_on(user)
    passkey_on(user, "work key")
    page = operator_client("support").get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert "Second factors" in page and "work key" in page and "recovery codes left" in page
    device = TotpDevice.objects.get(user=user)
    assert device.secret_encrypted not in page and mfa._totp(device).secret not in page
    assert not any(code_hash in page for code_hash in RecoveryCode.objects.values_list("code_hash", flat=True))


def test_support_turns_the_factors_off_audited_and_mailed(user, user_client, other_client, mailoutbox,
                                                          django_capture_on_commit_callbacks):
    totp_on(user)
    passkey_on(user)
    envelope(user_client.get("/auth/me"))
    support = operator_client("support")
    with django_capture_on_commit_callbacks(execute=True):
        reply = support.post("/admin/accounts/user/", {"action": "reset_mfa", "_selected_action": [user.pk]},
                             follow=True)
    assert "second factors turned off for 1 user(s)." in reply.content.decode()
    assert mfa_methods(user) == [] and not Passkey.objects.exists() and not RecoveryCode.objects.exists()
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.user == user and event.actor == support.operator and event.data["sessions"] == 1
    assert [m.subject for m in mailoutbox] == ["The second factors of your accountsite account were turned off"]
    assert "signed \"alice\" out everywhere" in mailoutbox[0].body
    # The lost phone's session ends with its factors; other accounts' sessions stay.
    envelope(user_client.get("/auth/me"), errors.NotAuthenticatedError)
    assert Session.objects.get(user=user).revoke_reason == RevokeReason.ADMIN
    envelope(other_client.get("/auth/me"))


def test_a_deleted_accounts_factors_are_turned_off_without_mail(user, mailoutbox, django_capture_on_commit_callbacks):
    totp_on(user)
    type(user).objects.filter(pk=user.pk).update(status=UserStatus.DELETED)
    user.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert mfa.mfa_reset(user=user, actor=staff_user("op-support", "support"))
    assert mfa_methods(user) == [] and AuditEvent.objects.filter(action="mfa.reset", user=user).exists()
    assert mailoutbox == []


def test_billing_is_not_offered_the_reset(user):
    totp_on(user)
    billing = operator_client("billing")
    page = billing.get("/admin/accounts/user/")
    assert "reset_mfa" not in page.content.decode()
    billing.post("/admin/accounts/user/", {"action": "reset_mfa", "_selected_action": [user.pk]})
    assert mfa_methods(user) == ["totp", "recovery_code"]
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()


def test_only_a_superuser_resets_an_administrators_factors(user):
    admin = staff_user("ops2", "support")
    totp_on(admin)
    operator_client("support").post("/admin/accounts/user/", {"action": "reset_mfa", "_selected_action": [admin.pk]})
    assert mfa_methods(admin) == ["totp", "recovery_code"]


def test_an_unconfirmed_enrolment_is_no_factor_to_reset(user, user_client, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    """A user who had only started enrolling (no factor) was reported reset, signed out everywhere and mailed
    that their second factors were turned off."""
    mfa.totp_enrol_start(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        assert not mfa.mfa_reset(user=user, actor=staff_user("op-support", "support"))
    assert not TotpDevice.objects.filter(user=user).exists()
    assert mailoutbox == [] and not AuditEvent.objects.filter(action="mfa.reset").exists()
    envelope(user_client.get("/auth/me"))
