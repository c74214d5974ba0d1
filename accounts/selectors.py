"""Shared reads of accounts data."""

from django.contrib.auth.hashers import make_password
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Session, User, UserStatus
from accountsite.errors import NotFoundError


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


def users_with_membership() -> QuerySet[User]:
    """Users with their membership and tier joined, as every user reply needs (one query, any page size)."""
    return User.objects.select_related("membership__tier").order_by("id")


def user_visible_to(loginname: str, viewer) -> User:
    """The user named `loginname` as `viewer` may see them: deleted accounts exist only for admins."""
    users = users_with_membership().filter(username__iexact=loginname)
    if not getattr(viewer, "is_admin", False):
        users = users.exclude(status=UserStatus.DELETED)
    user = users.first()
    if user is None:
        raise NotFoundError("No such user.")
    return user
