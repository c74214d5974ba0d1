"""Every change to accounts: registration, sign-in, sessions, passwords, status and deletion.

The API, the admin and the management commands all call these functions; each writes its audit row in
the same transaction as the change.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import selectors
from accounts.audit import audit_record, valid_ip
from accounts.mail import front_end_link, mail_send
from accounts.models import LOGIN_NAME_VALIDATOR, AccountSecret, SecretPurpose, Session, User, UserStatus
from accounts.oauth import (
    IssuedSecret,
    access_token_revoke,
    developer_enable,
    developer_mode_check,
    oauth_tokens_revoke,
    owned_applications_revoke,
)
from accounts.ratelimit import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_IP,
    SECRET_MAILS_PER_ACCOUNT,
    SECRET_MAILS_PER_IP,
)
from accounts.tokens import TokenPair, decode_refresh, issued_before, token_pair_for
from accountsite import errors
from membership import selectors as membership_selectors
from membership.services import membership_open, membership_tier_assign

# --- Sign-in rules ---------------------------------------------------------------------------------------

def user_assert_can_sign_in(user: User) -> None:
    if user.status == UserStatus.INACTIVE:
        raise errors.AccountNotActivatedError()
    if user.status != UserStatus.ACTIVE:
        raise errors.AccountDisabledError()


def _account_key(login: str, user: User | None) -> str:
    # Known accounts are counted by id, so switching between login name and e-mail does not reset the
    # count; unknown names are counted by the string, so they lock exactly like real ones.
    return f"user:{user.pk}" if user is not None else f"name:{login.strip().lower()}"


def credentials_verify(*, login: str, password: str, ip: str, status: int = 401) -> User:
    """The user named by `login` if `password` is theirs, under the brute-force limits.

    Wrong name and wrong password give the same error at the same cost (one hash). A legacy MD5 or
    PBKDF2 hash is re-hashed with Argon2id by check_password on success.
    """
    # Both counts are taken before the password is judged (and given back if it is right), so attempts
    # made in parallel cannot all pass the check before any of them is counted.
    LOGIN_FAILURES_PER_IP.reserve(ip)
    user = selectors.user_for_login(login)
    account_key = _account_key(login, user)
    try:
        LOGIN_FAILURES_PER_ACCOUNT.reserve(account_key)
    except errors.TooManyRequestsError:
        LOGIN_FAILURES_PER_IP.release(ip)  # refused for the account's sake: no guess was made from this IP
        raise
    if user is None:
        selectors.burn_password_hash(password)
        verified = False
    else:
        verified = user.check_password(password)
    if not verified:
        raise errors.WrongPasswordError("Wrong login name or password.", status=status)
    LOGIN_FAILURES_PER_IP.release(ip)
    LOGIN_FAILURES_PER_ACCOUNT.clear(account_key)
    return user


def _password_check(*, user: User, password: str, ip: str) -> None:
    """The signed-in user's own password, re-entered; failures count toward the login lockout."""
    key = _account_key(user.username, user)
    LOGIN_FAILURES_PER_ACCOUNT.reserve(key)  # counted as a failure unless it turns out right
    if not user.check_password(password):
        LOGIN_FAILURES_PER_IP.hit(ip)
        raise errors.WrongPasswordError("The current password is wrong.")
    LOGIN_FAILURES_PER_ACCOUNT.release(key)


# --- Users -------------------------------------------------------------------------------------------------

def _password_validate(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise errors.InvalidParametersError(
            f"Invalid parameters: {field}: {exc.messages[0]}", error={field: exc.messages}
        ) from None


def _identity_assert_free(*, username: str, email: str | None, user: User | None = None) -> None:
    """An account's names (`user`'s, or a new account's) must not collide with anyone else's, in either
    field: sign-in accepts a login name or an e-mail address, so a login name equal to someone's address
    (or the reverse) would squat on it. Deleted users keep their names until purged, so they count."""
    if _email_claimed(username, by_other_than=user):
        raise errors.LoginNameTakenError()
    if email and _email_claimed(email, by_other_than=user):
        raise errors.EmailTakenError()


def _email_claimed(name: str, *, by_other_than: User | None = None) -> bool:
    """Is `name` someone's address, or someone's login name?"""
    users = User.objects.filter(Q(email__iexact=name) | Q(username__iexact=name))
    if by_other_than is not None:
        users = users.exclude(pk=by_other_than.pk)
    return users.exists()


def _integrity_as_service_error(exc: IntegrityError) -> errors.ServiceError:
    # By constraint name: the message also quotes the clashing value, which may contain "email".
    text = str(exc)
    if "accounts_user_email" in text or "accounts_user.email" in text:
        return errors.EmailTakenError()
    if "accounts_user_username" in text or "accounts_user.username" in text:
        return errors.LoginNameTakenError()
    raise exc


@transaction.atomic
def user_create(*, username: str, password: str, email: str | None = None, actor: User | None = None,
                ip: str | None = None, status: int | None = None, is_staff: bool = False,
                **profile: Any) -> User:
    """A new account. It starts inactive when activation is required, unless an admin sets a status."""
    if status is None:
        status = UserStatus.INACTIVE if settings.ACCOUNTS_ACTIVATION_REQUIRED else UserStatus.ACTIVE
    user = User(username=username, email=email or None, status=status, is_staff=is_staff, **profile)
    _password_validate(password, user)
    _identity_assert_free(username=username, email=user.email)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration took the name or address first
        raise _integrity_as_service_error(exc) from None
    membership_open(user=user)
    audit_record(action="user.create", user=user, actor=actor, ip=ip)
    if user.status == UserStatus.INACTIVE and user.email:
        activation_send(user=user)
    return user


@transaction.atomic
def user_register(*, terminal: str, ip: str, user_agent: str, **fields: Any) -> tuple[User, TokenPair | None]:
    """Self-service sign-up: the account, and a first session unless activation must come first."""
    user = user_create(ip=ip, **fields)
    if not user.is_active:
        return user, None
    _session, pair = session_start(user=user, terminal=terminal, ip=ip, user_agent=user_agent)
    return user, pair


PROFILE_FIELDS = ("nickname", "real_name", "intro", "github", "school", "website")


@transaction.atomic
def user_profile_update(*, user: User, actor: User, **fields: Any) -> User:
    changed = [name for name in PROFILE_FIELDS if name in fields and getattr(user, name) != fields[name]]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
        audit_record(action="user.profile_update", user=user, actor=actor, fields=changed)
    return user


@transaction.atomic
def me_update(*, user: User, is_developer: bool | None = None, redirect_uris: Any = None,
              **profile: Any) -> IssuedSecret | None:
    """PATCH /auth/me: the profile fields and, with `is_developer`, developer mode and its first OAuth app
    (whose secret the caller sees this once)."""
    developer_mode_check(user=user, on=is_developer, redirect_uris=redirect_uris)
    user_profile_update(user=user, actor=user, **profile)
    return developer_enable(user=user, redirect_uris=redirect_uris) if is_developer else None


@transaction.atomic
def user_status_set(*, user: User, status: int, actor: User | None, reason: str = "",
                    now: datetime | None = None) -> User:
    """Moves a user to another status; leaving 'active' ends every session and grant at once."""
    now = now or timezone.now()
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.status != status:
        previous = locked.status
        User.objects.filter(pk=user.pk).update(status=status, status_changed_at=now)
        user.status, user.status_changed_at = status, now
        audit_record(action="user.status", user=user, actor=actor, previous=previous, status=status, reason=reason)
    if status != UserStatus.ACTIVE:
        # An account that may not sign in keeps nothing that works in its name: its sign-ins, the tokens
        # apps hold for it, the tokens its own apps were given, and the codes its mailbox received.
        user_credentials_revoke(user=user, reason=f"status_{status}", now=now)
        owned_applications_revoke(owner=user, now=now)
        secrets_void(user=user, now=now)
    return user


def user_delete(*, user: User, actor: User | None, now: datetime | None = None) -> User:
    """Soft delete (status 7): the login name stays reserved until an operator purges the account."""
    return user_status_set(user=user, status=UserStatus.DELETED, actor=actor, reason="deleted", now=now)


def user_unregister(*, password: str, ip: str, user: User | None = None, login: str = "") -> User:
    """Seed 003's unregister: by login name and password, or by the signed-in user re-entering theirs."""
    if user is None:
        user = credentials_verify(login=login, password=password, ip=ip, status=400)
        user_assert_can_sign_in(user)
    else:
        _password_check(user=user, password=password, ip=ip)
    return user_delete(user=user, actor=user)


# --- Sessions ----------------------------------------------------------------------------------------------

def _session_open(*, user: User, terminal: str, ip: str, user_agent: str, now: datetime) -> Session:
    """A session row on `terminal`, replacing that terminal's live one (other terminals stay).

    `user` is the account as its credentials were checked, without a lock. The row lock taken here
    serialises this sign-in with password and status changes (which lock the same row), and the account
    is read again under it: if the password or the status moved since the check, a sign-in made with the
    old credentials must not outlive the change, so it is refused.
    """
    current = User.objects.select_for_update().values("password", "password_changed_at", "status").get(pk=user.pk)
    if current["password"] != user.password or current["password_changed_at"] != user.password_changed_at:
        raise errors.WrongPasswordError("Wrong login name or password.", status=401)
    user.status = current["status"]
    user_assert_can_sign_in(user)
    Session.objects.filter(user=user, terminal=terminal, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason="replaced"
    )
    User.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now
    audit_record(action="session.login", user=user, actor=user, ip=ip, terminal=terminal)
    return Session(user=user, terminal=terminal, ip=valid_ip(ip), user_agent=user_agent[:256],
                   created_at=now, last_seen_at=now)


@transaction.atomic
def session_start(*, user: User, terminal: str, ip: str, user_agent: str,
                  now: datetime | None = None) -> tuple[Session, TokenPair]:
    """A new API session on `terminal` and its token pair (see _session_open for the rules)."""
    now = now or timezone.now()
    session = _session_open(user=user, terminal=terminal, ip=ip, user_agent=user_agent, now=now)
    pair = token_pair_for(session)
    session.refresh_jti, session.expires_at = pair.refresh_jti, pair.refresh_expires_at
    session.save(force_insert=True)
    return session, pair


@transaction.atomic
def browser_session_start(*, user: User, terminal: str, ip: str, user_agent: str, lifetime: timedelta,
                          now: datetime | None = None) -> Session:
    """A session for a browser sign-in (the admin, the OAuth sign-in page): no tokens; the browser's
    cookie names it, so revoking it ends that browser's sign-in like any other terminal's."""
    now = now or timezone.now()
    session = _session_open(user=user, terminal=terminal, ip=ip, user_agent=user_agent, now=now)
    session.expires_at = now + lifetime
    session.save(force_insert=True)
    return session


def login(*, login: str, password: str, terminal: str, ip: str, user_agent: str) -> tuple[User, Session, TokenPair]:
    user = credentials_verify(login=login, password=password, ip=ip)
    user_assert_can_sign_in(user)
    session, pair = session_start(user=user, terminal=terminal, ip=ip, user_agent=user_agent)
    return user, session, pair


def session_refresh(*, raw_refresh: str, now: datetime | None = None) -> TokenPair:
    """Rotates the refresh token. Presenting an already-rotated one means a copy is loose: the whole
    session is revoked (the revocation commits even though the request fails)."""
    now = now or timezone.now()
    token = decode_refresh(raw_refresh)
    with transaction.atomic():
        # Lock the session row only: sign-in, password and status changes lock the user row and then the
        # sessions, so also waiting for the user row here could deadlock with them.
        session = (Session.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(pk=token.get("sid"), revoked_at__isnull=True, expires_at__gt=now).first())
        if session is None or session.user_id != token.get("uid"):
            raise errors.NotAuthenticatedError("This session has ended; sign in again.")
        replayed = token.get("jti") != session.refresh_jti
        if replayed:
            session_revoke(session=session, reason="refresh_reuse", now=now)
        else:
            user_assert_can_sign_in(session.user)
            if issued_before(token, session.user.password_changed_at):
                raise errors.NotAuthenticatedError("The password was changed; sign in again.")
            return session_reissue(session=session, now=now)
    raise errors.NotAuthenticatedError("This refresh token was already used; the session is ended.")


def session_reissue(*, session: Session, now: datetime | None = None) -> TokenPair:
    """New tokens for a live session; its previous refresh token stops working."""
    pair = token_pair_for(session)
    Session.objects.filter(pk=session.pk).update(
        refresh_jti=pair.refresh_jti, expires_at=pair.refresh_expires_at, last_seen_at=now or timezone.now()
    )
    return pair


def session_touch(*, session: Session, now: datetime | None = None) -> None:
    """Records that the session was used; written at most every ACCOUNTS_SESSION_TOUCH_SECONDS, so most
    requests stay read-only."""
    now = now or timezone.now()
    if now - session.last_seen_at >= timedelta(seconds=settings.ACCOUNTS_SESSION_TOUCH_SECONDS):
        Session.objects.filter(pk=session.pk).update(last_seen_at=now)


def session_revoke(*, session: Session, reason: str, now: datetime | None = None) -> bool:
    return bool(Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoke_reason=reason
    ))


def user_credentials_revoke(*, user: User, reason: str, keep_session: Session | None = None,
                            now: datetime | None = None) -> int:
    """Ends every session of the user (but `keep_session`); returns how many were live.

    OAuth grants and tokens end in every case, password change included: a changed password may mean a
    compromised account, so third-party apps must ask the user's consent again."""
    sessions = Session.objects.filter(user=user, revoked_at__isnull=True)
    if keep_session is not None:
        sessions = sessions.exclude(pk=keep_session.pk)
    oauth_tokens_revoke(user=user, now=now)
    return sessions.update(revoked_at=now or timezone.now(), revoke_reason=reason)


def logout(*, user: User, session: Session | None, everywhere: bool, oauth_token: Any = None) -> int:
    """Ends the caller's session (or, signed in with an app's OAuth token, that token); `everywhere`
    ends every session and every app's tokens."""
    if everywhere or (session is None and oauth_token is None):
        count = user_credentials_revoke(user=user, reason="logout_all")
    elif session is not None:
        count = int(session_revoke(session=session, reason="logout"))
    else:
        access_token_revoke(token=oauth_token)
        count = 1
    audit_record(action="session.logout", user=user, actor=user, everywhere=everywhere)
    return count


# --- Passwords ---------------------------------------------------------------------------------------------

@transaction.atomic
def password_set(*, user: User, password: str, actor: User | None, reason: str,
                 keep_session: Session | None = None, now: datetime | None = None,
                 field: str = "password", ip: str | None = None) -> User:
    """Sets a password and ends every other session; tokens issued before now stop working.
    `field` names the input field in the error when the password is refused."""
    now = now or timezone.now()
    _password_validate(password, user, field)
    user.set_password(password)
    user.password_changed_at = now
    user.save(update_fields=["password", "password_changed_at"])
    user_credentials_revoke(user=user, reason=reason, keep_session=keep_session, now=now)
    secrets_void(user=user, now=now)
    audit_record(action=f"password.{reason}", user=user, actor=actor, ip=ip)
    return user


def password_change(*, user: User, old_password: str, new_password: str, ip: str,
                    session: Session | None, tokens: bool = True) -> TokenPair | None:
    """The user's own change: needs the old password; every other session ends, and the current one
    (`session`) stays, with fresh tokens unless it is a browser's (`tokens=False`)."""
    _password_check(user=user, password=old_password, ip=ip)
    with transaction.atomic():
        password_set(user=user, password=new_password, actor=user, reason="change", keep_session=session,
                     field="new_password", ip=ip)
        return session_reissue(session=session) if session is not None and tokens else None


# --- Users: administration (CONTRACT section 3) ------------------------------------------------------------

@transaction.atomic
def user_role_set(*, user: User, role: str, actor: User | None) -> User:
    """role "admin" is the staff flag; "common" also drops superuser, which would otherwise keep it admin."""
    previous = user.role
    user.is_staff = role == "admin"
    if role != "admin":
        user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    if previous != user.role:
        audit_record(action="user.role", user=user, actor=actor, previous=previous, role=user.role)
    return user


KEEP = object()  # "leave this value as it is", where None is a value (no expiry)


@transaction.atomic
def user_identity_set(*, user: User, actor: User | None, ip: str | None = None, now: datetime | None = None,
                      **identity: Any) -> User:
    """An operator renames a user or sets their address (`username`, `email`, `email_verified`). The
    names must stay free in both fields (as at sign-up); a new address voids the codes mailed to the old."""
    username = identity.get("username", user.username)
    email = identity.get("email", user.email) or None
    _identity_assert_free(username=username, email=email, user=user)
    changed = [name for name, value in (("username", username), ("email", email)) if getattr(user, name) != value]
    if "email" in changed:
        user.email_verified = False
        changed.append("email_verified")
    if "email_verified" in identity and identity["email_verified"] != user.email_verified:
        changed.append("email_verified")
        user.email_verified = identity["email_verified"]
    user.username, user.email = username, email
    if not changed:
        return user
    try:
        with transaction.atomic():
            user.save(update_fields=sorted(set(changed)))
    except IntegrityError as exc:  # taken concurrently
        raise _integrity_as_service_error(exc) from None
    if "email" in changed:
        secrets_void(user=user, now=now)
    audit_record(action="user.identity", user=user, actor=actor, ip=ip, fields=sorted(set(changed)))
    return user


@transaction.atomic
def user_tier_set(*, user: User, actor: User | None, user_type: int | None = None,
                  invalid_at: datetime | object | None = KEEP) -> None:
    """The operator's tier change; the membership expiry (`invalid_at`) is kept unless given."""
    membership = user.membership
    user.membership = membership_tier_assign(
        user=user, actor=actor, user_type=membership.tier.user_type if user_type is None else user_type,
        expires_at=membership.expires_at if invalid_at is KEEP else invalid_at,
    )


@transaction.atomic
def user_admin_create(*, actor: User | None, role: str = "common", user_type: int | None = None,
                      **fields: Any) -> User:
    """POST /users/{loginname}: a plain sign-up, or an admin's creation with role, status and tier."""
    user = user_create(actor=actor, is_staff=role == "admin", **fields)
    if user_type is not None:
        user_tier_set(user=user, actor=actor, user_type=user_type)
    return user


@transaction.atomic
def user_admin_update(*, user: User, actor: User, now: datetime | None = None, ip: str | None = None,
                      **changes: Any) -> User:
    """An operator's change of a user (PUT/PATCH /users/{loginname}, the back office's form and actions):
    profile, login name and address, password, role, tier, expiry and status, in that order (status
    last: leaving 'active' ends the sessions the other changes leave open). The caller has asked the
    policy for each part."""
    user_profile_update(user=user, actor=actor, **{name: changes[name] for name in PROFILE_FIELDS if name in changes})
    identity = {name: changes[name] for name in ("username", "email", "email_verified") if name in changes}
    if identity:
        user_identity_set(user=user, actor=actor, ip=ip, now=now, **identity)
    if "password" in changes:
        password_set(user=user, password=changes["password"], actor=actor, reason="admin_set", now=now, ip=ip)
    user_type = changes.get("user_type")
    if "role" in changes and changes["role"] != user.role:
        user_role_set(user=user, role=changes["role"], actor=actor)
        if user_type is None:  # an admin holds the unlimited admin tier; a demoted one goes back to tier 1
            user_type = membership_selectors.ADMIN if user.is_admin else membership_selectors.REGISTERED
    if user_type is not None or "invalid_at" in changes:
        user_tier_set(user=user, actor=actor, user_type=user_type, invalid_at=changes.get("invalid_at", KEEP))
    if "status" in changes:
        user_status_set(user=user, status=changes["status"], actor=actor, reason="admin", now=now)
    return user


# --- E-mailed single-use secrets ---------------------------------------------------------------------------

def _secret_lifetime(purpose: str) -> timedelta:
    return {
        SecretPurpose.ACTIVATION: timedelta(hours=settings.ACCOUNTS_ACTIVATION_SECRET_HOURS),
        SecretPurpose.PASSWORD_RESET: timedelta(minutes=settings.ACCOUNTS_RESET_SECRET_MINUTES),
        SecretPurpose.EMAIL_CHANGE: timedelta(hours=settings.ACCOUNTS_EMAIL_CHANGE_SECRET_HOURS),
    }[purpose]


def _secret_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def secret_issue(*, user: User, purpose: str, new_email: str | None = None,
                 now: datetime | None = None) -> tuple[str, AccountSecret]:
    """A new secret (256 random bits) and its stored row; earlier unused ones of this purpose stop working,
    so only the latest e-mail's code is valid."""
    now = now or timezone.now()
    AccountSecret.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    raw = secrets.token_urlsafe(32)
    secret = AccountSecret.objects.create(
        user=user, purpose=purpose, secret_hash=_secret_digest(raw), new_email=new_email,
        created_at=now, expires_at=now + _secret_lifetime(purpose),
    )
    return raw, secret


def secrets_void(*, user: User, now: datetime | None = None) -> int:
    """Every unused code of the user stops working (activation, reset, e-mail change): called when the
    password or the address changes and when the account leaves 'active', so a code mailed before such
    a change cannot undo it."""
    return AccountSecret.objects.filter(user=user, used_at__isnull=True).update(used_at=now or timezone.now())


def secret_redeem(*, loginname: str, purpose: str, raw: str, now: datetime | None = None) -> AccountSecret:
    """Uses up the secret `raw` of `loginname`, or raises 8005. The use is one conditional UPDATE, so of
    two concurrent uses one wins; callers run it inside the transaction of the change it authorises, so a
    change that fails leaves the secret unused."""
    now = now or timezone.now()
    secret = (AccountSecret.objects.select_related("user")
              .filter(secret_hash=_secret_digest(raw), purpose=purpose).first())
    if (secret is None or secret.user.username.lower() != loginname.lower() or secret.user.is_deleted
            or secret.expires_at <= now
            or not AccountSecret.objects.filter(pk=secret.pk, used_at__isnull=True).update(used_at=now)):
        raise errors.InvalidSecretError()
    secret.used_at = now
    return secret


def _secret_mail(*, user: User, purpose: str, template: str, url_template: str, to: str,
                 now: datetime | None, new_email: str | None = None) -> None:
    raw, secret = secret_issue(user=user, purpose=purpose, new_email=new_email, now=now)
    link = front_end_link(url_template, loginname=user.username, sid=raw)
    mail_send(template=template, to=to, context={
        "user": user, "sid": raw, "link": link, "expires_at": secret.expires_at, "new_email": new_email,
    })


def secret_mail_throttle(*, loginname: str, ip: str) -> None:
    """Caps the e-mails one account name and one client may trigger; counted by the name as typed, so an
    unknown name is limited exactly like a real one and the reply reveals nothing."""
    SECRET_MAILS_PER_IP.consume(ip)
    SECRET_MAILS_PER_ACCOUNT.consume(loginname.strip().lower())


# --- Activation ----------------------------------------------------------------------------------------------

def _secret_mail_request(*, loginname: str, ip: str, status: int, send: Any, now: datetime | None) -> None:
    """An anonymous request for an e-mailed code: throttled per name and IP, and sent only if `loginname`
    is an account in `status` with an address. The caller's reply is the same either way."""
    secret_mail_throttle(loginname=loginname, ip=ip)
    user = User.objects.filter(username__iexact=loginname, status=status, email__isnull=False).first()
    if user is not None:
        send(user=user, now=now)


@transaction.atomic
def activation_send(*, user: User, now: datetime | None = None) -> None:
    _secret_mail(user=user, purpose=SecretPurpose.ACTIVATION, template="activation",
                 url_template=settings.ACCOUNTS_ACTIVATION_URL, to=user.email, now=now)


def activation_resend(*, loginname: str, ip: str, now: datetime | None = None) -> None:
    """Sends a new activation code if `loginname` is an inactive account with an address; the caller's
    reply is the same either way."""
    _secret_mail_request(loginname=loginname, ip=ip, status=UserStatus.INACTIVE, send=activation_send, now=now)


@transaction.atomic
def user_activate(*, loginname: str, sid: str, now: datetime | None = None) -> User:
    """PUT /users/{loginname}/active: status 1 -> 2. The code went to the user's address, so it is verified."""
    secret = secret_redeem(loginname=loginname, purpose=SecretPurpose.ACTIVATION, raw=sid, now=now)
    user = secret.user
    if user.status != UserStatus.INACTIVE:  # activated already, or frozen/invalid since: nothing to activate
        raise errors.InvalidSecretError()
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    return user_status_set(user=user, status=UserStatus.ACTIVE, actor=user, reason="activated", now=now)


# --- Password reset and check --------------------------------------------------------------------------------

@transaction.atomic
def password_reset_send(*, user: User, now: datetime | None = None) -> None:
    _secret_mail(user=user, purpose=SecretPurpose.PASSWORD_RESET, template="password_reset",
                 url_template=settings.ACCOUNTS_RESET_URL, to=user.email, now=now)


def password_reset_request(*, loginname: str, ip: str, now: datetime | None = None) -> None:
    """PUT /users/{loginname}/forget/pwd: e-mails a reset code to an active account that has an address.
    Nothing tells the caller whether it did."""
    _secret_mail_request(loginname=loginname, ip=ip, status=UserStatus.ACTIVE, send=password_reset_send, now=now)


@transaction.atomic
def password_reset(*, loginname: str, sid: str, password: str, now: datetime | None = None) -> User:
    """PUT /users/{loginname}/pwd/reset: the new password, every session ended, the login lockout lifted."""
    user = secret_redeem(loginname=loginname, purpose=SecretPurpose.PASSWORD_RESET, raw=sid, now=now).user
    password_set(user=user, password=password, actor=user, reason="reset", now=now)
    LOGIN_FAILURES_PER_ACCOUNT.clear(_account_key(user.username, user))
    return user


def password_verify(*, loginname: str, password: str, ip: str) -> None:
    """GET/POST /users/{loginname}/pwd/validate (seed 004): under the login limits, failures counted."""
    user = credentials_verify(login=loginname, password=password, ip=ip, status=400)
    if user.username.lower() != loginname.strip().lower():  # an e-mail address is not a login name here
        raise errors.WrongPasswordError("Wrong login name or password.")


def password_change_by(*, actor: User, user: User, new_password: str, old_password: str | None, ip: str,
                       session: Session | None) -> TokenPair | None:
    """PUT /users/{loginname}/pwd: an operator sets another user's password (all their sessions end); users,
    operators included, change their own with the old one (their other sessions end). The caller has asked
    the policy which of the two it may do."""
    if actor.pk != user.pk:
        password_set(user=user, password=new_password, actor=actor, reason="admin_set", ip=ip)
        return None
    if old_password is None:
        raise errors.InvalidParametersError(
            "Invalid parameters: oldpwd: the current password is required.",
            error={"oldpwd": ["This field is required."]},
        )
    return password_change(user=user, old_password=old_password, new_password=new_password, ip=ip,
                           session=session)


# --- E-mail change -----------------------------------------------------------------------------------------

def _email_masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def email_change_request(*, user: User, email: str, password: str, ip: str, now: datetime | None = None) -> None:
    """PUT /users/{loginname}/email: needs the current password (counted like a sign-in). A code goes to
    the new address and a notice to the old one, which keeps working until the code is used.

    The reply is the same whether or not the new address belongs to someone else, so the endpoint cannot
    be used to find out who is registered: in that case no code is sent, and the address's owner is told
    instead that someone tried to use it.
    """
    secret_mail_throttle(loginname=user.username, ip=ip)
    if user.email and user.email.lower() == email.lower():
        raise errors.InvalidParametersError(
            "Invalid parameters: email: this is already your address.", error={"email": ["Already your address."]}
        )
    _password_check(user=user, password=password, ip=ip)
    with transaction.atomic():
        owner = User.objects.filter(email__iexact=email).exclude(pk=user.pk).first()
        if owner is not None:
            mail_send(template="email_taken_notice", to=owner.email, context={"user": owner})
        elif not _email_claimed(email, by_other_than=user):
            _secret_mail(user=user, purpose=SecretPurpose.EMAIL_CHANGE, template="email_change",
                         url_template=settings.ACCOUNTS_EMAIL_CHANGE_URL, to=email, now=now, new_email=email)
        if user.email:
            mail_send(template="email_change_notice", to=user.email,
                      context={"user": user, "new_email_masked": _email_masked(email)})
        audit_record(action="email.change_request", user=user, actor=user, ip=ip)


@transaction.atomic
def email_change_confirm(*, user: User, sid: str, now: datetime | None = None) -> User:
    """POST /users/{loginname}/email/verify: switches to the confirmed address, unless taken meanwhile."""
    secret = secret_redeem(loginname=user.username, purpose=SecretPurpose.EMAIL_CHANGE, raw=sid, now=now)
    if _email_claimed(secret.new_email, by_other_than=user):
        raise errors.EmailTakenError()
    previous = user.email
    user.email, user.email_verified = secret.new_email, True
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])
    except IntegrityError as exc:
        raise _integrity_as_service_error(exc) from None
    # Codes mailed to the old address (a password reset, say) must not outlive the change.
    secrets_void(user=user, now=now)
    audit_record(action="email.change", user=user, actor=user, had_email=previous is not None)
    return user


# --- Bulk operations: import and purge ----------------------------------------------------------------------

_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}\Z")
_PBKDF2 = re.compile(r"^pbkdf2_sha256\$\d+\$[^$]+\$[A-Za-z0-9+/=]+\Z")
_PURGED_NAME = r"^deleted-[0-9]+-[0-9a-f]{8}$"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def _imported_password(value: str) -> str:
    """The stored form of a legacy hash: hex MD5 for LegacyUnsaltedMD5PasswordHasher, or Django PBKDF2."""
    if _MD5_HEX.match(value):
        return f"unsalted_md5$${value.lower()}"
    if _PBKDF2.match(value):
        return value
    raise errors.InvalidParametersError("hash: neither a hex MD5 nor a pbkdf2_sha256 hash")


def _imported_user(row: dict[str, str]) -> User:
    """The unsaved user a CSV row describes, or InvalidParametersError naming the first bad column."""
    username = (row.get("loginname") or "").strip()
    email = (row.get("email") or "").strip() or None
    nickname = (row.get("nickname") or "").strip()
    checks = [("loginname", LOGIN_NAME_VALIDATOR, username)] + ([("email", validate_email, email)] if email else [])
    for column, validator, value in checks:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise errors.InvalidParametersError(f"{column}: {exc.messages[0]}") from None
    if len(nickname) > 64:
        raise errors.InvalidParametersError("nickname: at most 64 characters")
    user = User(username=username, email=email, nickname=nickname, status=UserStatus.ACTIVE)
    user.password = _imported_password((row.get("hash") or "").strip())
    return user


def users_import(*, rows: Iterable[tuple[int, dict[str, str]]], dry_run: bool = False,
                 actor: User | None = None) -> ImportReport:
    """Legacy accounts from CSV rows (line number, columns loginname, email, nickname, hash). Each row is
    its own transaction: a bad or duplicate row is reported and skipped, never half-imported. Passwords
    are re-hashed with Argon2id at each user's first successful login."""
    report = ImportReport()
    seen: set[str] = set()  # names and addresses earlier in the file, for the dry run
    for line, row in rows:
        try:
            user = _imported_user(row)
            keys = {f"name:{user.username.lower()}", f"email:{(user.email or '').lower()}"} - {"email:"}
            if keys & seen:
                raise errors.InvalidParametersError("duplicate of an earlier row")
            with transaction.atomic():
                _identity_assert_free(username=user.username, email=user.email)
                if not dry_run:
                    user.save()
                    membership_open(user=user)
                    audit_record(action="user.import", user=user, actor=actor)
            seen |= keys
            report.created.append(user.username)
        except (errors.ServiceError, IntegrityError) as exc:
            report.skipped.append((line, str(exc)))
    return report


@transaction.atomic
def user_anonymise(*, user: User, actor: User | None, now: datetime | None = None) -> User:
    """Frees a deleted user's login name and removes their personal data. The row stays (as
    `deleted-<id>-<random>`) because memberships, ledgers and audit rows refer to it."""
    user_credentials_revoke(user=user, reason="purged", now=now)
    user.username = f"deleted-{user.pk}-{secrets.token_hex(4)}"
    user.email, user.email_verified = None, False
    for name in PROFILE_FIELDS:
        setattr(user, name, "")
    user.is_staff = user.is_superuser = user.is_developer = False
    user.last_login = None
    user.set_unusable_password()
    user.save()
    Session.objects.filter(user=user).delete()  # they hold IP addresses and user agents
    AccountSecret.objects.filter(user=user).delete()
    audit_record(action="user.purge", user=user, actor=actor)
    return user


def users_purge_deleted(*, older_than: timedelta, actor: User | None = None, now: datetime | None = None) -> int:
    """`manage.py purge_deleted_users`: anonymises every account deleted more than `older_than` ago."""
    now = now or timezone.now()
    candidates = (User.objects.filter(status=UserStatus.DELETED, status_changed_at__lt=now - older_than)
                  .exclude(username__regex=_PURGED_NAME))
    purged = 0
    for user in candidates.iterator():
        user_anonymise(user=user, actor=actor, now=now)
        purged += 1
    return purged
