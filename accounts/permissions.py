"""Who may do what with an account."""

from typing import Any

from accountsite.errors import PermissionDeniedError


def assert_fields_allowed(data: Any, serializer_class: type) -> None:
    """Refuses a request that tries to set any field the caller may not set (CONTRACT section 3: 7006)."""
    allowed = set(serializer_class().fields)
    extra = sorted(set(data) - allowed) if hasattr(data, "keys") else []
    if extra:
        raise PermissionDeniedError(f"You may not change: {', '.join(extra)}.", error={"fields": extra})
