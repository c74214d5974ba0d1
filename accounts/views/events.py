"""GET /auth/events: the caller's own security log."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.serializers import SecurityEventSerializer
from accounts.services import security_log
from accountsite.pagination import paginate
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op


class SecurityEventViewSet(PolicyMixin, viewsets.GenericViewSet):
    """Sign-ins, credential and factor changes, app authorizations and lockouts of the last
    ACCOUNTS_SECURITY_LOG_DAYS, newest first; the user's own first-hand sign-in only."""

    operations = {"list": Op.SECURITY_LOG}
    serializer_class = SecurityEventSerializer

    @extend_schema(responses=SecurityEventSerializer(many=True), tags=["auth"])
    def list(self, request: Request) -> Response:
        user = selectors.signed_in(request)
        return paginate(self, security_log.security_events(user=user), SecurityEventSerializer,
                        context={"user": user})
