"""Who may see and buy whose membership: anyone reads a tier; only the member and admins see money."""

from accounts.models import User, UserStatus
from accountsite.errors import NotFoundError, PermissionDeniedError


def _is_admin(caller) -> bool:
    return bool(caller is not None and caller.is_authenticated and caller.is_admin)


def member_visible(*, loginname: str, caller) -> User:
    """The named user, if the caller may know it exists (deleted accounts only for admins), else 404."""
    users = User.objects.filter(username__iexact=loginname)
    if not _is_admin(caller):
        users = users.exclude(status=UserStatus.DELETED)
    user = users.first()
    if user is None:
        raise NotFoundError("No such user.")
    return user


def member_for_billing(*, loginname: str, caller) -> User:
    """Cost, purchase and ledger: the member themself or an admin; to anyone else the member does not exist."""
    user = member_visible(loginname=loginname, caller=caller)
    if not (_is_admin(caller) or user.pk == caller.pk):
        raise NotFoundError("No such user.")
    return user


def member_for_topup(*, loginname: str, caller) -> User:
    """Top-ups are operators' work: the member gets 7006, a stranger 404."""
    user = member_for_billing(loginname=loginname, caller=caller)
    if not _is_admin(caller):
        raise PermissionDeniedError("Only an operator can top up a wallet.")
    return user
