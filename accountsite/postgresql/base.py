"""The PostgreSQL backend: Django's, reading every datetime with psycopg's loader (in C) instead of Django's.

Django's loader is psycopg's in Python, followed by a relabelling of each result with Django's time zone. The
connection's session time zone is already Django's (Django sets it when it connects), so psycopg's loader
gives the same instants, aware, in the same zone. Django's cost 4 µs a value: a page of 100 users carries 500
datetimes, and reading them was 2 ms of a search's CPU, most of what reading its rows cost. Statements whose
text never changes still go through accountsite.db.prepared_cursor, which binds them on the server."""

import functools
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.adapt import AdaptersMap
from psycopg.postgres import types
from psycopg.pq import Format

TIMESTAMPTZ_LOADER: Any = psycopg.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)


@functools.cache
def with_c_timestamptz_loader(template: AdaptersMap) -> AdaptersMap:
    """Django's adapters for its connections (a template it makes once per time zone), with psycopg's
    timestamptz loader in place of Django's."""
    adapters = AdaptersMap(template)
    adapters.register_loader(types["timestamptz"].oid, TIMESTAMPTZ_LOADER)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self.timezone is not None:  # USE_TZ: aware datetimes, which psycopg's loader gives
            params["context"] = with_c_timestamptz_loader(params["context"])
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        """Django's cursor, less its check that the connection reads datetimes in Django's time zone: it
        reads the loader's `timezone`, which only Django's loader has, and the connection's zone is Django's."""
        if self.timezone is None:
            return super().create_cursor(name)
        if not name:
            return self.connection.cursor()
        # A server-side cursor (QuerySet.iterator()), made as Django makes it for client-side binding, the
        # settings' choice (OPTIONS has no server_side_binding).
        server_side: Any = base.ServerSideCursor  # Django's psycopg class (the stubs know psycopg2's)
        return server_side(self.connection, name=name, scrollable=False, withhold=self.connection.autocommit)
