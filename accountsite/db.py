"""Database access on the hot paths: prepared statements, queries compiled once, rows written together."""

import functools
from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model, QuerySet, lookups
from django.db.models.sql import InsertQuery

Converters = list[tuple[int, Any, list]]


def converters_of(fields: list[Field], db: BaseDatabaseWrapper) -> Converters:
    """The converters the ORM applies to these columns (on SQLite, datetimes and UUIDs come back as text),
    for rows read with a cursor."""
    found = []
    for index, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        converters = [*db.ops.get_db_converters(column), *column.get_db_converters(db)]
        if converters:
            found.append((index, column, converters))
    return found


def converted(values: tuple, converters: Converters, db: BaseDatabaseWrapper) -> list[Any]:
    """A row as the ORM would read it."""
    row = list(values)
    for index, column, functions in converters:
        for function in functions:
            row[index] = function(row[index], column, db)
    return row


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
        cursor = server_binding(db.connection)  # it reads with the connection's loaders (accountsite.postgresql)
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)


class CompiledQuery:
    """A QuerySet the ORM builds and compiles once per database, then runs with new values, as a prepared
    statement on PostgreSQL. For a lookup on a hot path (the sign-in's user and factors) whose building and
    compiling cost more CPU than the query itself.

    `build(value)` makes the QuerySet for one value; it is called once with a marker, and the parameters
    equal to the marker are the value's slots. A lookup that would change the value on its way into the
    SQL (escaping it for LIKE, say) leaves no slot, and the query refuses to compile rather than run wrong.
    Rows come back as the ORM builds them: model instances with their annotations. Elsewhere than on
    PostgreSQL the QuerySet is simply built and run each time."""

    MARKER = "\x00compiled-query-slot\x00"

    def __init__(self, build: Callable[[Any], QuerySet]) -> None:
        self.build = build
        self._compiled: dict[str, tuple[Any, str, list, list[int]]] = {}

    @functools.cached_property
    def model(self) -> Any:
        return self.build(self.MARKER).model

    def _compile(self, alias: str) -> tuple[Any, str, list, list[int]]:
        if alias not in self._compiled:
            compiler = self.build(self.MARKER).query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            slots = [index for index, param in enumerate(params) if param == self.MARKER]
            if not slots or any(self.MARKER in str(param) for param in params if param != self.MARKER):
                raise ValueError(f"{self.build.__qualname__}: the value does not reach the SQL unchanged")
            self._compiled[alias] = (compiler, sql, list(params), slots)
        return self._compiled[alias]

    def __call__(self, value: Any) -> list[Any]:
        alias = router.db_for_read(self.model)
        if connections[alias].vendor != "postgresql":
            return list(self.build(value))
        compiler, sql, template, slots = self._compile(alias)
        params = list(template)
        for slot in slots:
            params[slot] = value
        with prepared_cursor(alias) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        select = compiler.select
        rows = list(compiler.apply_converters(rows, compiler.get_converters([column for column, *_ in select])))
        fields = compiler.klass_info["select_fields"]
        names = [select[index][0].target.attname for index in fields]
        found = []
        for row in rows:
            instance = self.model.from_db(alias, names, row[fields[0]:fields[-1] + 1])
            for name, index in compiler.annotation_col_map.items():
                setattr(instance, name, row[index])
            found.append(instance)
        return found


def insert_together(*instances: Model) -> None:
    """Writes new model instances in one statement on PostgreSQL (each INSERT but the last in a WITH
    clause), one INSERT each elsewhere: for rows written together on a hot path (a sign-in's audit row and
    its session). Its text depends only on the models written, so it is bound and prepared on the server
    (prepared_cursor). Each instance's fields are prepared as save() prepares them, but no save signal is
    sent (for models without receivers) and nothing is read back, so an instance whose primary key the
    database assigns keeps none."""
    alias = router.db_for_write(type(instances[0]))
    db = connections[alias]
    if db.vendor != "postgresql":
        for instance in instances:
            instance.save(force_insert=True, using=alias)
        return
    statements = []
    for instance in instances:
        meta = instance._meta
        fields = [field for field in meta.local_concrete_fields if not field.generated
                  and (field is not meta.auto_field or getattr(instance, field.attname) is not None)]
        query = InsertQuery(type(instance))
        query.insert_values(fields, [instance])
        statements.extend(query.get_compiler(alias).as_sql())
    *first, (last_sql, last_params) = statements
    chained = ", ".join(f"written_{index} AS ({text})" for index, (text, _) in enumerate(first))
    sql = f"WITH {chained} {last_sql}" if first else last_sql
    with prepared_cursor(alias) as cursor:
        cursor.execute(sql, [param for _, params in first for param in params] + list(last_params))
    for instance in instances:
        instance._state.adding, instance._state.db = False, alias


def upper_letter_by_letter(text: str | None) -> str | None:
    """`text` in upper case as PostgreSQL's upper() writes it: letter by letter, a letter whose upper case is
    two letters (ß, the ligature ﬁ) kept as it is."""
    if text is None:
        return None
    return "".join(upper if len(upper := letter.upper()) == 1 else letter for letter in text)


class UpperIContains(lookups.IContains):
    """`icontains` in any case on SQLite too. PostgreSQL compares `UPPER(column) LIKE UPPER(pattern)` (the
    search's trigram indexes are on that expression); SQLite's LIKE folds the ASCII letters alone, so
    `nickName=ölaf` missed "Ölaf" and `ÉMILE` missed "Émile" there, where the docs promise any case as
    PostgreSQL's upper() folds it. On SQLite both sides go through upper_letter_by_letter (sqlite_functions)."""

    def as_sqlite(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        lhs_sql, params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return (f"{SQLITE_UPPER}({lhs_sql}) {self.get_rhs_op(connection, f'{SQLITE_UPPER}({rhs_sql})')}",
                [*params, *rhs_params])


SQLITE_UPPER = "accountsite_upper"


def sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created: SQLite's copy of PostgreSQL's upper() (UpperIContains)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_UPPER, 1, upper_letter_by_letter, deterministic=True)
