"""Accounts: creation and sign-up, profiles, status, roles, identities, and operators' changes.

An account is opened with its plan (tier, wallet, quotas) in the same transaction, by the app that sells
plans (accounts.plans); operators' changes of role or tier go the same way.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.mail import mail_send
from accounts.models import RevokeReason, Role, SecretPurpose, User, UserStatus
from accounts.oauth.applications import IssuedSecret, developer_enable, developer_mode_check
from accounts.oauth.revocation import owned_applications_revoke
from accounts.plans import KEEP, plans
from accounts.services.codes import activation_send, email_masked, secret_redeem, secrets_void
from accounts.services.passwords import password_check, password_set, password_validate
from accounts.services.sessions import (
    password_only_check,
    session_start,
    user_credentials_revoke,
)
from accounts.tokens import TokenPair
from accountsite import errors
from accountsite.audit import AuditAction, audit_record


def identity_assert_free(*, username: str, email: str | None, user: User | None = None) -> None:
    """An account's names (`user`'s, or a new account's) must not collide with anyone else's, in either
    field: sign-in accepts a login name or an e-mail address, so a login name equal to someone's address
    (or the reverse) would squat on it. Deleted users keep their names until purged, so they count. The
    caller's transaction holds both names (User.objects.lock_names) until it commits."""
    taken = User.objects.first_name_claimed(username, email, by_other_than=user)
    if taken is not None:
        raise errors.LoginNameTakenError() if taken == username else errors.EmailTakenError()


def integrity_as_service_error(exc: IntegrityError) -> errors.ServiceError:
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
        if settings.ACCOUNTS_ACTIVATION_REQUIRED and not email:  # it could never be activated, nor its name freed
            raise errors.InvalidParametersError(
                "Invalid parameters: email: required, as the account is activated with a code sent there.",
                error={"email": ["Required: the account is activated with a code sent to this address."]})
        status = UserStatus.INACTIVE if settings.ACCOUNTS_ACTIVATION_REQUIRED else UserStatus.ACTIVE
    user = User(username=username, email=email or None, status=status, is_staff=is_staff, **profile)
    password_validate(password, user)
    identity_assert_free(username=username, email=user.email)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration took the name or address first
        raise integrity_as_service_error(exc) from None
    plans().account_open(user=user, now=user.registered_at)
    audit_record(action=AuditAction.USER_CREATE, user=user, actor=actor, ip=ip)
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
        audit_record(action=AuditAction.USER_PROFILE, user=user, actor=actor, fields=changed)
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
    locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)  # as User.objects.hold: not FOR UPDATE
    if locked.status != status:
        previous = locked.status
        User.objects.filter(pk=user.pk).update(status=status, status_changed_at=now)
        user.status, user.status_changed_at = status, now
        audit_record(action=AuditAction.USER_STATUS, user=user, actor=actor, previous=previous, status=status,
                     reason=reason)
    if status != UserStatus.ACTIVE:
        # An account that may not sign in keeps nothing that works in its name: its sign-ins, the tokens
        # apps hold for it, the tokens its own apps were given, and the codes its mailbox received.
        user_credentials_revoke(user=user, reason=RevokeReason.leaving_active(status), now=now)
        owned_applications_revoke(owner=user, now=now)
        secrets_void(user=user, now=now)
    return user


def user_delete(*, user: User, actor: User | None, now: datetime | None = None) -> User:
    """Soft delete (status 7): the login name stays reserved until an operator purges the account."""
    return user_status_set(user=user, status=UserStatus.DELETED, actor=actor, reason="deleted", now=now)


def user_unregister(*, password: str, ip: str, user: User | None = None, login: str = "") -> User:
    """Seed 003's unregister: by login name and password, or by the signed-in user re-entering theirs."""
    if user is None:
        user = password_only_check(login=login, password=password, ip=ip)
    else:
        password_check(user=user, password=password, ip=ip)
    return user_delete(user=user, actor=user)


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


@transaction.atomic
def user_role_set(*, user: User, role: str, actor: User | None) -> User:
    """role "admin" is the staff flag; "common" also drops superuser, which would otherwise keep it admin."""
    previous = user.role
    user.is_staff = role == Role.ADMIN
    if role != Role.ADMIN:
        user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    if previous != user.role:
        audit_record(action=AuditAction.USER_ROLE, user=user, actor=actor, previous=previous, role=user.role)
    return user


@transaction.atomic
def user_groups_set(*, user: User, groups: Iterable[Group], actor: User | None, ip: str | None = None) -> None:
    """An operator (a superuser: the back office offers it to no one else) gives a user their staff groups,
    the operator powers the groups carry; the audit row names them before and after."""
    previous = sorted(user.groups.values_list("name", flat=True))
    user.groups.set(groups)
    current = sorted(user.groups.values_list("name", flat=True))
    if previous != current:
        audit_record(action=AuditAction.USER_GROUPS, user=user, actor=actor, ip=ip, previous=previous,
                     groups=current)


@transaction.atomic
def user_identity_set(*, user: User, actor: User | None, ip: str | None = None, now: datetime | None = None,
                      **identity: Any) -> User:
    """An operator renames a user or sets their address (`username`, `email`, `email_verified`). The
    names must stay free in both fields (as at sign-up); a new address voids the codes mailed to the old,
    which is told of the change (the address is the way to a password reset)."""
    previous_email = user.email
    username = identity.get("username", user.username)
    email = identity.get("email", user.email) or None
    identity_assert_free(username=username, email=email, user=user)
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
        raise integrity_as_service_error(exc) from None
    if "email" in changed:
        secrets_void(user=user, now=now)
        if previous_email and not user.is_deleted:  # whoever left is not written to, as everywhere
            mail_send(template="email_set_notice", to=previous_email,
                      context={"user": user, "new_email_masked": email_masked(email) if email else "none"})
    audit_record(action=AuditAction.USER_IDENTITY, user=user, actor=actor, ip=ip, fields=sorted(set(changed)))
    return user


def user_tier_record(*, user: User, user_type: int, invalid_at: datetime | None, user_type_after: int) -> None:
    """Records the tier in force on the account, as membership (which owns tiers) tells it: `user_type`
    until `invalid_at`, then `user_type_after`."""
    user.user_type, user.invalid_at, user.user_type_after = user_type, invalid_at, user_type_after
    User.objects.filter(pk=user.pk).update(user_type=user_type, invalid_at=invalid_at, user_type_after=user_type_after)


@transaction.atomic
def user_admin_create(*, actor: User | None, role: str = Role.COMMON, user_type: int | None = None,
                      **fields: Any) -> User:
    """POST /users/{loginname}: a plain sign-up, or an admin's creation with role, status and tier."""
    user = user_create(actor=actor, is_staff=role == Role.ADMIN, **fields)
    if user_type is not None:
        plans().account_plan_assign(user=user, actor=actor, user_type=user_type, expires_at=KEEP,
                                    role_changed=False)
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
        password_set(user=user, password=changes["password"], actor=actor, reason=RevokeReason.PASSWORD_SET, now=now,
                     ip=ip)
    role_changed = "role" in changes and changes["role"] != user.role
    if role_changed:
        user_role_set(user=user, role=changes["role"], actor=actor)
    if role_changed or "user_type" in changes or "invalid_at" in changes:
        plans().account_plan_assign(user=user, actor=actor, user_type=changes.get("user_type"),
                                    expires_at=changes.get("invalid_at", KEEP), role_changed=role_changed)
    if "status" in changes:
        user_status_set(user=user, status=changes["status"], actor=actor, reason="admin", now=now)
    return user
