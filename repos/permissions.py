"""Who may read and write a repository, in accountsite.policy's terms.

Anyone reads a public repository of a live account. Private ones, and those of deleted accounts, are
read by their owner (an app with `read` for them) and by operators who may view repositories; to
everyone else they do not exist (404). Writers are the owner (an app with `write`) and operators with
the change or delete permission.
"""

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import Q

from accounts.models import UserStatus
from accountsite import policy
from accountsite.errors import NotFoundError
from accountsite.policy import ANOTHER_ACCOUNT, Caller, Op
from accountsite.ratelimit import AddressLimit, Limit, reserve_together, settle
from repos.models import Repository, Visibility


def readable_by(caller: Caller) -> Q:
    """The repositories `caller` may read, as a filter."""
    if policy.allows(caller, Op.REPO_READ, ANOTHER_ACCOUNT):
        return Q()
    visible = Q(visibility=Visibility.PUBLIC) & ~Q(owner__status=UserStatus.DELETED)
    if policy.allows(caller, Op.REPO_READ):
        visible |= Q(owner=caller.user)
    return visible


def can_read(caller: Caller, repo: Repository) -> bool:
    if repo.visibility == Visibility.PUBLIC and repo.owner.status != UserStatus.DELETED:
        return True
    return policy.allows(caller, Op.REPO_READ, repo.owner)


def assert_can(caller: Caller, op: Op, repo: Repository) -> None:
    """`op` (a write or a delete) on the repository; a caller who may not even read it learns nothing (404)."""
    if not can_read(caller, repo):
        raise NotFoundError("No such repository.")
    policy.authorize(caller, op, repo.owner)


# Wrong secrets count like failed logins, per signed-in caller and per client address (one client with many
# accounts gets no more guesses than its address allows), so a private repository's secret cannot be guessed.
SECRET_FAILURES_PER_USER = Limit("repo-secret", "ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", "ACCOUNTS_LOGIN_FAILURE_WINDOW")
SECRET_FAILURES_PER_IP = AddressLimit("repo-secret-ip", "ACCOUNTS_LOGIN_FAILURES_PER_IP",
                                      "ACCOUNTS_LOGIN_FAILURE_WINDOW")


def assert_can_pull(caller: Caller, repo: Repository | None, secret: str, *, ip: str) -> Repository:
    """The repository, if the caller may pull it: readers may; so may any signed-in user presenting a
    private repository's secret. Everyone else gets the 404 a hidden repository gives, whether or not it
    exists and whether or not a secret was tried. A secret tried is always counted and hashed (when there
    is no secret to check it against, hashed all the same), so neither the reply, nor the
    lockout, nor the time tells a private repository with a secret from a name that is not one.

    The attempt takes its slots under both limits before the secret is judged (1029 past either), and a
    right secret gives them back: checked first and counted after, guesses sent in parallel all passed the
    check before any was counted."""
    if repo is not None and can_read(caller, repo):
        return repo
    if not secret:
        raise NotFoundError("No such repository.")
    slots = [(SECRET_FAILURES_PER_IP, ip), (SECRET_FAILURES_PER_USER, str(caller.user.pk))]
    reserve_together(*slots)
    if repo is not None and repo.secret_hash and repo.owner.status != UserStatus.DELETED:
        if check_password(secret, repo.secret_hash):
            settle(release=slots)
            return repo
    else:
        make_password(secret)  # what checking it would cost: one hash
    raise NotFoundError("No such repository.")
