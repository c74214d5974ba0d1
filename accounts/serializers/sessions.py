"""Sessions: the signed-in terminals of a user, as /auth lists them."""

from typing import Any

from rest_framework import serializers

from accounts.models import Session
from accountsite.serializers import ModelSerializer, instant


class SessionSerializer(ModelSerializer):
    """A signed-in terminal; written by hand for the reason UserSerializer (users.py) is."""

    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ["id", "terminal", "created_at", "last_seen_at", "ip", "user_agent", "current"]

    def get_current(self, session: Session) -> bool:
        return session.pk == self.context.get("current_session_id")

    def to_representation(self, session: Session) -> dict[str, Any]:
        return {"id": str(session.pk), "terminal": session.terminal,
                "created_at": instant(session.created_at),
                "last_seen_at": instant(session.last_seen_at), "ip": session.ip,
                "user_agent": session.user_agent, "current": self.get_current(session)}
