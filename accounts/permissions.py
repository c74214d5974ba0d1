"""Who may do what with an account."""

from typing import Any

from rest_framework.permissions import BasePermission

from accountsite.errors import PermissionDeniedError


def assert_fields_allowed(data: Any, serializer_class: type) -> None:
    """Refuses a request that tries to set any field the caller may not set (CONTRACT section 3: 7006)."""
    aliases = getattr(serializer_class, "aliases", {})
    allowed = set(serializer_class().fields) | {spelling for spellings in aliases.values() for spelling in spellings}
    extra = sorted(set(data) - allowed) if hasattr(data, "keys") else []
    if extra:
        raise PermissionDeniedError(f"You may not change: {', '.join(extra)}.", error={"fields": extra})


class IsAdmin(BasePermission):
    """Admin role only (staff or superuser); anonymous callers get 7005, others 7006."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


def assert_self_or_admin(viewer, user) -> None:
    """For a user the viewer may see (a stranger to a deleted one got 404 already): 7006 unless it is
    their own record or they are an admin."""
    if viewer.pk != user.pk and not viewer.is_admin:
        raise PermissionDeniedError("You may only change your own account.")


def assert_self(viewer, user) -> None:
    if viewer.pk != user.pk:
        raise PermissionDeniedError("Only the account's own user may do this.")
