"""Trigram GIN indexes for the admin user search (case-insensitive substring filters), PostgreSQL only.

Django's `icontains` on PostgreSQL emits `UPPER("col"::text) LIKE UPPER(%s)`, so each index is on that
exact expression; a `LIKE '%abc%'` on it can then use the index instead of scanning every user.
SQLite has no pg_trgm: there the operations do nothing.
"""

from django.db import migrations

SEARCHED_COLUMNS = ("username", "real_name", "nickname", "email")


class PostgreSQLOnly(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_account_secret"),
    ]

    operations = [
        PostgreSQLOnly("CREATE EXTENSION IF NOT EXISTS pg_trgm", reverse_sql=migrations.RunSQL.noop),
        *[
            PostgreSQLOnly(
                f'CREATE INDEX IF NOT EXISTS accounts_user_{column}_trgm ON accounts_user '
                f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)',
                reverse_sql=f"DROP INDEX IF EXISTS accounts_user_{column}_trgm",
            )
            for column in SEARCHED_COLUMNS
        ],
    ]
