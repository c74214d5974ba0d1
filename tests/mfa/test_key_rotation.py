"""Rotating the MFA key (MFA_KEYS, newest first): what an older key protects keeps working once a new key
is put first, rotate_mfa_key moves the TOTP secrets to the new key, and the WebAuthn user handle stays."""

import hashlib
import hmac
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from accounts.models import RecoveryCode, TotpDevice
from accounts.services import mfa, passkeys
from accountsite import errors
from tests.accounts.test_deploy import _manage
from tests.mfa.authenticator import SoftAuthenticator
from tests.mfa.helpers import passkey_on, totp_code, totp_on
from tests.migrations import MigrationSteps

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
IP = "127.0.0.1"


def rotate() -> str:
    out = StringIO()
    call_command("rotate_mfa_key", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_an_app_enrolled_under_the_old_key_works_and_the_command_moves_it_to_the_new_key(user, settings):
    settings.MFA_KEYS = [OLD]
    totp_on(user)
    settings.MFA_KEYS = [NEW, OLD]
    assert mfa.second_factor_verify(user=user, ip=IP, code=totp_code(user)) == "totp"

    assert "re-encrypted 1 authenticator-app secret(s)" in rotate()
    token = TotpDevice.objects.get(user=user).secret_encrypted.encode()
    assert Fernet(NEW).decrypt(token)
    settings.MFA_KEYS = [NEW]
    assert mfa.second_factor_verify(user=user, ip=IP, code=totp_code(user, steps=1)) == "totp"
    assert "re-encrypted 0 authenticator-app secret(s)" in rotate()  # idempotent
    assert TotpDevice.objects.get(user=user).secret_encrypted.encode() == token


@pytest.mark.django_db
def test_the_command_counts_the_secrets_no_key_opens_and_rotates_in_batches(user, other, settings):
    settings.MFA_KEYS = [OLD]
    totp_on(user)
    totp_on(other)
    settings.MFA_KEYS = [NEW, OLD]
    assert mfa.mfa_key_rotate(batch=1).totp_rotated == 2
    settings.MFA_KEYS = [Fernet.generate_key().decode()]  # both keys gone
    result = mfa.mfa_key_rotate()
    assert (result.totp_rotated, result.totp_unreadable) == (0, 2)
    assert "2 authenticator-app secret(s) open with no configured key" in rotate()


@pytest.mark.django_db
def test_a_recovery_code_of_the_old_key_works_once_after_a_new_key_is_put_first(user, settings):
    settings.MFA_KEYS = [OLD]
    old_codes = totp_on(user)
    settings.MFA_KEYS = [NEW, OLD]
    result = mfa.mfa_key_rotate()
    assert (result.codes_on_older_keys, result.accounts_on_older_keys) == (10, 1)

    assert mfa.second_factor_verify(user=user, ip=IP, recovery_code=old_codes[0]) == "recovery_code"
    with pytest.raises(errors.InvalidSecretError):
        mfa.second_factor_verify(user=user, ip=IP, recovery_code=old_codes[0])
    assert "9 unused recovery code(s) of 1 account(s) still need an older key" in rotate()

    new_codes = mfa.recovery_codes_issue(user=user)
    stored = RecoveryCode.objects.filter(user=user)
    assert {row.key_id for row in stored} == {mfa.key_id(NEW)} != {mfa.key_id(OLD)}
    assert {row.code_hash for row in stored} == {mfa._code_hash(user, code, NEW) for code in new_codes}
    assert "no unused recovery code needs an older key" in rotate()
    settings.MFA_KEYS = [NEW]
    assert mfa.second_factor_verify(user=user, ip=IP, recovery_code=new_codes[0]) == "recovery_code"


@pytest.mark.django_db
def test_recovery_codes_of_a_removed_key_no_longer_work(user, settings):
    settings.MFA_KEYS = [OLD]
    codes = totp_on(user)
    settings.MFA_KEYS = [NEW]
    with pytest.raises(errors.InvalidSecretError):
        mfa.second_factor_verify(user=user, ip=IP, recovery_code=codes[0])
    assert mfa.mfa_key_rotate().codes_on_older_keys == 10  # the count the operator waits on before removing it


def _sign_in_without_password(authenticator: SoftAuthenticator):
    options = passkeys.passwordless_options()
    credential = authenticator.get(options["webauthn"])
    return passkeys.passwordless_verify(token=options["passkey_token"], credential=credential, ip=IP)


@pytest.mark.django_db
def test_the_passkey_user_handle_stays_and_signs_in_once_the_old_key_is_gone(user, settings):
    settings.MFA_KEYS = [OLD]
    authenticator = passkey_on(user)
    handle = passkeys.user_handle(user)
    assert authenticator.user_handle == handle and len(handle) == 32
    settings.MFA_KEYS = [NEW, OLD]
    rotate()
    settings.MFA_KEYS = [NEW]
    assert passkeys.user_handle(user) == handle
    second = SoftAuthenticator()
    second.create(passkeys.registration_options(user=user))
    assert second.user_handle == handle  # a new registration carries the same handle
    assert _sign_in_without_password(authenticator) == user


HANDLE_BEFORE_0013 = "webauthn-user:{}"  # how the handle was derived until migration 0013 stored it
BEFORE, AFTER = [("accounts", "0012_user_tier_pages")], [("accounts", "0013_mfa_key_rotation")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_stores_the_handles_given_so_far_and_which_key_hashed_each_code(settings):
    settings.MFA_KEYS = [OLD]
    steps = MigrationSteps()
    apps = steps.apps_at(BEFORE)
    User, Passkey = apps.get_model("accounts", "User"), apps.get_model("accounts", "Passkey")
    RecoveryCode_ = apps.get_model("accounts", "RecoveryCode")
    alice = User.objects.create(username="alice", password="!")
    bob = User.objects.create(username="bob", password="!")  # no passkey: no handle given yet
    authenticator = SoftAuthenticator()
    authenticator.user_handle = hmac.new(OLD.encode(), HANDLE_BEFORE_0013.format(alice.pk).encode(),
                                         hashlib.sha256).digest()
    Passkey.objects.create(user=alice, credential_id=authenticator.id, public_key=authenticator._cose_key(),
                           name="laptop")
    RecoveryCode_.objects.create(user=alice, code_hash=mfa._code_hash(alice, "abcde-fghjk", OLD))

    settings.MFA_KEYS = [NEW, OLD]  # the first deploy may already list a new key first
    apps = steps.apps_at(AFTER)
    handles = {row.user_id: bytes(row.handle) for row in apps.get_model("accounts", "WebAuthnHandle").objects.all()}
    assert handles == {alice.pk: authenticator.user_handle}
    # The release before runs on until its restart, issuing codes that say nothing of their key.
    RecoveryCode_.objects.create(user=alice, code_hash=mfa._code_hash(alice, "bcdef-ghjkm", OLD))
    assert dict(apps.get_model("accounts", "RecoveryCode").objects.values_list("code_hash", "key_id")) == {
        mfa._code_hash(alice, "abcde-fghjk", OLD): mfa.key_id(OLD), mfa._code_hash(alice, "bcdef-ghjkm", OLD): ""}
    steps.to_latest()

    from accounts.models import User as CurrentUser

    alice = CurrentUser.objects.get(pk=alice.pk)
    assert mfa.mfa_key_rotate().codes_on_older_keys == 2
    assert mfa.second_factor_verify(user=alice, ip=IP, recovery_code="bcdef-ghjkm") == "recovery_code"
    settings.MFA_KEYS = [NEW]
    assert passkeys.user_handle(alice) == authenticator.user_handle
    assert _sign_in_without_password(authenticator) == alice
    assert passkeys.user_handle(CurrentUser.objects.get(pk=bob.pk)) not in (authenticator.user_handle, b"")


def test_a_bad_key_in_the_list_is_named_by_its_place_never_shown():
    bad = "not-a-fernet-key-but-a-secret-nonetheless"
    result = _manage("check", MFA_ENCRYPTION_KEYS=f"{NEW},{bad}")
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert "MFA_ENCRYPTION_KEYS entry 2 of 2 must be a Fernet key" in result.stderr
    assert bad not in result.stderr + result.stdout and NEW not in result.stderr + result.stdout


def test_the_list_is_read_before_the_single_key_spaces_and_all():
    show = "from django.conf import settings; print(settings.MFA_KEYS)"
    result = _manage("shell", "-c", show, MFA_ENCRYPTION_KEYS=f"{NEW}, {OLD}", MFA_ENCRYPTION_KEY="not-read")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str([NEW, OLD])
    result = _manage("shell", "-c", show, MFA_ENCRYPTION_KEY=OLD)
    assert result.stdout.splitlines()[-1] == str([OLD])
