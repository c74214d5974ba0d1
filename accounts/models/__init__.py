"""Accounts data, by noun: `users` (the user, their status and manager, the validators of their fields),
`sessions`, `audit` (the audit trail), `codes` (e-mailed codes, what outlives an OAuth authorization code)
and `factors` (second factors, passkeys). The rest of the project imports them from here."""

# isort: off
# In the order the models were declared when they shared one module: Django registers them in import order,
# and creates their content types and permissions in it.
from accounts.models.users import (
    ADMINISTRATORS,
    EMAIL_ASCII_VALIDATOR,
    EMAIL_VALIDATORS,
    GITHUB_LOGIN_VALIDATOR,
    LOGIN_NAME_VALIDATOR,
    Role,
    User,
    UserManager,
    UserStatus,
    may_name_an_account,
)
from accounts.models.sessions import RevokeReason, Session
from accounts.models.audit import AuditEvent
from accounts.models.codes import AccountSecret, OAuthCode, SecretPurpose
from accounts.models.factors import MfaMethod, Passkey, RecoveryCode, TotpDevice, WebAuthnHandle
# isort: on

__all__ = [
    "ADMINISTRATORS",
    "EMAIL_ASCII_VALIDATOR",
    "EMAIL_VALIDATORS",
    "GITHUB_LOGIN_VALIDATOR",
    "LOGIN_NAME_VALIDATOR",
    "AccountSecret",
    "AuditEvent",
    "MfaMethod",
    "OAuthCode",
    "Passkey",
    "RecoveryCode",
    "RevokeReason",
    "Role",
    "SecretPurpose",
    "Session",
    "TotpDevice",
    "User",
    "UserManager",
    "UserStatus",
    "WebAuthnHandle",
    "may_name_an_account",
]
