"""GET /: what this service is, and where a newcomer goes from here."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from accountsite import VERSION
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op


class IndexView(PolicyMixin, APIView):
    authentication_classes = ()
    operations = {"get": Op.PUBLIC_READ}

    @extend_schema(tags=["operations"], summary="The service and its links", responses=inline_serializer("Index", {
        "service": serializers.CharField(), "version": serializers.CharField(),
        "links": serializers.DictField(child=serializers.URLField()),
    }))
    def get(self, request: Request) -> Response:
        """The service's name and version, and links to the API reference, the OpenAPI schema, the back
        office, the health check and the OpenID Connect discovery document."""
        links = {name: reverse(route, request=request) for name, route in (
            ("docs", "docs"), ("schema", "schema"), ("admin", "admin:index"), ("health", "healthz"),
            ("openid_configuration", "oidc-discovery-root"),
        )}
        return Response({"service": "accountsite", "version": VERSION, "links": links})
