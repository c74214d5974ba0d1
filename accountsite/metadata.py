"""The reply to OPTIONS. Its own module: DRF reads DEFAULT_METADATA_CLASS while it defines APIView, so this
module must not import what imports DRF's views (drf-spectacular's schema class does)."""

from typing import Any

from rest_framework.metadata import BaseMetadata


class EndpointMetadata(BaseMetadata):
    """OPTIONS on any route (CORS preflights send it without credentials): the endpoint's name and methods,
    also in the Allow header. DRF's SimpleMetadata would describe the input of each action the caller may
    use, which needs a serializer_class most of our views do not have, and varies with who asks."""

    def determine_metadata(self, request: Any, view: Any) -> dict:
        return {"name": view.get_view_name(), "methods": view.allowed_methods}
