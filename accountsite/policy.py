"""Who may do what: one table that maps every operation to the credential and permission it needs.

Every API view, admin action and sign-in door asks this module; no endpoint decides on its own.

Three kinds of caller exist:

* the account's own user, signed in first-hand (our session JWT, or the admin's browser session);
* an app acting for a user with an OAuth access token, limited to the scopes the user granted;
* an operator (a staff user) acting on someone else's account, limited to their Django permissions.

An app's token never reaches the account-security operations (e-mail, password, deletion, sessions,
second factors, the security log, developer mode, money) nor any operator power, whatever its scopes:
those need the user's own sign-in.
Operators act on other accounts only through the Django permission the operation names, and only a
superuser may touch the password, status or role of another staff member or superuser. With
STAFF_MFA_REQUIRED, an operator whose account has no second factor has no operator power at all, whichever
door (API or back office) they came in by.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings

from accountsite.errors import NotAuthenticatedError, PermissionDeniedError

READ, WRITE = "read", "write"
ANY_SCOPE = "*"  # an app may do it whatever its scopes (it only ever concerns the app's own token)
SUPERUSER = "superuser"  # in place of a Django permission: only a superuser may


class Op(StrEnum):
    """Every operation the service offers, by what it does rather than by its address."""

    # Open to anyone: the credential is in the request itself (a password, an e-mailed code, a client secret).
    SIGN_IN = "sign_in"
    PUBLIC_READ = "public_read"
    # The account's own data; an app may act here within its scopes.
    PROFILE_READ = "profile.read"
    PROFILE_UPDATE = "profile.update"
    REPO_READ = "repo.read"
    REPO_WRITE = "repo.write"
    REPO_DELETE = "repo.delete"
    REPO_PULL = "repo.pull"
    REPO_CREATE = "repo.create"  # an operator creates a repository in another account (the back office)
    QUOTA_READ = "quota.read"
    SIGN_OUT = "session.sign_out"
    # Account security: the user's own first-hand sign-in only.
    SESSIONS = "session.manage"
    PASSWORD_CHANGE = "password.change"  # one's own, with the current password
    EMAIL_CHANGE = "email.change"
    ACCOUNT_DELETE = "account.delete"
    DEVELOPER = "developer"
    MFA_MANAGE = "mfa.manage"  # one's own second factors: authenticator app, recovery codes, passkeys
    SECURITY_LOG = "security_log.read"
    BILLING_READ = "billing.read"
    PURCHASE = "membership.purchase"
    QUOTA_USE_SET = "quota.use_set"
    # Operators only.
    USER_VIEW = "user.view"
    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"  # an operator renames an account (the admin form)
    EMAIL_SET = "email.set"  # an operator sets another account's e-mail address, or marks it verified
    PASSWORD_SET = "password.set"  # an operator sets another account's password
    STATUS_SET = "user.status"
    ROLE_SET = "user.role"
    TIER_SET = "membership.assign"
    QUOTA_CREATE = "quota.create"
    QUOTA_MANAGE = "quota.manage"
    WALLET_TOPUP = "wallet.topup"
    APP_MANAGE = "oauth.app_manage"
    AUDIT_VIEW = "audit.view"
    MFA_RESET = "mfa.reset"  # an operator turns another account's second factors off
    GROUP_MANAGE = "group.manage"  # add, change (grant permissions to) or delete a staff group


@dataclass(frozen=True)
class Rule:
    """What an operation needs.

    `own`: the account's own user may do it to themselves (first-hand). `app_scope`: an app holding this
    scope may do the `own` part for them (None: never an app). `staff`: the Django permission an operator
    needs to do it to another account (None: nobody may). `staff_on_self`: whether that permission also
    covers the operator's own account. `protected`: on a staff or superuser account only a superuser may.
    `anyone`: no sign-in needed at all.
    """

    own: bool = False
    app_scope: str | None = None
    staff: str | None = None
    staff_on_self: bool = True
    protected: bool = False
    anyone: bool = False


POLICY: Mapping[Op, Rule] = {
    Op.SIGN_IN: Rule(anyone=True),
    Op.PUBLIC_READ: Rule(anyone=True),
    Op.PROFILE_READ: Rule(own=True, app_scope=READ, staff="accounts.view_user"),
    Op.PROFILE_UPDATE: Rule(own=True, app_scope=WRITE, staff="accounts.change_user", protected=True),
    Op.REPO_READ: Rule(own=True, app_scope=READ, staff="repos.view_repository"),
    Op.REPO_WRITE: Rule(own=True, app_scope=WRITE, staff="repos.change_repository"),
    Op.REPO_DELETE: Rule(own=True, app_scope=WRITE, staff="repos.delete_repository"),
    Op.REPO_PULL: Rule(own=True, app_scope=WRITE),
    # A user creates their own through the API (REPO_WRITE); an administrator's account is a superuser's.
    Op.REPO_CREATE: Rule(staff="repos.add_repository", protected=True),
    Op.QUOTA_READ: Rule(own=True, app_scope=READ, staff="quotas.view_quota"),
    # Ending the credential in use: an app may always give up its own token.
    Op.SIGN_OUT: Rule(own=True, app_scope=ANY_SCOPE),
    Op.SESSIONS: Rule(own=True, staff="accounts.revoke_session", protected=True),
    Op.PASSWORD_CHANGE: Rule(own=True),
    Op.EMAIL_CHANGE: Rule(own=True),
    Op.ACCOUNT_DELETE: Rule(own=True, staff="accounts.change_user_status", protected=True),
    Op.DEVELOPER: Rule(own=True),
    Op.MFA_MANAGE: Rule(own=True),
    Op.SECURITY_LOG: Rule(own=True),
    Op.BILLING_READ: Rule(own=True, staff="membership.view_ledgerentry"),
    Op.PURCHASE: Rule(own=True, staff="membership.change_membership", protected=True),
    Op.QUOTA_USE_SET: Rule(own=True, staff="quotas.change_quota", protected=True),
    Op.USER_VIEW: Rule(staff="accounts.view_user"),
    Op.USER_CREATE: Rule(staff="accounts.add_user"),
    Op.USER_UPDATE: Rule(staff="accounts.change_user", protected=True),
    # The address is the way to a password reset: whoever sets it can take the account, so it is the
    # password's power, and an operator's own address changes as anyone's does (EMAIL_CHANGE).
    Op.EMAIL_SET: Rule(staff="accounts.set_user_password", staff_on_self=False, protected=True),
    # An operator's own password changes as anyone's does, with the current one (PASSWORD_CHANGE): a stolen
    # operator token must not set it.
    Op.PASSWORD_SET: Rule(staff="accounts.set_user_password", staff_on_self=False, protected=True),
    # An operator's own role, status and tier are another operator's to change: nobody promotes, freezes
    # or bills themselves (a superuser who made themselves `common` would lock themselves out).
    Op.STATUS_SET: Rule(staff="accounts.change_user_status", staff_on_self=False, protected=True),
    Op.ROLE_SET: Rule(staff=SUPERUSER, staff_on_self=False, protected=True),
    Op.TIER_SET: Rule(staff="membership.change_membership", staff_on_self=False, protected=True),
    Op.QUOTA_CREATE: Rule(staff="quotas.add_quota", protected=True),
    Op.QUOTA_MANAGE: Rule(staff="quotas.change_quota", protected=True),
    # Nobody credits their own wallet, operators included.
    Op.WALLET_TOPUP: Rule(staff="membership.topup_wallet", staff_on_self=False),
    Op.APP_MANAGE: Rule(staff="oauth2_provider.change_application"),
    Op.AUDIT_VIEW: Rule(staff="accounts.view_auditevent"),
    Op.MFA_RESET: Rule(staff="accounts.reset_user_mfa", protected=True),
    # A group's permissions are every member's powers: whoever could change them could give themselves any.
    Op.GROUP_MANAGE: Rule(staff=SUPERUSER),
}


@dataclass(frozen=True)
class Caller:
    """Who is asking, and with which credential. `scopes` is None for the user's own first-hand sign-in,
    and the granted scopes when an app's OAuth token acts for the user."""

    user: Any
    scopes: frozenset[str] | None = None

    @property
    def is_app(self) -> bool:
        return self.scopes is not None

    @classmethod
    def of(cls, request: Any) -> "Caller":
        """The caller of an API request. Credentials say whether they are first-hand (`first_party`); any
        other credential counts as an app's, with the scopes it declares."""
        auth = getattr(request, "auth", None)
        if getattr(auth, "first_party", False) or not request.user.is_authenticated:
            return cls(user=request.user)
        return cls(user=request.user, scopes=frozenset(getattr(auth, "scopes", ())))


class _AnotherAccount:
    """Stands for "some other, ordinary account": asks whether a caller could ever do an operation to
    someone else (the admin uses it to decide which actions to offer)."""

    pk = None
    is_admin = False


ANOTHER_ACCOUNT = _AnotherAccount()


class _AnAdministrator(_AnotherAccount):
    """Stands for "some administrator's account": asks whether a caller could act on any administrator (the
    admin tier, whose holders are all the administrators)."""

    is_admin = True


AN_ADMINISTRATOR = _AnAdministrator()


def _is_protected(target: Any) -> bool:
    return bool(getattr(target, "is_admin", False))


def _holds(user: Any, permission: str) -> bool:
    """Whether an operator holds a Django permission; as in Django's admin, the change permission of a model
    includes its view permission."""
    if user.has_perm(permission):
        return True
    app_label, _, codename = permission.partition(".")
    return codename.startswith("view_") and user.has_perm(f"{app_label}.change_{codename.removeprefix('view_')}")


def refusal(caller: Caller, op: Op, target: Any = None) -> Exception | None:
    """Why `caller` may not do `op` to `target` (None: to their own account), or None if they may."""
    rule = POLICY[op]
    if rule.anyone:
        return None
    user = caller.user
    if user is None or not user.is_authenticated:
        return NotAuthenticatedError()
    on_self = target is None or target.pk == user.pk
    if on_self and rule.own:
        if caller.is_app and rule.app_scope != ANY_SCOPE:
            if rule.app_scope is None:
                return PermissionDeniedError("This needs your own sign-in, not an app's access token.")
            if rule.app_scope not in (caller.scopes or ()):
                return PermissionDeniedError(f"This access token lacks the '{rule.app_scope}' scope.",
                                             error={"scope": rule.app_scope})
        return None
    if caller.is_app:
        return PermissionDeniedError("This needs your own sign-in, not an app's access token.")
    if on_self and rule.staff and not rule.staff_on_self:
        return PermissionDeniedError("Nobody may do this to their own account, operators included.")
    # Operator powers belong to staff accounts only (as in Django's admin); asking anyone else costs no query.
    if rule.staff is None or not user.is_admin:
        return PermissionDeniedError()
    allowed = user.is_superuser if rule.staff == SUPERUSER else _holds(user, rule.staff)
    if not allowed:
        return PermissionDeniedError()
    if settings.STAFF_MFA_REQUIRED and not user.has_second_factor:
        return PermissionDeniedError("Operators must enrol a second factor before using their powers.")
    if rule.protected and not user.is_superuser and _is_protected(user if on_self else target):
        return PermissionDeniedError("Only a superuser may do this to an administrator's account.")
    return None


def allows(caller: Caller, op: Op, target: Any = None) -> bool:
    return refusal(caller, op, target) is None


def could(caller: Caller, op: Op) -> Exception | None:
    """Why `caller` may do `op` to nobody at all (neither their own account nor another), or None. The
    reason given is the one for another account (the caller is not asking about their own), except for an
    app, which never acts on another account: its reason is the one for the user's own (a missing scope)."""
    own = refusal(caller, op)
    return own if own is None or caller.is_app else refusal(caller, op, ANOTHER_ACCOUNT)


def authorize(caller: Caller, op: Op, target: Any = None) -> None:
    """Raises 7005 (not signed in) or 7006 (not allowed) unless `caller` may do `op` to `target`."""
    error = refusal(caller, op, target)
    if error is not None:
        raise error
