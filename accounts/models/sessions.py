"""Sessions: one per signed-in terminal, and why one ended."""

import uuid
from datetime import datetime

from django.db import models
from django.utils import timezone

from accounts.models.users import User, UserStatus


class RevokeReason(models.TextChoices):
    """Why a session ended."""

    REPLACED = "replaced", "signed in again on this terminal"
    LOGOUT = "logout", "signed out"
    LOGOUT_ALL = "logout_all", "signed out everywhere"
    REVOKED_BY_USER = "revoked_by_user", "ended by the user from another session"
    REFRESH_REUSE = "refresh_reuse", "an old refresh token was replayed"
    ADMIN = "admin", "ended by an operator"
    PASSWORD_CHANGE = "change", "password changed"
    PASSWORD_RESET = "reset", "password reset"
    PASSWORD_SET = "admin_set", "password set by an operator"
    INACTIVE = "status_1", "account inactive"
    INVALID = "status_3", "account invalidated"
    FROZEN = "status_5", "account frozen"
    DELETED = "status_7", "account deleted"
    PURGED = "purged", "account purged"

    @classmethod
    def leaving_active(cls, status: int) -> "RevokeReason":
        """The reason sessions end when an account moves to `status`."""
        return _LEAVING_ACTIVE[status]


_LEAVING_ACTIVE: dict[int, RevokeReason] = {
    UserStatus.INACTIVE: RevokeReason.INACTIVE, UserStatus.INVALID: RevokeReason.INVALID,
    UserStatus.FROZEN: RevokeReason.FROZEN, UserStatus.DELETED: RevokeReason.DELETED,
}


class Session(models.Model):
    """One signed-in terminal. Its id is in every token issued for it; revoking it ends them all."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    terminal = models.CharField(max_length=64, default="default")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True, default="")
    # The jti of the only refresh token that may be used next; an older one is a replay.
    refresh_jti = models.CharField(max_length=64, db_index=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True, default="", choices=RevokeReason.choices)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("revoke_session", "Can revoke other users' sessions")]
        constraints = [
            # One live session per terminal: logging in again on a terminal replaces its session.
            models.UniqueConstraint(
                fields=["user", "terminal"], condition=models.Q(revoked_at__isnull=True),
                name="accounts_session_one_live_per_terminal",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="accounts_session_user_live"),
            # The dashboard's live sessions, among all the ended ones kept.
            models.Index(fields=["expires_at"], condition=models.Q(revoked_at__isnull=True),
                         name="accounts_session_live_expiry"),
        ]

    def __str__(self) -> str:
        """ "alice on phone (live)", "alice on phone (ended: account frozen)"."""
        if self.revoked_at is not None:
            state = f"ended: {self.get_revoke_reason_display() or 'revoked'}"
        else:
            state = "live" if self.is_live else "expired"
        return f"{self.user} on {self.terminal} ({state})"

    @staticmethod
    def live(now: datetime) -> models.Q:
        """The sessions that still sign their holder in at `now`: neither revoked nor expired. (The hot path's
        statement, accounts.selectors._live_session_sql, writes the same test in SQL.)"""
        return models.Q(revoked_at__isnull=True, expires_at__gt=now)

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
