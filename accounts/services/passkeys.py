"""Passkeys (WebAuthn): registering one, signing in with one as a second factor or, for accounts that have
one, instead of the password; listing, renaming and removing them.

The relying party is WEBAUTHN_RP_ID and browsers must sign for one of WEBAUTHN_ORIGINS. Each ceremony's
challenge is a ticket (accountsite.tickets: the shared cache, else the database), used up by the answer it
gets, right or wrong. A wrong assertion
counts toward the login lockout like a wrong password.
"""

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import selectors
from accounts.models import MfaMethod, Passkey, RecoveryCode, User, UserStatus, WebAuthnHandle
from accounts.services import mfa
from accounts.services.passwords import password_check
from accounts.services.sessions import account_failures_clear, user_assert_can_sign_in
from accountsite import errors
from accountsite.audit import AuditAction, audit_record
from accountsite.ratelimit import LOGIN_FAILURES_PER_IP
from accountsite.tickets import ticket_put, ticket_read, ticket_take

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

# The WebAuthn library (py_webauthn) is imported inside the functions of a ceremony: with what it loads
# (cbor2, pyasn1, pyOpenSSL) it is 8 MB of every worker process's memory, and most never see a passkey.

CEREMONY_SECONDS = 300
CREDENTIAL_ID_BYTES = 1023  # the longest credential id WebAuthn allows (level 3, registration step 24)


@dataclass(frozen=True)
class Options:
    challenge: str  # base64url, kept server-side
    public: dict  # what the browser passes to navigator.credentials.create() / .get()


def _options(options: Any) -> Options:
    from webauthn import options_to_json
    from webauthn.helpers import bytes_to_base64url

    return Options(challenge=bytes_to_base64url(options.challenge), public=json.loads(options_to_json(options)))


def user_handle(user: User) -> bytes:
    """The account's WebAuthn user handle: neither its id nor its name (it is stored on the authenticator,
    and browsers may show it), random, made at the account's first registration and stored.

    It must never change: the authenticator keeps it with each passkey and answers it at a passwordless
    sign-in, and a registration under the same handle replaces the account's older passkey on that
    authenticator where a new handle would show the account twice. So it is stored, not derived from
    MFA_KEYS (it would change when they are rotated; derived from the oldest key, that key could never go).
    The handles given before they were stored (an HMAC of the id with the one key of then) were stored by
    migration 0013."""
    stored, _ = WebAuthnHandle.objects.get_or_create(user=user, defaults={"handle": secrets.token_bytes(32)})
    return bytes(stored.handle)


def _descriptor(passkey: Passkey) -> "PublicKeyCredentialDescriptor":
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    transports = [AuthenticatorTransport(t) for t in passkey.transports
                  if t in AuthenticatorTransport._value2member_map_]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id), transports=transports or None)


def _challenge_take(key: str) -> bytes | None:
    """The challenge stored under `key`, removed: each is answered once."""
    from webauthn.helpers import base64url_to_bytes

    challenge = ticket_read(key)
    return base64url_to_bytes(challenge) if challenge and ticket_take(key) else None


# --- Registering ----------------------------------------------------------------------------------------------


def registration_options(*, user: User) -> dict:
    """The options for navigator.credentials.create(): a discoverable credential, so it can also sign in
    without the password; the account's passkeys are excluded."""
    from webauthn import generate_registration_options
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = _options(generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID, rp_name=settings.WEBAUTHN_RP_NAME, user_name=user.username,
        user_id=user_handle(user), user_display_name=user.nickname or user.username,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED,
                                                               user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[_descriptor(p) for p in Passkey.objects.filter(user=user)],
    ))
    ticket_put(f"webauthn-register:{user.pk}", options.challenge, CEREMONY_SECONDS)
    return options.public


def passkey_register(*, user: User, credential: dict, name: str,
                     now: datetime | None = None) -> tuple[Passkey, list[str]]:
    """Stores the passkey the browser created for the last registration options; answers it and, when it
    is the account's first second factor, its recovery codes (shown once)."""
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url

    now = now or timezone.now()
    challenge = _challenge_take(f"webauthn-register:{user.pk}")
    if challenge is None:
        raise errors.InvalidSecretError("Ask for registration options first (POST /auth/passkeys/options).")
    try:
        verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                expected_rp_id=settings.WEBAUTHN_RP_ID,
                                                expected_origin=settings.WEBAUTHN_ORIGINS)
    except Exception:  # the library parses bytes the client chose: any failure is a refusal
        raise _refusal("Not a valid answer to the registration options for this site.") from None
    if not _public_key_loads(verified.credential_public_key):
        raise _refusal("The passkey's public key is not a valid key.")
    # Longer, it would not fit the column (a 500 on PostgreSQL) or, where it fits, could never sign in
    # (_credential_id), yet would turn MFA on.
    if len(verified.credential_id) > CREDENTIAL_ID_BYTES:
        raise _refusal("The passkey's id is longer than WebAuthn allows.")
    credential_id = bytes_to_base64url(verified.credential_id)
    with transaction.atomic():
        if Passkey.objects.filter(credential_id=credential_id).exists():
            raise errors.InvalidParametersError("This passkey is already registered.")
        first = not selectors.mfa_methods(user)
        passkey = Passkey.objects.create(
            user=user, credential_id=credential_id, public_key=verified.credential_public_key,
            sign_count=verified.sign_count, name=name or "passkey", created_at=now, transports=_transports(credential),
        )
        audit_record(action=AuditAction.PASSKEY_ADD, user=user, actor=user, passkey=passkey.name)
        mfa.factor_added(user=user, factor=f'the passkey "{passkey.name}"', now=now)
        issue = first or not RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists()
        codes = mfa.recovery_codes_issue(user=user, now=now) if issue else []
    return passkey, codes


def _refusal(reason: str) -> errors.InvalidParametersError:
    """A refused registration answer: `reason` is ours, never the library's, which quotes what the client sent
    (the client data's type and origin) and its own internals."""
    return errors.InvalidParametersError(f"Invalid parameters: webauthn: {reason}", error={"webauthn": [reason]})


def _public_key_loads(public_key: bytes) -> bool:
    """Whether the credential's COSE public key loads as the key a sign-in will check signatures with (an EC2
    point on its curve, an Ed25519 key of its length, an RSA key of 2048 bits or more: NIST's floor, and what
    authenticators make). An attestation of format "none" is checked without loading it, so a passkey whose
    key is, say, the point (0, 0) would be stored and then never sign in: a second factor that turns MFA on
    (and recovery codes out) but can never be used."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography

    try:
        key = decoded_public_key_to_cryptography(decode_credential_public_key(public_key))
    except Exception:  # the key's bytes are the client's: any failure to load it is a refusal
        return False
    return not isinstance(key, rsa.RSAPublicKey) or key.key_size >= 2048


def _transports(credential: dict) -> list[str]:
    """The transports the browser reported (hints for later sign-ins), whatever shape the client sent: only
    the names WebAuthn defines, which _descriptor reads back. Anything else is the client's text (a NUL or a
    lone surrogate, which PostgreSQL's jsonb refuses: a 500; a megabyte, stored for nothing)."""
    from webauthn.helpers.structs import AuthenticatorTransport

    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(transports, list):
        return []
    known = {transport.value for transport in AuthenticatorTransport}
    return [t for t in transports if isinstance(t, str) and t in known][:8]


@transaction.atomic
def passkey_rename(*, user: User, passkey: Passkey, name: str) -> Passkey:
    old = passkey.name
    passkey.name = name
    passkey.save(update_fields=["name"])
    audit_record(action=AuditAction.PASSKEY_RENAME, user=user, actor=user, old=old, new=name)
    return passkey


def passkey_delete(*, user: User, passkey: Passkey, password: str, ip: str) -> None:
    """Removes a passkey; needs the password (counted like a sign-in)."""
    password_check(user=user, password=password, ip=ip)
    with transaction.atomic():
        passkey.delete()
        audit_record(action=AuditAction.PASSKEY_REMOVE, user=user, actor=user, ip=ip, passkey=passkey.name)
        mfa.factor_removed(user=user)


# --- Signing in -------------------------------------------------------------------------------------------------


def assertion_options(*, user: User | None = None) -> Options:
    """Options for navigator.credentials.get(): the account's passkeys, or (no user: a sign-in without a
    password) any discoverable one, whose authenticator must then verify its user (a PIN, a fingerprint:
    _assertion_verified). The caller keeps the challenge."""
    from webauthn import generate_authentication_options
    from webauthn.helpers.structs import UserVerificationRequirement

    allowed = [_descriptor(p) for p in Passkey.objects.filter(user=user)] if user is not None else []
    verification = UserVerificationRequirement.PREFERRED if user is not None else UserVerificationRequirement.REQUIRED
    return _options(generate_authentication_options(rp_id=settings.WEBAUTHN_RP_ID, allow_credentials=allowed,
                                                    user_verification=verification))


def _handle_answered(credential: Any) -> bytes | None:
    """The user handle the authenticator answered with the assertion (`response.userHandle`), or None."""
    from webauthn.helpers import base64url_to_bytes

    response = credential.get("response") if isinstance(credential, dict) else None
    raw = response.get("userHandle") if isinstance(response, dict) else None
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return base64url_to_bytes(raw)
    except ValueError:
        return None


def _handle_owns(passkey: Passkey, credential: Any, *, required: bool) -> bool:
    """Whether the user handle answered with the assertion is the one of the passkey's owner (WebAuthn's
    step "verify that userHandle maps to the same user"). A sign-in without a password names its account by
    the credential alone, so there the handle is required; as a second factor it is checked when answered.

    An account with no stored handle has nothing to compare: its passkey was registered by the release
    before handles were stored, after migration 0013 ran (an upgrade's window). Its signature decides alone,
    as it did then; every registration since stores the handle first (user_handle)."""
    answered = _handle_answered(credential)
    if answered is None and not required:
        return True  # nothing answered, nothing asked: no need to read the stored handle
    stored = WebAuthnHandle.objects.filter(user_id=passkey.user_id).values_list("handle", flat=True).first()
    if stored is None:
        return True
    return answered is not None and hmac.compare_digest(bytes(stored), answered)


def _assertion_verified(passkey: Passkey | None, credential: dict, challenge: bytes, *,
                        passwordless: bool = False) -> Any:
    """The verified assertion, or None: a signature of the challenge by the passkey's key, answered with
    the user handle of the passkey's owner.

    Without a password (`passwordless`) the passkey is the whole credential, the thing held and the person
    holding it: the authenticator must say it verified its user (WebAuthn's UV flag). A key that only proves
    someone touched it (UP alone, a security key without a PIN) is a second factor, after the password."""
    if passkey is None or not _handle_owns(passkey, credential, required=passwordless):
        return None
    from webauthn import verify_authentication_response

    try:
        return verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS, credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=passwordless)
    except Exception:  # the library parses bytes the client chose: any failure is a refusal
        return None


def _assertion_use(passkey: Passkey, verified: Any, now: datetime) -> str:
    """Records the passkey's use. A counter that did not move past the stored one (when the authenticator
    keeps one) means a cloned key and the library refuses it; the conditional UPDATE refuses a racing
    replay of the same assertion."""
    moved = Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
        sign_count=verified.new_sign_count, last_used_at=now)
    return MfaMethod.WEBAUTHN if moved else ""


_CREDENTIAL_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{-(-CREDENTIAL_ID_BYTES * 4 // 3)}}}")  # unpadded base64url


def _credential_id(credential: Any) -> str:
    """The assertion's credential id, as the passkeys store it (base64url), or "" (which names none): the
    value is the client's, and a NUL or a lone surrogate must never reach the database."""
    raw = credential.get("id") if isinstance(credential, dict) else None
    return raw if isinstance(raw, str) and _CREDENTIAL_ID.fullmatch(raw) else ""


def assertion_verify(*, user: User, ip: str, credential: dict, challenge: str, now: datetime | None = None) -> str:
    """Checks an assertion as `user`'s second factor against the sign-in's challenge."""
    from webauthn.helpers import base64url_to_bytes

    moment = now or timezone.now()
    passkey = Passkey.objects.filter(user=user, credential_id=_credential_id(credential)).first()

    def check() -> str:
        verified = _assertion_verified(passkey, credential, base64url_to_bytes(challenge))
        return _assertion_use(passkey, verified, moment) if passkey is not None and verified is not None else ""

    return mfa.factor_attempt(user=user, ip=ip, check=check)


def passwordless_options() -> dict:
    """A sign-in with a passkey instead of the password: a token naming the challenge, and the options."""
    token = secrets.token_urlsafe(32)
    options = assertion_options()
    ticket_put(f"webauthn-sign-in:{hashlib.sha256(token.encode()).hexdigest()}", options.challenge, CEREMONY_SECONDS)
    return {"passkey_token": token, "webauthn": options.public}


def passwordless_verify(*, token: str, credential: dict, ip: str, now: datetime | None = None) -> User:
    """The account whose passkey signed the challenge of `token` (used up either way), if it may sign in.
    A wrong assertion counts per client IP, and per account when it names a known passkey."""
    now = now or timezone.now()
    # The address's slot is taken before anything is judged, so guesses sent in parallel cannot all pass
    # the limit before any of them counts; an unknown passkey keeps it (a failure), anything else gives it back.
    with LOGIN_FAILURES_PER_IP.attempt(ip, counted=(errors.WrongPasswordError,)):
        challenge = _challenge_take(f"webauthn-sign-in:{hashlib.sha256(token.encode()).hexdigest()}")
        if challenge is None:
            raise errors.NotAuthenticatedError("This passkey sign-in has expired; ask for new options.")
        # A deleted account's passkey is as unknown as a deleted account's login name.
        passkey = (Passkey.objects.select_related("user").exclude(user__status=UserStatus.DELETED)
                   .filter(credential_id=_credential_id(credential)).first())
        if passkey is None:
            audit_record(action=AuditAction.LOGIN_FAILED, user=None, ip=ip, passkey=True)
            raise errors.WrongPasswordError("This passkey is not known here.", status=401)
    LOGIN_FAILURES_PER_IP.release(ip)  # a known passkey's assertion is judged by factor_attempt, under both limits
    user = passkey.user

    def check() -> str:
        verified = _assertion_verified(passkey, credential, challenge, passwordless=True)
        if verified is None:
            return ""
        user_assert_can_sign_in(user)  # the right passkey of a frozen account: 7008/7009, and no use recorded
        return _assertion_use(passkey, verified, now)

    mfa.factor_attempt(user=user, ip=ip, check=check)
    account_failures_clear(user)
    return user
