"""The audit trail: every service that changes an account writes one row, in the same transaction.

The rows live in accounts' AuditEvent table (an app's model); this module is the one way to write them,
so every app records its changes the same way without importing the apps above it.
"""

import ipaddress
from typing import Any

from django.apps import apps
from django.db import models


class AuditAction(models.TextChoices):
    """Every action the trail records, by area."""

    USER_CREATE = "user.create", "account created"
    USER_IMPORT = "user.import", "account imported"
    USER_PROFILE = "user.profile_update", "profile changed"
    USER_IDENTITY = "user.identity", "login name or e-mail set by an operator"
    USER_STATUS = "user.status", "status changed"
    USER_ROLE = "user.role", "role changed"
    USER_PURGE = "user.purge", "deleted account purged"
    DEVELOPER_ENABLE = "user.developer_enable", "developer mode turned on"
    SESSION_LOGIN = "session.login", "signed in"
    SESSION_LOGOUT = "session.logout", "signed out"
    PASSWORD_CHANGE = "password.change", "password changed"
    PASSWORD_RESET = "password.reset", "password reset by e-mail"
    PASSWORD_ADMIN_SET = "password.admin_set", "password set by an operator"
    EMAIL_CHANGE_REQUEST = "email.change_request", "e-mail change asked"
    EMAIL_CHANGE = "email.change", "e-mail changed"
    OAUTH_APP_CREATE = "oauth.app_create", "OAuth app created"
    OAUTH_APP_UPDATE = "oauth.app_update", "OAuth app changed"
    OAUTH_APP_ROTATE_SECRET = "oauth.app_rotate_secret", "OAuth app secret rotated"
    OAUTH_APP_REVOKE = "oauth.app_revoke", "OAuth app's tokens revoked"
    OAUTH_APP_DELETE = "oauth.app_delete", "OAuth app deleted"
    OAUTH_SEED_EXCHANGE = "oauth.seed_exchange", "seed 001 code exchanged"
    QUOTA_CREATE = "quota.create", "quota record created"
    QUOTA_LIMITS = "quota.limits", "quota limits changed"
    QUOTA_USE_SET = "quota.use_set", "quota use set"
    QUOTA_USE_ADD = "quota.use_add", "quota use added"
    MEMBERSHIP_ASSIGN = "membership.assign", "tier assigned by an operator"
    MEMBERSHIP_RENEW = "membership.renew", "tier renewed"
    MEMBERSHIP_UPGRADE = "membership.upgrade", "tier upgraded"
    MEMBERSHIP_CHANGE = "membership.change", "tier bought"
    MEMBERSHIP_EXPIRE = "membership.expire", "tier expired"
    WALLET_TOPUP = "wallet.topup", "wallet topped up"


def valid_ip(ip: str | None) -> str | None:
    """`ip` if it is an IP address (what the audit and session rows can store), else None."""
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def audit_record(*, action: AuditAction, user: Any, actor: Any = None, ip: str | None = None, **data: Any) -> Any:
    """Writes one audit row about `user`, done by `actor` (None: the system) from `ip`, with `data`."""
    event_model = apps.get_model("accounts", "AuditEvent")
    return event_model.objects.create(action=action, user=user, actor=actor, ip=valid_ip(ip), data=data)
