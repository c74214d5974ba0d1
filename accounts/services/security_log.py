"""The user's security log: what GET /auth/events shows (sign-ins with where from, credential and factor
changes, app authorizations, lockouts), the sign-in row and its new-device notice, and its retention.

A sign-in comes from a "device": its terminal, its user agent's family and its IP prefix (/24, IPv6 /48).
A device not seen signing in for ACCOUNTS_SECURITY_LOG_DAYS gets the user a mail saying when and where,
with a link that ends that session; an account's very first sign-in does not.
"""

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.mail import mail_send
from accounts.models import AuditEvent, Session, User
from accountsite.audit import AuditAction, audit_event

# What the user reads about their own account. Operators' other rows (quotas, tiers, profiles) are not
# security events and stay in the back office's history.
SECURITY_LOG = frozenset({
    AuditAction.SESSION_LOGIN, AuditAction.SESSION_LOGOUT, AuditAction.SESSION_REVOKE, AuditAction.LOGIN_FAILED,
    AuditAction.LOGIN_LOCKOUT, AuditAction.PASSWORD_CHANGE, AuditAction.PASSWORD_RESET,
    AuditAction.PASSWORD_ADMIN_SET, AuditAction.EMAIL_CHANGE_REQUEST, AuditAction.EMAIL_CHANGE,
    AuditAction.USER_STATUS, AuditAction.MFA_TOTP_ENABLE, AuditAction.MFA_TOTP_DISABLE,
    AuditAction.MFA_RECOVERY_ISSUE, AuditAction.MFA_RECOVERY_USE, AuditAction.MFA_FAILED, AuditAction.MFA_RESET,
    AuditAction.PASSKEY_ADD, AuditAction.PASSKEY_RENAME, AuditAction.PASSKEY_REMOVE, AuditAction.OAUTH_AUTHORIZE,
})
# Sign-in activity, pruned after the retention period; changes to the account stay for the back office.
SIGN_IN_ACTIVITY = (AuditAction.SESSION_LOGIN, AuditAction.SESSION_LOGOUT, AuditAction.LOGIN_FAILED,
                    AuditAction.LOGIN_LOCKOUT, AuditAction.MFA_FAILED)

# Most specific first: Edge and Opera also say Chrome, Chrome also says Safari.
_FAMILIES = (("Edg", "Edge"), ("OPR", "Opera"), ("Firefox", "Firefox"), ("Chrome", "Chrome"),
             ("Safari", "Safari"))


def _retention() -> timedelta:
    return timedelta(days=settings.ACCOUNTS_SECURITY_LOG_DAYS)


def user_agent_family(user_agent: str) -> str:
    """"Chrome", "Firefox", ... for browsers, else the first product name ("curl", "python-requests")."""
    for marker, family in _FAMILIES:
        if f"{marker}/" in user_agent:
            return family
    match = re.match(r"\s*([A-Za-z][\w.-]*)", user_agent)
    return match.group(1)[:32] if match else ""


def ip_prefix(ip: str | None) -> str:
    if not ip:
        return ""
    address = ipaddress.ip_address(ip)
    return str(ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False))


def device_of(terminal: str, user_agent: str, ip: str | None) -> str:
    return f"{terminal}|{user_agent_family(user_agent)}|{ip_prefix(ip)}"


@dataclass(frozen=True)
class Replaced:
    """A live session a sign-in ended on the same terminal: its device, and when it signed in."""

    user_agent: str
    ip: str | None
    created_at: datetime


def sign_in_event(*, session: Session, now: datetime, replaced: Sequence[Replaced] = ()) -> AuditEvent:
    """The `session.login` row of a new session (terminal, user agent, device), not written yet (the caller
    writes it with the session: accountsite.db.insert_together), and the new-device mail.

    A device is new when no sign-in from it is on record for the retention period. The session this
    sign-in replaced on the same terminal answers that without a query when it came from the same device
    within the period (the usual case: an app signing in again); otherwise the audit rows are asked."""
    user, device = session.user, device_of(session.terminal, session.user_agent, session.ip)
    since = now - _retention()
    if any(old.created_at >= since and device_of(session.terminal, old.user_agent, old.ip) == device
           for old in replaced):
        seen = signed_in_before = True
    else:
        logins = AuditEvent.objects.filter(user=OuterRef("pk"), action=AuditAction.SESSION_LOGIN)
        seen, signed_in_before = User.objects.filter(pk=user.pk).values_list(
            Exists(logins.filter(created_at__gte=since, data__device=device)), Exists(logins),
        ).get()
    if signed_in_before and not seen and user.email:
        mail_send(template="new_device", to=user.email, context={
            "user": user, "when": now, "session": session, "family": user_agent_family(session.user_agent),
            "end_url": settings.ACCOUNTS_SESSIONS_URL.format(session=session.pk),
        })
    return audit_event(action=AuditAction.SESSION_LOGIN, user=user, actor=user, ip=session.ip,
                       terminal=session.terminal, user_agent=session.user_agent, device=device)


def security_events(*, user: User, now: datetime | None = None) -> QuerySet[AuditEvent]:
    """The user's own security log, newest first, over the retention period."""
    now = now or timezone.now()
    return AuditEvent.objects.filter(user=user, action__in=SECURITY_LOG, created_at__gte=now - _retention())


@transaction.atomic
def security_events_prune(*, now: datetime | None = None) -> int:
    """Deletes the sign-in activity older than the retention period; answers how many rows went."""
    cutoff = (now or timezone.now()) - _retention()
    deleted, _ = AuditEvent.objects.filter(action__in=SIGN_IN_ACTIVITY, created_at__lt=cutoff).delete()
    return deleted
