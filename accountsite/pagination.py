"""Pages of lists: `page` from 1 (at most 1,000,000) and `size` (20 by default, at most 100), replied as
{total, page, size, results}."""

from typing import Any

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from accountsite.api import invalid
from accountsite.numbers import whole_number_parse


class PagePagination(BasePagination):
    """`page` from 1 to `max_page`, `size` 20 by default and capped at 100 (CONTRACT section 1); a page
    past the end is an empty list. A page past `max_page` is 1007: its offset would leave the database's
    integers (500000000000000000 overflows PostgreSQL's bigint), and no client pages that far."""

    default_size = 20
    max_size = 100
    max_page = 1_000_000

    def _number(self, request: Any, name: str, default: int, maximum: int | None = None) -> int:
        raw = request.query_params.get(name, "")
        if raw == "":
            return default
        try:
            value = whole_number_parse(raw)
        except ValueError:
            raise invalid({name: ["A whole number is required."]}) from None
        if value < 1:
            raise invalid({name: ["Must be at least 1."]})
        if maximum is not None and value > maximum:
            raise invalid({name: [f"Must be at most {maximum}."]})
        return value

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        self.page = self._number(request, "page", 1, self.max_page)
        self.size = min(self._number(request, "size", self.default_size), self.max_size)
        self.total = queryset.count()
        start = (self.page - 1) * self.size
        return list(queryset[start : start + self.size])

    def get_paginated_response(self, data: list) -> Response:
        return Response({"total": self.total, "page": self.page, "size": self.size, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["total", "page", "size", "results"],
            "properties": {
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "size": {"type": "integer"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {"name": "page", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page}},
            {"name": "size", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_size}},
        ]


def paginate(view: Any, queryset: Any, serializer_class: Any, **serializer_kwargs: Any) -> Response:
    """Page a queryset through the view's paginator and render it with the given output serializer."""
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)
