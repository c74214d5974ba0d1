"""The user's security log, as the API shows it."""

from rest_framework import serializers

from accounts.models import AuditEvent
from accountsite.serializers import ModelSerializer


class SecurityEventSerializer(ModelSerializer):
    """One row of the user's security log: where a sign-in came from, who made a change ("you", "an
    operator" or "the system"), and the row's other details."""

    description = serializers.CharField(source="action_label")
    ip = serializers.SerializerMethodField()
    terminal = serializers.SerializerMethodField()
    user_agent = serializers.SerializerMethodField()
    by = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "description", "created_at", "ip", "terminal", "user_agent", "by", "details"]

    def get_ip(self, event: AuditEvent) -> str | None:
        """Where the user, or whoever tried their password, came from; never an operator's address, which the
        back office hides even from other operators (accounts.admin.sessions)."""
        return event.ip if event.actor_id in (None, event.user_id) else None

    def get_terminal(self, event: AuditEvent) -> str:
        return str(event.data.get("terminal", ""))

    def get_user_agent(self, event: AuditEvent) -> str:
        return str(event.data.get("user_agent", ""))

    def get_by(self, event: AuditEvent) -> str:
        if event.actor_id is None:
            return "system"
        return "you" if event.actor_id == event.user_id else "operator"

    def get_details(self, event: AuditEvent) -> dict:
        return {key: value for key, value in event.data.items() if key not in ("terminal", "user_agent", "device")}
