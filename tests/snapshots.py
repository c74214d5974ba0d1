"""The one "nothing changed" helper: every row of every table the API writes, taken before and compared after.

    before = snapshot()
    ... a request that must be refused ...
    before.assert_unchanged()

Rows rather than counts or a hash: a refused request must not touch any column (a revoked_at, a last_login,
a used_at), and a difference should name its table. Audit events are included: a refused request leaves no
audit row either, but the rows that record a refusal (accountsite.audit.REFUSALS: a failed sign-in) are no
change and are left out. A test whose request may rightly write somewhere else leaves those models out with
`ignore=`, so the narrowing is written where it happens.
"""

from collections.abc import Iterable

from django.apps import apps
from django.db import connection
from django.db.models import Model

from accounts.models import AuditEvent
from accountsite.audit import REFUSALS

# Every app whose tables the API writes; the many-to-many tables of users (groups, permissions) count too.
SNAPSHOT_APPS = ("accounts", "quotas", "membership", "repos", "oauth2_provider", "sessions")


def snapshot_models() -> list[type[Model]]:
    return [model for label in SNAPSHOT_APPS
            for model in apps.get_app_config(label).get_models(include_auto_created=True)]


def database_rows(*, ignore: Iterable[type[Model]] = ()) -> dict[str, list[tuple]]:
    """Every row of every table the API writes (but those of `ignore`), by table."""
    left_out = {model._meta.db_table for model in ignore}
    quote = connection.ops.quote_name
    tables: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:  # plain SQL: the ORM would triple the cost of every snapshot
        for model in snapshot_models():
            table = model._meta.db_table
            if table in left_out:
                continue
            refusals = f"WHERE action NOT IN ({', '.join(['%s'] * len(REFUSALS))})" if model is AuditEvent else ""
            cursor.execute(f"SELECT * FROM {quote(table)} {refusals} ORDER BY {quote(model._meta.pk.column)}",
                           sorted(REFUSALS) if refusals else None)
            tables[table] = cursor.fetchall()
    return tables


class Snapshot:
    """The database as it was when taken; `assert_unchanged()` fails naming every table that differs now."""

    def __init__(self, *, ignore: Iterable[type[Model]] = ()) -> None:
        self.ignore = tuple(ignore)
        self.rows = database_rows(ignore=self.ignore)

    def assert_unchanged(self) -> None:
        after = database_rows(ignore=self.ignore)
        changed = {table: {"before": rows, "after": after[table]} for table, rows in self.rows.items()
                   if after[table] != rows}
        assert not changed, changed


def snapshot(*, ignore: Iterable[type[Model]] = ()) -> Snapshot:
    """Takes the snapshot now: `before = snapshot()`, later `before.assert_unchanged()`."""
    return Snapshot(ignore=ignore)
