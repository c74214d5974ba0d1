"""The admin user search at a million users: the lapsed half of a userType filter gets an index of its own,
the status index becomes (status, id) (a page deep in one status skips ids in the index alone), and on PostgreSQL the four trigram-indexed expressions keep ten times the default statistics.

With the default 100 histogram entries, `UPPER(col) LIKE '%maria%'` on a million users is estimated at 100
rows (the floor) however many match, so the planner reads every match and sorts them for a page in id
order, and its estimate cannot stand in for a count. With 1,000 entries a common substring is estimated
within a few percent: its page walks the primary key and stops at the page's end, and the count of a large
result is the planner's estimate (accountsite.pagination.bounded_count). ANALYZE applies the new target at
once; on a fresh database it takes no time.
"""

from django.db import migrations, models

TRIGRAM_INDEXES = [f"accounts_user_{column}_trgm" for column in ("username", "real_name", "nickname", "email")]
STATISTICS = 1000


def _statistics_set(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in TRIGRAM_INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} ALTER COLUMN 1 SET STATISTICS {target}")
    schema_editor.execute("ANALYZE accounts_user")


def forward(apps, schema_editor):
    _statistics_set(schema_editor, STATISTICS)


def backward(apps, schema_editor):
    _statistics_set(schema_editor, -1)  # -1: back to default_statistics_target


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0010_second_factors"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="status",
            field=models.PositiveSmallIntegerField(choices=[(1, "inactive"), (2, "active"), (3, "invalid"),
                                                            (5, "frozen"), (7, "deleted")], default=2),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["status", "id"], name="accounts_user_status_id"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["user_type_after", "invalid_at"], name="accounts_user_tier_lapsed"),
        ),
        migrations.RunPython(forward, backward),
    ]
