"""Passwords: validation, the re-entered current password, changes, operator sets, e-mailed resets and
seed 004's check. A new password ends every other session and voids every mailed code."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import RevokeReason, SecretPurpose, Session, User, UserStatus
from accounts.services.codes import (
    mail_address,
    secret_mail,
    secret_mail_recipient,
    secret_mail_request,
    secret_redeem,
    secrets_void,
)
from accounts.services.sessions import (
    account_failures_clear,
    account_key,
    attempt_failed,
    attempt_reserve,
    attempt_settle,
    credentials_verify,
    password_is_whole_credential,
    password_only_check,
    session_reissue,
    user_assert_can_sign_in,
    user_credentials_revoke,
)
from accounts.tokens import TokenPair
from accountsite import errors
from accountsite.audit import AuditAction, audit_record

PASSWORD_ACTIONS = {RevokeReason.PASSWORD_CHANGE: AuditAction.PASSWORD_CHANGE,
                    RevokeReason.PASSWORD_RESET: AuditAction.PASSWORD_RESET,
                    RevokeReason.PASSWORD_SET: AuditAction.PASSWORD_ADMIN_SET}


def password_validate(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise errors.InvalidParametersError(
            f"Invalid parameters: {field}: {exc.messages[0]}", error={field: exc.messages}
        ) from None


def password_check(*, user: User, password: str, ip: str) -> None:
    """The signed-in user's own password, re-entered; failures count toward the login lockout.

    An attempt under both of the sign-in's limits (sessions.attempt_reserve): past the account's or the
    client address's, it is refused (1029, Retry-After) before the password is checked, as a sign-in is, so
    a session, or many sessions from one address, cannot go on guessing here. A right password gives the
    slots back without clearing the account's earlier failures (only a whole sign-in does)."""
    key = account_key(user.username, user)
    counts = attempt_reserve(ip=ip, key=key)
    if not user.check_password(password):
        attempt_failed(user=user, ip=ip, counts=counts, current_password=True)
        raise errors.WrongPasswordError("The current password is wrong.")
    attempt_settle(ip=ip, key=key, clear=False)


@transaction.atomic
def password_set(*, user: User, password: str, actor: User | None, reason: RevokeReason,
                 keep_session: Session | None = None, now: datetime | None = None,
                 field: str = "password", ip: str | None = None) -> User:
    """Sets a password and ends every other session; tokens issued before now stop working.
    `field` names the input field in the error when the password is refused."""
    now = now or timezone.now()
    password_validate(password, user, field)
    user.set_password(password)
    user.password_changed_at = now
    user.save(update_fields=["password", "password_changed_at"])
    user_credentials_revoke(user=user, reason=reason, keep_session=keep_session, now=now)
    secrets_void(user=user, now=now)
    audit_record(action=PASSWORD_ACTIONS[reason], user=user, actor=actor, ip=ip)
    return user


def password_change_signed_out(*, login: str, old_password: str, new_password: str, ip: str) -> User:
    """Seed 003's POST /auth/password without a token: the login name and the old password are the
    credential, checked (and counted) exactly like a sign-in; every session of the account ends."""
    user = password_only_check(login=login, password=old_password, ip=ip)
    with transaction.atomic():
        password_set(user=user, password=new_password, actor=user, reason=RevokeReason.PASSWORD_CHANGE,
                     field="new_password", ip=ip)
    return user


def password_change(*, user: User, old_password: str, new_password: str, ip: str,
                    session: Session | None, tokens: bool = True) -> TokenPair | None:
    """The user's own change: needs the old password; every other session ends, and the current one
    (`session`) stays, with fresh tokens unless it is a browser's (`tokens=False`)."""
    password_check(user=user, password=old_password, ip=ip)
    with transaction.atomic():
        password_set(user=user, password=new_password, actor=user, reason=RevokeReason.PASSWORD_CHANGE,
                     keep_session=session, field="new_password", ip=ip)
        return session_reissue(session=session) if session is not None and tokens else None


def password_change_by(*, actor: User, user: User, new_password: str, old_password: str | None, ip: str,
                       session: Session | None) -> TokenPair | None:
    """PUT /users/{loginname}/pwd: an operator sets another user's password (all their sessions end); users,
    operators included, change their own with the old one (their other sessions end). The caller has asked
    the policy which of the two it may do."""
    if actor.pk != user.pk:
        password_set(user=user, password=new_password, actor=actor, reason=RevokeReason.PASSWORD_SET, ip=ip)
        return None
    if old_password is None:
        raise errors.InvalidParametersError(
            "Invalid parameters: oldpwd: the current password is required.",
            error={"oldpwd": ["This field is required."]},
        )
    return password_change(user=user, old_password=old_password, new_password=new_password, ip=ip,
                           session=session)


@transaction.atomic
def password_reset_send(*, user: User, now: datetime | None = None) -> bool:
    """E-mails `user` a reset code if the account could use one: an active account with an address (a
    frozen, invalid or deleted account's code would be refused at redemption). True if it did."""
    if user.status != UserStatus.ACTIVE or not user.email:
        return False
    secret_mail(user=user, purpose=SecretPurpose.PASSWORD_RESET, template="password_reset",
                url_template=settings.ACCOUNTS_RESET_URL, to=mail_address(user), now=now)
    return True


def password_reset_request(*, loginname: str, ip: str) -> None:
    """PUT /users/{loginname}/forget/pwd: e-mails a reset code to an active account that has an address.
    Nothing tells the caller whether it did, not even the time the request takes (the outbox does it)."""
    secret_mail_request(loginname=loginname, ip=ip, task="accounts.services.passwords.password_reset_mail")


def password_reset_mail(*, loginname: str) -> None:
    """The outbox task of password_reset_request."""
    user = secret_mail_recipient(loginname, UserStatus.ACTIVE)
    if user is not None:
        password_reset_send(user=user)


@transaction.atomic
def password_reset(*, loginname: str, sid: str, password: str, now: datetime | None = None) -> User:
    """PUT /users/{loginname}/pwd/reset: the new password, every session ended, and the login lockout lifted
    where the password is the whole credential (the code proves the mailbox, not a second factor)."""
    user = secret_redeem(loginname=loginname, purpose=SecretPurpose.PASSWORD_RESET, raw=sid, now=now).user
    if user.status != UserStatus.ACTIVE:  # only an account that may sign in gets a password through its mailbox
        raise errors.InvalidSecretError()
    password_set(user=user, password=password, actor=user, reason=RevokeReason.PASSWORD_RESET, now=now)
    if password_is_whole_credential(user):
        account_failures_clear(user)
    return user


def password_verify(*, loginname: str, password: str, ip: str) -> None:
    """GET/POST /users/{loginname}/pwd/validate (seed 004): under the login limits, failures counted; the
    right password of an account that may not sign in gets the sign-in's answer (7008, 7009)."""
    user = credentials_verify(login=loginname, password=password, ip=ip, status=400)
    if user.username.lower() != loginname.strip().lower():  # an e-mail address is not a login name here
        raise errors.WrongPasswordError("Wrong login name or password.")
    user_assert_can_sign_in(user)
