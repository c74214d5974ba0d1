"""Database access for the statements every request runs."""

from typing import Any

from django.db import connections
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg.postgres import types
from psycopg.pq import Format


def prepared_cursor(alias: str) -> CursorWrapper:
    """A cursor for a statement that runs on every request. On PostgreSQL its parameters are bound on the
    server, so psycopg prepares each statement the fifth time a connection runs it (its prepare_threshold)
    and PostgreSQL stops parsing and planning it: that was most of the database's share of an
    authenticated GET. Elsewhere (SQLite) it is the ordinary cursor. Only for statements whose text is
    fixed: each distinct text prepared is kept by the connection (psycopg keeps the last 100)."""
    db = connections[alias]
    if db.vendor != "postgresql":
        return db.cursor()

    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        server_binding: Any = base.ServerBindingCursor  # psycopg's Cursor (the stubs know psycopg2's)
        cursor = server_binding(db.connection)
        # As Django's own cursors: datetimes in the connection's time zone.
        if db.timezone != db.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT).timezone:
            register_tzloader(db.timezone, cursor)
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)
