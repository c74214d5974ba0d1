"""Every change to accounts: registration, sign-in, sessions, passwords, status and deletion.

The API, the admin and the management commands all call these functions; each writes its audit row in
the same transaction as the change.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors
from accounts.audit import audit_record, valid_ip
from accounts.models import Session, User, UserStatus
from accounts.ratelimit import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP
from accounts.tokens import TokenPair, decode_refresh, issued_before, token_pair_for
from accountsite import errors
from membership.services import membership_open

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
    LOGIN_FAILURES_PER_IP.check(ip)
    user = selectors.user_for_login(login)
    account_key = _account_key(login, user)
    LOGIN_FAILURES_PER_ACCOUNT.reserve(account_key)  # counted as a failure unless it turns out right
    if user is None:
        selectors.burn_password_hash(password)
        verified = False
    else:
        verified = user.check_password(password)
    if not verified:
        LOGIN_FAILURES_PER_IP.hit(ip)
        raise errors.WrongPasswordError("Wrong login name or password.", status=status)
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


def _identity_assert_free(*, username: str, email: str | None) -> None:
    # Deleted users keep their login name until purged, so they are not excluded here.
    if User.objects.filter(username__iexact=username).exists():
        raise errors.LoginNameTakenError()
    if email and User.objects.filter(email__iexact=email).exists():
        raise errors.EmailTakenError()


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
        user_credentials_revoke(user=user, reason=f"status_{status}", now=now)
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

@transaction.atomic
def session_start(*, user: User, terminal: str, ip: str, user_agent: str,
                  now: datetime | None = None) -> tuple[Session, TokenPair]:
    """A new session on `terminal`, replacing the one that terminal had (other terminals stay)."""
    now = now or timezone.now()
    # Serialise sign-ins of one user so two logins on one terminal cannot both keep a live session.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    Session.objects.filter(user=user, terminal=terminal, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason="replaced"
    )
    session = Session(user=user, terminal=terminal, ip=valid_ip(ip), user_agent=user_agent[:256],
                      created_at=now, last_seen_at=now)
    pair = token_pair_for(session)
    session.refresh_jti, session.expires_at = pair.refresh_jti, pair.refresh_expires_at
    session.save(force_insert=True)
    User.objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now
    return session, pair


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


def session_revoke(*, session: Session, reason: str, now: datetime | None = None) -> bool:
    return bool(Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoke_reason=reason
    ))


def user_credentials_revoke(*, user: User, reason: str, keep_session: Session | None = None,
                            now: datetime | None = None) -> int:
    """Ends every session of the user (but `keep_session`); returns how many were live."""
    sessions = Session.objects.filter(user=user, revoked_at__isnull=True)
    if keep_session is not None:
        sessions = sessions.exclude(pk=keep_session.pk)
    return sessions.update(revoked_at=now or timezone.now(), revoke_reason=reason)


def logout(*, user: User, session: Session | None, everywhere: bool) -> int:
    if everywhere or session is None:
        count = user_credentials_revoke(user=user, reason="logout_all")
    else:
        count = int(session_revoke(session=session, reason="logout"))
    audit_record(action="session.logout", user=user, actor=user, everywhere=everywhere)
    return count


# --- Passwords ---------------------------------------------------------------------------------------------

@transaction.atomic
def password_set(*, user: User, password: str, actor: User | None, reason: str,
                 keep_session: Session | None = None, now: datetime | None = None,
                 field: str = "password") -> User:
    """Sets a password and ends every other session; tokens issued before now stop working.
    `field` names the input field in the error when the password is refused."""
    now = now or timezone.now()
    _password_validate(password, user, field)
    user.set_password(password)
    user.password_changed_at = now
    user.save(update_fields=["password", "password_changed_at"])
    user_credentials_revoke(user=user, reason=reason, keep_session=keep_session, now=now)
    audit_record(action=f"password.{reason}", user=user, actor=actor)
    return user


def password_change(*, user: User, old_password: str, new_password: str, ip: str,
                    session: Session | None) -> TokenPair | None:
    """The user's own change: needs the old password; the current session gets fresh tokens."""
    _password_check(user=user, password=old_password, ip=ip)
    with transaction.atomic():
        password_set(user=user, password=new_password, actor=user, reason="change", keep_session=session,
                     field="new_password")
        return session_reissue(session=session) if session is not None else None
