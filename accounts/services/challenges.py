"""Sign-ins waiting for their second factor: the `mfa_token` a right password earns when MFA is on.

The token is 256 random bits; only its SHA-256 is kept, as a ticket (accountsite.tickets: the shared cache,
else the database) for MFA_TOKEN_SECONDS, so every worker and host agrees on it and it dies on its own. It
is used up by the sign-in it finishes (a wrong code leaves it, but counts toward the account's lockout), and
its factors are checked one request at a time (two racing with two recovery codes must not use up both). It
remembers a fingerprint of the password hash it was earned with: a password change in between voids it, as
it voids a sign-in made with the old one.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import MfaMethod, User
from accounts.services import mfa, passkeys
from accounts.services.sessions import account_failures_clear, user_assert_can_sign_in
from accountsite import errors
from accountsite.tickets import ticket_add, ticket_put, ticket_read, ticket_take


@dataclass(frozen=True)
class Challenge:
    token: str
    methods: list[MfaMethod]
    expires_at: datetime
    webauthn: dict | None = None  # the assertion options, when the account has passkeys

    def as_reply(self) -> dict:
        reply: dict[str, Any] = {"mfa_required": True, "mfa_token": self.token, "methods": self.methods,
                                 "expires_at": self.expires_at}
        if self.webauthn is not None:
            reply["webauthn"] = self.webauthn
        return reply


@dataclass(frozen=True)
class Pending:
    """What the finished sign-in continues with."""

    user: User
    terminal: str
    method: str
    extra: dict = field(default_factory=dict)  # what the first step asked for besides (seed 001's target)


_EXPIRED = "This sign-in has expired; sign in again with your password."
# How long a check holds the sign-in's lock at most (a worker that dies in the middle of one frees it then).
CHECK_SECONDS = 30


def _key(token: str) -> str:
    return f"mfa-challenge:{hashlib.sha256(token.encode()).hexdigest()}"


def _fingerprint(user: User) -> str:
    """What a pending challenge is bound to: the password it was earned with, and the account's last status
    change (an account frozen meanwhile, even if restored since, starts again with its password)."""
    changed = user.status_changed_at.isoformat() if user.status_changed_at else ""
    return hashlib.sha256(f"{user.password}|{changed}".encode()).hexdigest()


def challenge_issue(*, user: User, methods: list[MfaMethod], terminal: str, extra: dict | None = None,
                    now: datetime | None = None) -> Challenge:
    """A short-lived token for finishing this sign-in with a second factor."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    options = passkeys.assertion_options(user=user) if MfaMethod.WEBAUTHN in methods else None
    ticket_put(_key(token), {"uid": user.pk, "pw": _fingerprint(user), "terminal": terminal, "extra": extra or {},
                             "webauthn": options.challenge if options else None}, settings.MFA_TOKEN_SECONDS)
    return Challenge(token=token, methods=methods, expires_at=now + timedelta(seconds=settings.MFA_TOKEN_SECONDS),
                     webauthn=options.public if options else None)


def challenge_finish(*, token: str, ip: str, code: str = "", recovery_code: str = "",
                     assertion: dict | None = None, now: datetime | None = None) -> Pending:
    """Checks the second factor for the sign-in `token` names and uses the token up. An unknown, expired
    or used token is 7005; a wrong factor counts toward the lockout (mfa.second_factor_verify)."""
    key = _key(token)
    state = ticket_read(key)
    user = User.objects.filter(pk=state["uid"]).first() if state else None
    if state is None or user is None or state["pw"] != _fingerprint(user):
        raise errors.NotAuthenticatedError(_EXPIRED)
    user_assert_can_sign_in(user)
    # One check at a time: a factor is used up when it is right (a recovery code, a TOTP step), so of two
    # requests racing with right factors the second would spend its factor on a token already used.
    if not ticket_add(f"{key}:checking", True, CHECK_SECONDS):
        raise errors.TooManyRequestsError("This sign-in's second factor is being checked; try again in a moment.",
                                          retry_after=1)
    try:
        # A request that read the ticket while another's check used it up finds it gone only now.
        if ticket_read(key) is None:
            raise errors.NotAuthenticatedError(_EXPIRED)
        if assertion is not None:
            if not state["webauthn"]:
                raise errors.InvalidParametersError("This account has no passkey.")
            passkeys.assertion_verify(user=user, ip=ip, credential=assertion, challenge=state["webauthn"], now=now)
            method: str = MfaMethod.WEBAUTHN
        else:
            method = mfa.second_factor_verify(user=user, ip=ip, code=code, recovery_code=recovery_code, now=now)
        # Single use: the check that deletes the token goes on.
        if not ticket_take(key):
            raise errors.NotAuthenticatedError(_EXPIRED)
    finally:
        ticket_take(f"{key}:checking")
    account_failures_clear(user)
    return Pending(user=user, terminal=state["terminal"], method=method, extra=state["extra"])
