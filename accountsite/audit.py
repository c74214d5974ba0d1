"""The audit trail: every service that changes an account writes one row, in the same transaction.

The rows live in accounts' AuditEvent table (an app's model); this module is the one way to write them,
so every app records its changes the same way without importing the apps above it.

A row's IP is the one its service was given, else the address of the request being served:
`AuditIPMiddleware` holds the client's address (accountsite.requests.client_ip) in a context variable for
the length of each request, so services need no `ip` parameter to record it. Outside a request (commands,
jobs) there is none, and the row has no IP.
"""

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.apps import apps
from django.db import models
from django.http import HttpRequest, HttpResponse

from accountsite.requests import client_ip


class AuditAction(models.TextChoices):
    """Every action the trail records, by area."""

    USER_CREATE = "user.create", "account created"
    USER_IMPORT = "user.import", "account imported"
    USER_PROFILE = "user.profile_update", "profile changed"
    USER_IDENTITY = "user.identity", "login name or e-mail set by an operator"
    USER_STATUS = "user.status", "status changed"
    USER_ROLE = "user.role", "role changed"
    USER_GROUPS = "user.groups", "operator groups changed"
    USER_PURGE = "user.purge", "deleted account purged"
    DEVELOPER_ENABLE = "user.developer_enable", "developer mode turned on"
    SESSION_LOGIN = "session.login", "signed in"
    SESSION_LOGOUT = "session.logout", "signed out"
    SESSION_REVOKE = "session.revoke", "session ended by its user or an operator"
    LOGIN_FAILED = "session.login_failed", "sign-in refused: wrong login name or password"
    LOGIN_LOCKOUT = "session.lockout", "sign-in refused, and sign-ins locked: too many failures"
    PASSWORD_CHANGE = "password.change", "password changed"
    PASSWORD_RESET = "password.reset", "password reset by e-mail"
    PASSWORD_ADMIN_SET = "password.admin_set", "password set by an operator"
    EMAIL_CHANGE_REQUEST = "email.change_request", "e-mail change asked"
    EMAIL_CHANGE = "email.change", "e-mail changed"
    MFA_TOTP_ENABLE = "mfa.totp_enable", "authenticator app turned on"
    MFA_TOTP_DISABLE = "mfa.totp_disable", "authenticator app turned off"
    MFA_RECOVERY_ISSUE = "mfa.recovery_issue", "recovery codes issued"
    MFA_RECOVERY_USE = "mfa.recovery_use", "signed in with a recovery code"
    MFA_FAILED = "mfa.failed", "sign-in refused: wrong second factor"
    MFA_RESET = "mfa.reset", "second factors turned off by an operator"
    PASSKEY_ADD = "mfa.passkey_add", "passkey added"
    PASSKEY_RENAME = "mfa.passkey_rename", "passkey renamed"
    PASSKEY_REMOVE = "mfa.passkey_remove", "passkey removed"
    OAUTH_AUTHORIZE = "oauth.authorize", "app authorized"
    OAUTH_APP_CREATE = "oauth.app_create", "OAuth app created"
    OAUTH_APP_UPDATE = "oauth.app_update", "OAuth app changed"
    OAUTH_APP_ROTATE_SECRET = "oauth.app_rotate_secret", "OAuth app secret rotated"
    OAUTH_APP_REVOKE = "oauth.app_revoke", "OAuth app's tokens revoked"
    OAUTH_CREDENTIALS_REVOKE = "oauth.credentials_revoke", "OAuth tokens or codes revoked by an operator"
    OAUTH_APP_DELETE = "oauth.app_delete", "OAuth app deleted"
    OAUTH_SEED_EXCHANGE = "oauth.seed_exchange", "seed 001 code exchanged"
    QUOTA_CREATE = "quota.create", "quota record created"
    QUOTA_LIMITS = "quota.limits", "quota limits changed"
    QUOTA_USE_SET = "quota.use_set", "quota use set"
    QUOTA_USE_ADD = "quota.use_add", "quota use added"
    QUOTA_RECOUNT = "quota.recount", "quota use corrected by a recount"
    MEMBERSHIP_ASSIGN = "membership.assign", "tier assigned by an operator"
    MEMBERSHIP_RENEW = "membership.renew", "tier renewed"
    MEMBERSHIP_UPGRADE = "membership.upgrade", "tier upgraded"
    MEMBERSHIP_CHANGE = "membership.change", "tier bought"
    MEMBERSHIP_EXPIRE = "membership.expire", "tier expired"
    WALLET_TOPUP = "wallet.topup", "wallet topped up"


# Rows that record a refused request rather than a change: a refusal changes nothing but these.
REFUSALS = frozenset({AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT, AuditAction.MFA_FAILED})


def valid_ip(ip: str | None) -> str | None:
    """`ip` if it is an IP address (what the audit and session rows can store), else None. An IPv6 zone
    (`fe80::1%eth0`) names an interface of the sender's own host: it is dropped (PostgreSQL's inet refused a
    long one, a 500)."""
    try:
        return str(ipaddress.ip_address(ip)).partition("%")[0] if ip else None
    except ValueError:
        return None


_request_ip: ContextVar[str | None] = ContextVar("audit_request_ip", default=None)


def request_ip() -> str | None:
    """The client address of the request being served (None outside a request)."""
    return _request_ip.get()


class AuditIPMiddleware:
    """Holds the client's address while a request is served, for the audit rows written meanwhile; it is
    cleared when the request ends, whatever happens, so no later row of this thread inherits it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_ip_held(request):
            return self.get_response(request)


@contextmanager
def request_ip_held(request: HttpRequest) -> Iterator[None]:
    """`request`'s client address is the audit rows' for the length of the block (AuditIPMiddleware's work,
    for the paths that answer before the middleware: accountsite.fastpath)."""
    token = _request_ip.set(client_ip(request))
    try:
        yield
    finally:
        _request_ip.reset(token)


def audit_event(*, action: AuditAction, user: Any, actor: Any = None, ip: str | None = None, **data: Any) -> Any:
    """One audit row about `user`, done by `actor` (None: the system) from `ip` (by default the address of
    the request being served), with `data`; not written yet (audit_record writes it)."""
    event_model = apps.get_model("accounts", "AuditEvent")
    return event_model(action=action, user=user, actor=actor, ip=valid_ip(ip if ip is not None else request_ip()),
                       data=data)


def audit_record(*, action: AuditAction, user: Any, actor: Any = None, ip: str | None = None, **data: Any) -> Any:
    """Writes one audit row (see audit_event)."""
    event = audit_event(action=action, user=user, actor=actor, ip=ip, **data)
    event.save(force_insert=True)
    return event
