"""Shared reads of accounts data."""

from django.contrib.auth.hashers import make_password
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import MfaMethod, Passkey, RecoveryCode, Session, TotpDevice, User, UserStatus
from accountsite import policy
from accountsite.errors import NotAuthenticatedError, NotFoundError
from accountsite.policy import ANOTHER_ACCOUNT, Caller, Op


def user_for_login(login: str) -> User | None:
    """The user a login string names: a login name first, else an e-mail address (both case-insensitive).

    Deleted accounts are invisible here, so signing in with one looks exactly like an unknown name.
    """
    login = login.strip()
    if not login:
        return None
    candidates = list(
        User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login))
        .exclude(status=UserStatus.DELETED)[:2]
    )
    for user in candidates:
        if user.username.lower() == login.lower():
            return user
    return candidates[0] if candidates else None


def burn_password_hash(password: str) -> None:
    """Spend the time of one password hash, for callers whose user does not exist."""
    make_password(password)


def live_session(session_id: str) -> Session | None:
    """The session with its user in one query, or None if it is unknown, revoked or expired."""
    return (
        Session.objects.select_related("user")
        .filter(pk=session_id, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


def live_sessions_of(user: User) -> QuerySet[Session]:
    return Session.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()).order_by(
        "-last_seen_at"
    )


def users_in_order() -> QuerySet[User]:
    """Users in a stable order (every user reply reads its one row, tier included)."""
    return User.objects.order_by("id")


def user_visible_to(loginname: str, caller: Caller) -> User:
    """The user named `loginname` (case-insensitively), as `caller` may see them: deleted accounts exist
    only for operators who may view users; to anyone else they are unknown (404)."""
    users = users_in_order().filter(username__iexact=loginname)
    if not policy.allows(caller, Op.USER_VIEW, ANOTHER_ACCOUNT):
        users = users.exclude(status=UserStatus.DELETED)
    user = users.first()
    if user is None:
        raise NotFoundError("No such user.")
    return user


def user_acted_on(loginname: str, caller: Caller, *, op: Op, seen_with: Op) -> User:
    """The user a path names, if `caller` may do `op` to them. A caller who may not do `seen_with` to them
    (read that part of their account) gets the 404 of an unknown name, so a stranger learns nothing; one
    who may read it but not do `op` gets 7006."""
    user = user_visible_to(loginname, caller)
    if not policy.allows(caller, seen_with, user):
        raise NotFoundError("No such user.")
    policy.authorize(caller, op, user)
    return user


def signed_in(request: HttpRequest) -> User:
    """The signed-in user of a request that the policy let through as such (7005 if there is none)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticatedError()
    return user


def mfa_methods(user: User) -> list[MfaMethod]:
    """The second factors `user` may sign in with (none: MFA is off), in one query."""
    flags = User.objects.filter(pk=user.pk).values_list(
        Exists(TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)),
        Exists(Passkey.objects.filter(user=OuterRef("pk"))),
        Exists(RecoveryCode.objects.filter(user=OuterRef("pk"), used_at__isnull=True)),
    ).first()
    totp, passkey, recovery = flags or (False, False, False)
    if not (totp or passkey):
        return []
    return [method for method, present in ((MfaMethod.TOTP, totp), (MfaMethod.WEBAUTHN, passkey),
                                           (MfaMethod.RECOVERY_CODE, recovery)) if present]
