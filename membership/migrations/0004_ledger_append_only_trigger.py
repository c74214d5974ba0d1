"""On PostgreSQL the database itself refuses UPDATE and DELETE of ledger rows (TRUNCATE, used only by test
flushes and operators, is not a row operation and stays possible). Other databases rely on the model guard."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION membership_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'membership_ledgerentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER membership_ledger_append_only
    BEFORE UPDATE OR DELETE ON membership_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION membership_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS membership_ledger_append_only ON membership_ledgerentry;
DROP FUNCTION IF EXISTS membership_ledger_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("membership", "0003_billing")]
    operations = [migrations.RunPython(forward, backward)]
