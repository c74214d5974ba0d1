"""The audit trail: one append-only row per account change."""

from django.db import models
from django.utils import timezone

from accounts.models.users import User, _minute
from accountsite.audit import AuditAction


class AuditEvent(models.Model):
    """Append-only record of account changes, written in the same transaction as the change."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    action = models.CharField(max_length=48, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A user's latest events (the user page, History), and one action over time (the dashboard).
            models.Index(fields=["user", "-created_at", "-id"], name="accounts_audit_user_recent"),
            models.Index(fields=["action", "created_at"], name="accounts_audit_action_time"),
        ]

    def __str__(self) -> str:
        """ "2026-11-29 17:04 · alice · status changed"."""
        return f"{_minute(self.created_at)} · {self.user or 'no account'} · {self.action_label}"

    @property
    def action_label(self) -> str:
        return AuditAction(self.action).label if self.action in AuditAction.values else self.action
