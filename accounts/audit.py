"""The audit trail: every service that changes an account writes one row in its own transaction."""

import ipaddress
from typing import Any

from accounts.models import AuditEvent


def valid_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def audit_record(*, action: str, user: Any, actor: Any = None, ip: str | None = None, **data: Any) -> AuditEvent:
    return AuditEvent.objects.create(action=action, user=user, actor=actor, ip=valid_ip(ip), data=data)
