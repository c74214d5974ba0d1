"""Second factors: the authenticator app (TOTP, RFC 6238) and single-use recovery codes, the check of any
factor counted toward the login lockout like a password, and an operator's reset. Which factors an account
has is a read: accounts.selectors.mfa_methods.

The TOTP secret is stored encrypted (Fernet) and recovery codes as keyed hashes (HMAC), so a copy of the
database alone neither reveals a secret nor lets anyone test guesses offline. Both use the first of
MFA_KEYS and read with any of them: a key is rotated by putting a new one first, then mfa_key_rotate.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.mail import mail_send
from accounts.models import MfaMethod, Passkey, RecoveryCode, RevokeReason, TotpDevice, User
from accounts.selectors import mfa_methods
from accounts.services.passwords import password_check
from accounts.services.sessions import account_key, attempt_reserve, attempt_settle, user_credentials_revoke
from accountsite import errors
from accountsite.audit import AuditAction, audit_record
from accountsite.sealing import keyring, seal, unseal

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def key_id(key: str) -> str:
    """What a recovery code stores of the key that hashed it: tells keys apart and reveals nothing of one."""
    return hmac.new(key.encode(), b"accountsite.mfa-key-id", hashlib.sha256).hexdigest()[:16]


def _code_hash(user: User, code: str, key: str) -> str:
    normalized = "".join(code.split()).replace("-", "").lower()
    return hmac.new(key.encode(), f"{user.pk}:{normalized}".encode(), hashlib.sha256).hexdigest()


# --- TOTP ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    uri: str  # otpauth://totp/...
    secret: str  # base32, for typing it in by hand
    qr_svg: str


def _totp(device: TotpDevice) -> pyotp.TOTP:
    return pyotp.TOTP(unseal(device.secret_encrypted))


def factor_enrolment_authorize(*, user: User, password: str, ip: str) -> None:
    """Adding a sign-in factor through the API asks for the password again, counted like a sign-in: a
    session someone else holds must not add a factor of its own, which would outlive a password reset and
    lock the owner out. (The back office's enrolment required of staff comes right after the password.)"""
    password_check(user=user, password=password, ip=ip)


def factor_added(*, user: User, factor: str, now: datetime) -> None:
    """Tells the user a sign-in factor was added (`factor`: what, in words), so one they did not add is
    noticed; in the change's transaction (the outbox sends it once committed)."""
    if user.email:
        mail_send(template="factor_added", to=user.email, context={"user": user, "factor": factor, "when": now})


@transaction.atomic
def totp_enrol_start(*, user: User, now: datetime | None = None) -> TotpEnrolment:
    """A new secret, waiting for its first code; replaces an enrolment that was never confirmed."""
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise errors.InvalidParametersError("The authenticator app is already on; turn it off first.")
    secret = pyotp.random_base32()
    TotpDevice.objects.update_or_create(user=user, defaults={
        "secret_encrypted": seal(secret), "created_at": now or timezone.now(),
        "confirmed_at": None, "last_step": None,
    })
    return _enrolment(user, secret)


def totp_enrolment_pending(*, user: User) -> TotpEnrolment | None:
    """The enrolment waiting for its first code, shown again (after a wrong code, say)."""
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    return _enrolment(user, _totp(device).secret) if device is not None else None


def _enrolment(user: User, secret: str) -> TotpEnrolment:
    import segno  # here: 2 MB of every worker's memory, for enrolments only

    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.MFA_ISSUER)
    return TotpEnrolment(uri=uri, secret=secret, qr_svg=segno.make(uri, error="m").svg_inline(scale=4))


def _totp_digits(code: str) -> str | None:
    """The six digits of a code written as an authenticator app shows it ("626448", "626 448", "626-448"), or
    None for anything else (a recovery code, say)."""
    digits = "".join(code.split()).replace("-", "")
    # ASCII digits only: isdigit() also takes other scripts' digits, which compare_digest refuses (TypeError).
    return digits if digits.isascii() and digits.isdigit() and len(digits) == 6 else None


def looks_like_totp_code(code: str) -> bool:
    """Whether `code` is written as an authenticator app's code rather than as a recovery code (ten letters
    and digits): how a page's one field tells the two apart."""
    return _totp_digits(code) is not None


def _totp_accept(device: TotpDevice, code: str, now: datetime) -> bool:
    """Whether `code` is right for the step of `now` or one step either side, and not used before: the step
    is claimed with one conditional UPDATE, so the same code raced twice is accepted once."""
    digits = _totp_digits(code)
    if digits is None:
        return False
    totp = _totp(device)
    current = int(now.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            unused = Q(last_step__isnull=True) | Q(last_step__lt=step)
            return bool(TotpDevice.objects.filter(unused, pk=device.pk).update(last_step=step))
    return False


def totp_confirm(*, user: User, code: str, ip: str, now: datetime | None = None) -> list[str]:
    """Turns the authenticator app on with its first code; answers fresh recovery codes (shown once). The
    code is checked as a sign-in's is (factor_attempt: the lockout, `mfa.failed`), outside the change's
    transaction: unlimited guesses here would let whoever holds only an access token finish an enrolment the
    owner started, and take its recovery codes."""
    now = now or timezone.now()
    no_enrolment = errors.InvalidParametersError("Start the enrolment first (POST /auth/mfa/totp).")
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise no_enrolment
    factor_attempt(user=user, ip=ip, check=lambda: MfaMethod.TOTP if _totp_accept(device, code, now) else "")
    with transaction.atomic():
        if not TotpDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(confirmed_at=now):
            raise no_enrolment  # replaced while its code was being checked
        audit_record(action=AuditAction.MFA_TOTP_ENABLE, user=user, actor=user)
        factor_added(user=user, factor="an authenticator app", now=now)
        return recovery_codes_issue(user=user, now=now)


def totp_disable(*, user: User, password: str, ip: str, code: str = "", recovery_code: str = "",
                 now: datetime | None = None) -> None:
    """Turns the authenticator app off; needs the password and a current code, or one of the recovery codes
    (spent) when the app is lost (both counted like a sign-in, their failures recorded outside the change's
    transaction). The recovery codes go with the last second factor."""
    if not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        raise errors.NotFoundError("The authenticator app is not on.")
    password_check(user=user, password=password, ip=ip)
    second_factor_verify(user=user, ip=ip, code=code, recovery_code=recovery_code, now=now)
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).delete()
        audit_record(action=AuditAction.MFA_TOTP_DISABLE, user=user, actor=user, ip=ip)
        factor_removed(user=user)


def factor_removed(*, user: User) -> None:
    """After a second factor is removed: the recovery codes go with the last one."""
    if not mfa_methods(user):
        RecoveryCode.objects.filter(user=user).delete()


# --- Recovery codes ----------------------------------------------------------------------------------------


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # ~49 bits
    return f"{raw[:5]}-{raw[5:]}"


@transaction.atomic
def recovery_codes_issue(*, user: User, now: datetime | None = None) -> list[str]:
    """Ten new single-use codes; the older ones stop working. Only their hashes are kept."""
    now = now or timezone.now()
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    key = settings.MFA_KEYS[0]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_code_hash(user, c, key), key_id=key_id(key),
                                                  created_at=now) for c in codes)
    audit_record(action=AuditAction.MFA_RECOVERY_ISSUE, user=user, actor=user, count=len(codes))
    return codes


def recovery_codes_regenerate(*, user: User, password: str, ip: str, now: datetime | None = None) -> list[str]:
    """New recovery codes for an account with a second factor, confirmed with the password (which works
    for passkey-only accounts too, and is counted like a sign-in)."""
    if not mfa_methods(user):
        raise errors.InvalidParametersError("Turn on a second factor first.")
    password_check(user=user, password=password, ip=ip)
    return recovery_codes_issue(user=user, now=now)


def _recovery_code_use(user: User, code: str, now: datetime) -> bool:
    """Marks the code used with one conditional UPDATE, so the same code raced twice is accepted once. It
    is looked for under every key: one issued before a rotation was hashed with an older key."""
    hashes = [_code_hash(user, code, key) for key in settings.MFA_KEYS]
    used = RecoveryCode.objects.filter(user=user, code_hash__in=hashes, used_at__isnull=True).update(used_at=now)
    if not used:
        return False
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    audit_record(action=AuditAction.MFA_RECOVERY_USE, user=user, actor=user, left=left)
    if user.email:
        mail_send(template="recovery_code_used", to=user.email, context={"user": user, "when": now, "left": left})
    return True


# --- Rotating the key --------------------------------------------------------------------------------------

ROTATE_BATCH = 500  # TOTP secrets re-encrypted per transaction


@dataclass(frozen=True)
class KeyRotation:
    totp_rotated: int  # TOTP secrets re-encrypted with the first key
    totp_unreadable: int  # TOTP secrets that no key decrypts (their key was removed): those apps are lost
    codes_on_older_keys: int  # unused recovery codes not hashed with the first key
    accounts_on_older_keys: int  # the accounts holding them


def _opens(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def mfa_key_rotate(*, batch: int = ROTATE_BATCH) -> KeyRotation:
    """Re-encrypts with the first of MFA_KEYS every TOTP secret that is not yet under it, `batch` rows per
    transaction; running it again changes nothing. A recovery code's hash cannot be made again without the
    code, so the answer counts the unused ones that still need an older key: it is needed until they are
    used or replaced. Passkeys need no key (their user handle is stored: passkeys.user_handle)."""
    first, every = Fernet(settings.MFA_KEYS[0]), keyring()
    rotated = unreadable = 0
    after = 0
    while rows := list(TotpDevice.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "secret_encrypted")
                       [:batch]):
        after = rows[-1][0]
        with transaction.atomic():
            for pk, token in rows:
                if _opens(first, token):
                    continue  # already under the first key
                try:
                    new = every.rotate(token.encode()).decode()
                except InvalidToken:
                    unreadable += 1
                    continue
                # Conditional: a secret replaced meanwhile (a new enrolment) is not overwritten with the old one.
                rotated += TotpDevice.objects.filter(pk=pk, secret_encrypted=token).update(secret_encrypted=new)
    older = RecoveryCode.objects.filter(used_at__isnull=True).exclude(key_id=key_id(settings.MFA_KEYS[0]))
    return KeyRotation(totp_rotated=rotated, totp_unreadable=unreadable, codes_on_older_keys=older.count(),
                       accounts_on_older_keys=older.values("user").distinct().count())


# --- Checking a second factor --------------------------------------------------------------------------------


def factor_attempt(*, user: User, ip: str, check: Callable[[], str]) -> str:
    """Runs `check` (which answers the method that passed, or "") as one sign-in attempt of `user`: refused
    while the account or the client's address is locked, as a password is (sessions.attempt_reserve), and a
    failure counts toward both lockouts like a wrong password and writes `mfa.failed`."""
    key = account_key(user.username, user)
    attempt_reserve(ip=ip, key=key)
    try:
        method = check()
    except (errors.AccountNotActivatedError, errors.AccountDisabledError):
        # The factor was right, but the account may not sign in (a passkey of a frozen account, checked after
        # the factor as a password's is): its slots go back, as a right password's do.
        attempt_settle(ip=ip, key=key, clear=False)
        raise
    if not method:
        audit_record(action=AuditAction.MFA_FAILED, user=user, ip=ip)
        raise errors.InvalidSecretError("This code is wrong or was already used.")
    attempt_settle(ip=ip, key=key, clear=False)  # the account's earlier failures stay: see account_failures_clear
    return method


def second_factor_verify(*, user: User, ip: str, code: str = "", recovery_code: str = "",
                         now: datetime | None = None) -> str:
    """Checks a TOTP code or a recovery code of `user` (factor_attempt); answers the method used."""
    moment = now or timezone.now()

    def check() -> str:
        if code:
            device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
            return MfaMethod.TOTP if device is not None and _totp_accept(device, code, moment) else ""
        if recovery_code:
            return MfaMethod.RECOVERY_CODE if _recovery_code_use(user, recovery_code, moment) else ""
        return ""

    return factor_attempt(user=user, ip=ip, check=check)


@transaction.atomic
def mfa_reset(*, user: User, actor: User, now: datetime | None = None) -> bool:
    """An operator turns every second factor of `user` off (a lost phone); the user is mailed. Every
    session and app token of the account ends too: the lost phone may hold one, and the password alone
    must now sign in again before anything else. Answers whether there was anything to turn off."""
    moment = now or timezone.now()
    had_a_factor = bool(mfa_methods(user))  # an enrolment left unconfirmed is none: it goes without a word
    for model in (TotpDevice, Passkey, RecoveryCode):
        model.objects.filter(user=user).delete()
    if not had_a_factor:
        return False
    ended = user_credentials_revoke(user=user, reason=RevokeReason.ADMIN, now=moment)
    audit_record(action=AuditAction.MFA_RESET, user=user, actor=actor, sessions=ended)
    if user.email and not user.is_deleted:  # whoever left is not written to (their address may be someone's now)
        mail_send(template="mfa_reset", to=user.email, context={"user": user, "when": moment})
    return True


def mfa_summary(user: User) -> dict:
    """What the account has turned on, without any secret (the user's own status page, the back office)."""
    return {
        "methods": mfa_methods(user),
        "totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
        "recovery_codes_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
        "passkeys": Passkey.objects.filter(user=user).count(),
    }
