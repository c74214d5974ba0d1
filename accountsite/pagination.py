"""Pages of lists: `page` from 1 (at most 1,000,000) and `size` (20 by default, at most 100), replied as
{total, total_exact, page, size, results}; lists of millions of rows are never counted in full
(bounded_count), and the user list also pages by key (`after`), by number only in its first 10,000 rows."""

import time
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from accountsite.api import invalid
from accountsite.numbers import BIGINT_MAX, NumberBeyondRange, WholeNumberField, whole_number_parse

ESTIMATE_FROM = 100_000
COUNT_CAP = 10_000


class TableSizeEstimates:
    """PostgreSQL's estimate of a table's rows (pg_class.reltuples, kept by ANALYZE and autovacuum), held in
    each process for `ttl` seconds: it was a round trip of its own on every counted page, and the figure
    only moves when the table is analysed. One entry per database and table paged, so it never grows."""

    ttl = 60.0

    def __init__(self) -> None:
        self._read: dict[tuple[str, str], tuple[float, int | None]] = {}

    def __call__(self, model: type[models.Model]) -> int | None:
        """The estimate, or None where there is none (not PostgreSQL, or never analysed)."""
        connection = connections[router.db_for_read(model)]
        if connection.vendor != "postgresql":
            return None
        key, now = (connection.alias, model._meta.db_table), time.monotonic()
        read = self._read.get(key)
        if read is not None and now - read[0] < self.ttl:
            return read[1]
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                           [connection.ops.quote_name(model._meta.db_table)])
            row = cursor.fetchone()
        estimate = row[0] if row and row[0] >= 0 else None
        self._read[key] = (now, estimate)
        return estimate

    def clear(self) -> None:
        self._read.clear()


table_size_estimate = TableSizeEstimates()


def with_disjoint_parts(queryset: QuerySet, condition: Q) -> QuerySet:
    """`queryset` filtered by `condition`, an OR of parts that no row matches two of: bounded_count then
    counts each part in a statement of its own (UNION ALL) instead of the OR. PostgreSQL reads an OR of
    indexes as bitmaps and visits the page of every matching row, where each part alone can be an
    index-only scan.

    A page in primary-key order is read the same way (page_rows): each part's first ids, then the page's
    rows by id, where the OR would visit every match and sort them all for the page's first few.

    The parts are kept in the query with the filter they stand for, and used only while the queryset is
    filtered by exactly that: a filter added later makes the count and the page read the OR."""
    whole = queryset.filter(condition)
    parts = [queryset.filter(part) for part in condition.children]  # built once: the page and the count read them
    whole.query.disjoint_parts = (whole.query.where, queryset, parts)  # type: ignore[attr-defined]
    return whole


def _disjoint_parts(queryset: QuerySet) -> tuple[QuerySet, list[QuerySet]] | None:
    """(the queryset before with_disjoint_parts, its parts as querysets) while `queryset` is filtered by exactly
    them; else None."""
    parted = getattr(queryset.query, "disjoint_parts", None)
    if parted is None or parted[0] != queryset.query.where:
        return None
    return parted[1], parted[2]


def _matches_statement(queryset: QuerySet) -> tuple[str, tuple] | None:
    """The compiled SELECT of the keys of the rows bounded_count counts, in any order (the planner picks an
    index): the parts of with_disjoint_parts as one UNION ALL, each answered by its own index alone, else the
    queryset's. Compiled once for both the plan's estimate and the count. None when Django knows while
    compiling that nothing matches (a number past its column's range)."""
    parted = _disjoint_parts(queryset)
    if parted is None:
        matches = queryset.order_by().values("pk")
    else:
        first, *rest = (part.order_by().values("pk") for part in parted[1])
        matches = first.union(*rest, all=True)
    try:
        sql, params = matches.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:
        return None
    return sql, tuple(params)


def page_rows(queryset: QuerySet, start: int, end: int, *, after: int | None = None) -> list:
    """Rows `start` to `end` of `queryset` (after the key `after`, if given). Past the first rows, the rows
    skipped are only read as keys in the subquery (an index-only scan where the filter allows it). A list in
    primary-key order filtered by with_disjoint_parts takes the first `end` keys of each part (each from its
    own index), then reads the rows of the page's keys by key: the filter is left out of that last read, or
    the planner might read every match through it to join them with a handful of keys."""
    parted = _disjoint_parts(queryset)
    if (parted is not None and list(queryset.query.order_by) in (["pk"], [queryset.model._meta.pk.name])
            and connections[queryset.db].features.supports_slicing_ordering_in_compound):  # not SQLite
        before, parts = parted
        if after is not None:
            parts = [part.filter(pk__gt=after) for part in parts]
        first, *rest = (part.order_by("pk").values("pk")[:end] for part in parts)
        return list(before.filter(pk__in=first.union(*rest, all=True).order_by("pk")[start:end]))
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    if start == 0:
        return list(queryset[:end])
    return list(queryset.filter(pk__in=queryset.values("pk")[start:end]))


def bounded_count(queryset: QuerySet, *, estimate_from: int, cap: int) -> tuple[int, str]:
    """(count, how): how is "exact", "estimated" or "capped". COUNT(*) over a million rows takes longer than
    the page it counts, and so does counting the thousand matches of a common substring (each is a row read).

    On PostgreSQL, once the table holds `estimate_from` rows or more (by its estimate), the whole table is
    counted by that estimate, and a filter the planner expects to match more than `cap` rows by the plan's
    estimate: "estimated". Otherwise the matches are counted up to `cap`; past it the count reads `cap`,
    "capped" (a filter the planner misjudges as small costs at most `cap` rows read)."""
    estimate = table_size_estimate(queryset.model)
    if estimate is not None and estimate < estimate_from:
        estimate = None  # a smaller table is counted, never estimated
    if estimate is not None and not queryset.query.where:
        return estimate, "estimated"
    statement = _matches_statement(queryset)
    if statement is None:
        return 0, "exact"
    sql, params = statement
    # Around the compiled statement: QuerySet.count() and explain() would each copy and compile it again.
    with connections[queryset.db].cursor() as cursor:
        if estimate is not None:  # a large table: EXPLAIN plans the statement and runs nothing
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            planned = int(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])  # psycopg reads the json column
            if planned > cap:
                return planned, "estimated"
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM ({sql}) AS matches LIMIT %s) AS counted",  # noqa: S608
                       (*params, cap + 1))
        counted = cursor.fetchone()[0]
    return (cap, "capped") if counted > cap else (counted, "exact")


class PagePagination(BasePagination):
    """`page` from 1 to `max_page`, `size` 20 by default and capped at 100 (CONTRACT section 1); a page
    past the end is an empty list. A page past `max_page` is 1007: its offset would leave the database's
    integers (500000000000000000 overflows PostgreSQL's bigint), and no client pages that far.

    The page is read with one row more, which tells whether any follow: a list that ends on the page it
    asks for is counted by it, exactly, with no count of its own."""

    default_size = 20
    max_size = 100
    max_page = 1_000_000
    # An API count stops at 1,000 (the back office's at 10,000): counting the matches of a common
    # substring means reading each matching row, and 10,000 of them took 100 ms at a million users.
    estimate_from, count_cap = ESTIMATE_FROM, 1_000

    def _number(self, request: Any, name: str, default: int, maximum: int = BIGINT_MAX) -> int:
        """A query parameter read as a body's whole number is (WholeNumberField: its refusals, its bounds)."""
        raw = request.query_params.get(name, "")
        if raw == "":
            return default
        try:
            return WholeNumberField(min_value=1, max_value=maximum).to_internal_value(raw)
        except serializers.ValidationError as exc:
            raise invalid({name: exc.detail}) from None

    def _size(self, request: Any) -> int:
        """`size`, capped at `max_size` however large: past 64 bits too (a count no field holds, yet a size like
        any other above the cap)."""
        try:
            whole_number_parse(request.query_params.get("size", ""))
        except NumberBeyondRange as exc:
            if not exc.negative:
                return self.max_size
        except ValueError:
            pass  # _number refuses it, saying why
        return min(self._number(request, "size", self.default_size), self.max_size)

    def _page(self, request: Any) -> int:
        """`page`, once `size` is read."""
        return self._number(request, "page", 1, self.max_page)

    def _count(self, queryset: QuerySet, *, at_least: int) -> None:
        """`total` by bounded_count; one that is not exact is never below the `at_least` rows already seen."""
        total, how = bounded_count(queryset, estimate_from=self.estimate_from, cap=self.count_cap)
        self.total_exact = how == "exact"
        self.total = total if self.total_exact else max(total, at_least)

    def _trimmed(self, rows: list) -> list:
        """The page's rows; `more` says whether a row was read past them."""
        self.more = len(rows) > self.size
        return rows[: self.size]

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        self.size = self._size(request)
        self.page = self._page(request)
        start = (self.page - 1) * self.size
        rows = self._trimmed(page_rows(queryset, start, start + self.size + 1))
        if not self.more and (rows or start == 0):
            self.total, self.total_exact = start + len(rows), True  # the list ends on this page
        else:  # more follow, or the page is past the end
            self._count(queryset, at_least=start + len(rows) + self.more if rows else 0)
        return rows

    def get_paginated_response(self, data: list) -> Response:
        return Response({"total": self.total, "total_exact": self.total_exact, "page": self.page, "size": self.size,
                         "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["total", "total_exact", "page", "size", "results"],
            "properties": {
                "total": {"type": "integer"},
                "total_exact": {"type": "boolean"},
                "page": {"type": "integer"},
                "size": {"type": "integer"},
                "results": schema,
            },
        }

    def _page_parameter_schema(self) -> dict:
        return {"name": "page", "in": "query", "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page}}

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            self._page_parameter_schema(),
            {"name": "size", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_size}},
        ]


class KeysetPagePagination(PagePagination):
    """For a list in primary-key order: `after` (the last id of the page before, given as `next` in every
    reply) reads a page at any depth for the cost of the first, where `page` makes the database skip every
    row before it. `page` and `after` do not go together; with `after`, `page` is null.

    Pages by number reach `max_rows` rows deep (page times size, like Elasticsearch's result window): deeper
    is 1007, which says to page on with `after`."""

    max_rows = 10_000
    max_page = max_rows  # of size 1

    def _page(self, request: Any) -> int:
        page = self._number(request, "page", 1)  # max_page (the window at size 1) is the schema's bound
        if page * self.size > self.max_rows:
            raise invalid({"page": [f"Pages by number reach row {self.max_rows:,} at most (page times size); "
                                    "page further with after, the next of the page before."]})
        return page

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        if request.query_params.get("after", "") == "":
            rows = super().paginate_queryset(queryset, request, view)
        else:
            if request.query_params.get("page", "") != "":
                raise invalid({"after": ["Give page or after, not both."]})
            after = self._number(request, "after", 1)
            self.page = None  # type: ignore[assignment]
            self.size = self._size(request)
            rows = self._trimmed(page_rows(queryset, 0, self.size + 1, after=after))
            self._count(queryset, at_least=len(rows) + self.more)  # the whole list's: rows before the key count
        self.next = rows[-1].pk if self.more else None
        return rows

    def get_paginated_response(self, data: list) -> Response:
        response = super().get_paginated_response(data)
        response.data["next"] = self.next
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paged = super().get_paginated_response_schema(schema)
        paged["properties"]["page"] = {"type": "integer", "nullable": True}
        paged["properties"]["next"] = {"type": "integer", "nullable": True,
                                       "description": "`after` for the next page; null on the last one"}
        paged["required"].append("next")
        return paged

    def _page_parameter_schema(self) -> dict:
        parameter = super()._page_parameter_schema()
        parameter["description"] = (f"pages by number reach row {self.max_rows:,} (page times size at most "
                                    f"{self.max_rows:,}); deeper pages are read with `after`")
        return parameter

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [*super().get_schema_operation_parameters(view),
                {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1},
                 "description": "the `next` of the page before: pages by key, at any depth"}]


def paginate(view: Any, queryset: Any, serializer_class: Any, **serializer_kwargs: Any) -> Response:
    """Page a queryset through the view's paginator and render it with the given output serializer."""
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)
