"""The authenticator app (TOTP) and recovery codes: enrolment, codes within one step, never twice, and
turning it off; secrets only ever stored encrypted or hashed."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import AuditEvent, RecoveryCode, TotpDevice
from accounts.selectors import mfa_methods
from accounts.services import mfa
from accountsite import errors
from tests.conftest import app_client, envelope
from tests.factories import PASSWORD
from tests.mfa.helpers import totp_code, totp_on

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 29, 12, 0, 15, tzinfo=UTC)  # mid-step: ±1 step never crosses a second boundary


def test_enrolment_answers_the_uri_and_a_qr_code_and_stores_the_secret_encrypted(user, user_client):
    data = envelope(user_client.post("/auth/mfa/totp", {"password": PASSWORD}, format="json"))["data"]
    assert data["uri"].startswith("otpauth://totp/accountsite:alice?secret=")
    assert data["qr_svg"].startswith("<svg") and "http" not in data["qr_svg"].split("xmlns")[0]
    device = TotpDevice.objects.get(user=user)
    assert device.confirmed_at is None
    assert data["secret"] not in device.secret_encrypted
    assert mfa_methods(user) == []  # not on before the first code


def test_confirm_turns_it_on_and_answers_ten_recovery_codes_stored_hashed(user, user_client):
    envelope(user_client.post("/auth/mfa/totp", {"password": PASSWORD}, format="json"))
    codes = envelope(user_client.post("/auth/mfa/totp/confirm", {"code": totp_code(user)}))["data"]["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not stored & set(codes)
    assert mfa_methods(user) == ["totp", "recovery_code"]
    assert envelope(user_client.get("/auth/mfa"))["data"] == {
        "methods": ["totp", "recovery_code"], "totp": True, "recovery_codes_left": 10, "passkeys": 0}
    assert AuditEvent.objects.filter(user=user, action="mfa.totp_enable").count() == 1


def test_a_wrong_first_code_leaves_it_off(user, user_client):
    envelope(user_client.post("/auth/mfa/totp", {"password": PASSWORD}, format="json"))
    envelope(user_client.post("/auth/mfa/totp/confirm", {"code": "000000"}), errors.InvalidSecretError)
    envelope(user_client.post("/auth/mfa/totp/confirm", {"code": "not a code"}), errors.InvalidSecretError)
    assert mfa_methods(user) == [] and not RecoveryCode.objects.exists()



def test_wrong_first_codes_count_toward_the_lockout_like_a_sign_in(user, user_client, settings):
    """Confirmation took unlimited guesses, counted and logged nowhere: whoever held only an access token could
    finish an enrolment its owner had started, and take the recovery codes it hands out."""
    envelope(user_client.post("/auth/mfa/totp", {"password": PASSWORD}, format="json"))
    limit = settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT
    for _ in range(limit):
        envelope(user_client.post("/auth/mfa/totp/confirm", {"code": "000000"}), errors.InvalidSecretError)
    envelope(user_client.post("/auth/mfa/totp/confirm", {"code": totp_code(user)}), errors.TooManyRequestsError)
    assert mfa_methods(user) == [] and not RecoveryCode.objects.exists()
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == limit

def test_confirm_without_enrolment_and_a_second_enrolment_are_refused(user, user_client):
    envelope(user_client.post("/auth/mfa/totp/confirm", {"code": "123456"}), errors.InvalidParametersError)
    totp_on(user)
    envelope(user_client.post("/auth/mfa/totp", {"password": PASSWORD}, format="json"), errors.InvalidParametersError)
    assert TotpDevice.objects.get(user=user).confirmed_at is not None


@pytest.mark.parametrize(("steps", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_codes_are_accepted_within_one_step_of_clock_skew(user, steps, accepted):
    totp_on(user, at=NOW - timedelta(minutes=5))
    code = totp_code(user, NOW, steps=steps)
    if accepted:
        assert mfa.second_factor_verify(user=user, ip="127.0.0.1", code=code, now=NOW) == "totp"
    else:
        with pytest.raises(errors.InvalidSecretError):
            mfa.second_factor_verify(user=user, ip="127.0.0.1", code=code, now=NOW)
        assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 1


def test_a_code_is_good_once_and_never_for_an_earlier_step(user):
    totp_on(user, at=NOW - timedelta(minutes=5))
    code = totp_code(user, NOW)
    mfa.second_factor_verify(user=user, ip="127.0.0.1", code=code, now=NOW)
    with pytest.raises(errors.InvalidSecretError):  # replayed within the same step
        mfa.second_factor_verify(user=user, ip="127.0.0.1", code=code, now=NOW)
    with pytest.raises(errors.InvalidSecretError):  # the previous step's code, still within the skew
        mfa.second_factor_verify(user=user, ip="127.0.0.1", code=totp_code(user, NOW, steps=-1), now=NOW)
    later = NOW + timedelta(seconds=30)
    assert mfa.second_factor_verify(user=user, ip="127.0.0.1", code=totp_code(user, later), now=later) == "totp"


def test_turning_it_off_needs_the_password_and_a_current_code(user, user_client):
    totp_on(user)
    envelope(user_client.delete("/auth/mfa/totp", {"password": "wrong-password", "code": totp_code(user)},
                                format="json"), errors.WrongPasswordError)
    envelope(user_client.delete("/auth/mfa/totp", {"password": PASSWORD, "code": "000000"}, format="json"),
             errors.InvalidSecretError)
    assert mfa_methods(user) == ["totp", "recovery_code"]
    assert AuditEvent.objects.filter(user=user, action__in=["session.login_failed", "mfa.failed"]).count() == 2
    envelope(user_client.delete("/auth/mfa/totp", {"password": PASSWORD, "code": totp_code(user)}, format="json"))
    assert mfa_methods(user) == [] and not RecoveryCode.objects.exists() and not TotpDevice.objects.exists()
    assert AuditEvent.objects.filter(user=user, action="mfa.totp_disable").count() == 1


def test_a_lost_app_is_turned_off_with_the_password_and_a_recovery_code(user, user_client):
    """A user who signed in with a recovery code because the phone is gone can turn the app off and enrol a new
    one themselves; the code is spent, and exactly one of the two kinds of code is taken."""
    codes = totp_on(user)
    for both_or_none in ({"code": totp_code(user), "recovery_code": codes[0]}, {}):
        reply = envelope(user_client.delete("/auth/mfa/totp", {"password": PASSWORD, **both_or_none}, format="json"),
                         errors.InvalidParametersError)
        assert reply["error"] == {"code": ["Give one of code or recovery_code."]}
    envelope(user_client.delete("/auth/mfa/totp", {"password": PASSWORD, "recovery_code": "AAAAA-AAAAA"},
                                format="json"), errors.InvalidSecretError)
    assert mfa_methods(user) == ["totp", "recovery_code"]
    envelope(user_client.delete("/auth/mfa/totp", {"password": PASSWORD, "recovery_code": codes[0]}, format="json"))
    assert mfa_methods(user) == [] and not TotpDevice.objects.exists()
    assert AuditEvent.objects.filter(user=user, action="mfa.recovery_use").count() == 1
    envelope(user_client.post("/auth/mfa/totp", {"password": PASSWORD}, format="json"))  # a new app may be enrolled


def test_recovery_codes_are_regenerated_with_the_password(user, user_client):
    envelope(user_client.post("/auth/mfa/recovery-codes", {"password": PASSWORD}), errors.InvalidParametersError)
    old = totp_on(user)
    envelope(user_client.post("/auth/mfa/recovery-codes", {"password": "wrong-password"}), errors.WrongPasswordError)
    new = envelope(user_client.post("/auth/mfa/recovery-codes", {"password": PASSWORD}))["data"]["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(errors.InvalidSecretError):
        mfa.second_factor_verify(user=user, ip="127.0.0.1", recovery_code=old[0])
    assert mfa.second_factor_verify(user=user, ip="127.0.0.1", recovery_code=new[0].upper()) == "recovery_code"


def test_a_recovery_code_is_single_use_audited_and_mailed(user, mailoutbox, django_capture_on_commit_callbacks):
    codes = totp_on(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert mfa.second_factor_verify(user=user, ip="127.0.0.1", recovery_code=codes[3]) == "recovery_code"
    with pytest.raises(errors.InvalidSecretError):
        mfa.second_factor_verify(user=user, ip="127.0.0.1", recovery_code=codes[3])
    assert AuditEvent.objects.get(user=user, action="mfa.recovery_use").data == {"left": 9}
    assert len(mailoutbox) == 1 and "recovery code" in mailoutbox[0].subject
    assert "9 unused recovery codes left" in mailoutbox[0].body


@pytest.mark.parametrize("request_", [("get", "/auth/mfa"), ("post", "/auth/mfa/totp"),
                                      ("post", "/auth/mfa/recovery-codes")])
def test_an_apps_token_never_touches_second_factors(user, request_):
    method, path = request_
    envelope(getattr(app_client(user), method)(path, {"password": PASSWORD}, format="json"),
             errors.PermissionDeniedError)
    assert not TotpDevice.objects.exists()
