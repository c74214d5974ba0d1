"""Who may read and change whose quotas (CONTRACT section 4): the holder themselves, or an admin."""

from accounts.models import User
from accountsite.errors import NotFoundError, PermissionDeniedError
from quotas.selectors import user_by_loginname


def quota_holder(*, caller, loginname: str, admin_only: bool = False) -> User:
    """The user whose quota the path names, if the caller may act on it.

    Another user's quotas are none of a non-admin's business, so they get the same 404 as for an
    unknown name; the holder may read their own record but only admins change limits (7006).
    """
    user = user_by_loginname(loginname, caller=caller)
    if caller.is_admin:
        return user
    if user.pk != caller.pk:
        raise NotFoundError("No such user.")
    if admin_only:
        raise PermissionDeniedError("Only an admin may do this.")
    return user
