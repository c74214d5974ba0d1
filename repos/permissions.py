"""Who may read and write a repository (CONTRACT section 7)."""

from django.contrib.auth.hashers import check_password
from django.db.models import Q

from accounts.models import UserStatus
from accounts.ratelimit import Limit
from accountsite.errors import NotFoundError, PermissionDeniedError
from repos.models import Repository, Visibility


def _is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


def readable_by(user) -> Q:
    """Readers: anyone for a public repository, the owner and admins for any. Deleted owners' repositories
    are invisible to all but admins, like the owners themselves."""
    if _is_admin(user):
        return Q()
    visible = Q(visibility=Visibility.PUBLIC) & ~Q(owner__status=UserStatus.DELETED)
    if user is not None and user.is_authenticated:
        visible |= Q(owner=user)
    return visible


def can_read(user, repo: Repository) -> bool:
    if _is_admin(user) or (user is not None and user.is_authenticated and repo.owner_id == user.pk):
        return True
    return repo.visibility == Visibility.PUBLIC and repo.owner.status != UserStatus.DELETED


def can_write(user, repo: Repository) -> bool:
    return _is_admin(user) or (user is not None and user.is_authenticated and repo.owner_id == user.pk)


def assert_can_write(user, repo: Repository) -> None:
    """Writers are the owner and admins; a caller who may not even read it learns nothing (404)."""
    if not can_read(user, repo):
        raise NotFoundError("No such repository.")
    if not can_write(user, repo):
        raise PermissionDeniedError("Only the owner or an admin may change this repository.")


# Wrong secrets count per caller like failed logins, so a private repository's secret cannot be guessed.
SECRET_FAILURES_PER_USER = Limit("repo-secret", "ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", "ACCOUNTS_LOGIN_FAILURE_WINDOW")


def assert_can_pull(user, repo: Repository, secret: str) -> None:
    """Readers may pull; so may any signed-in user presenting a private repository's secret. Everyone
    else gets the 404 a hidden repository gives, whether or not a secret was tried."""
    if can_read(user, repo):
        return
    if not secret or not repo.secret_hash or repo.owner.status == UserStatus.DELETED:
        raise NotFoundError("No such repository.")
    SECRET_FAILURES_PER_USER.check(str(user.pk))
    if not check_password(secret, repo.secret_hash):
        SECRET_FAILURES_PER_USER.hit(str(user.pk))
        raise NotFoundError("No such repository.")
