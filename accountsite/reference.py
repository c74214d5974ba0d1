"""GET /schema/ and /docs/: the API's reference, drf-spectacular's OpenAPI document and its Swagger UI."""

from collections.abc import Sequence
from typing import Any

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import BaseAuthentication
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from accountsite.envelope import EnvelopeRenderer


class PublicReference:
    """Public documents: they read no credentials, and what is not the document itself is the envelope in
    JSON, as at every other route (OPTIONS's list of methods, a 405, a 406 for an `Accept` they cannot meet).

    Those went through the document's own renderers: the schema wrote its refusals in YAML; the page's HTML
    renderer had no template for OPTIONS (a 500 anyone could cause), wrote a refusal as bare text, and its
    template's context read `request.user`, which checked the request's token there, past DRF's error
    handling, so a revoked token made a refusal a 500."""

    authentication_classes: Sequence[type[BaseAuthentication]] = ()
    request: Any

    def perform_content_negotiation(self, request: Any, force: bool = False) -> tuple[BaseRenderer, str]:
        if request.method == "OPTIONS":
            return EnvelopeRenderer(), EnvelopeRenderer.media_type
        return super().perform_content_negotiation(request, force)  # type: ignore[misc]  # the APIView's

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)  # type: ignore[misc]  # the APIView's
        self.request.accepted_renderer = EnvelopeRenderer()
        self.request.accepted_media_type = EnvelopeRenderer.media_type
        return response


class SchemaView(PublicReference, SpectacularAPIView):
    pass


class DocsView(PublicReference, SpectacularSwaggerView):
    pass
