"""A userType page is read from the tier indexes alone: the tier index becomes (user_type, id), with the
expiry columns included, and the lapsed one includes the id.

Before, a page of a rare tier (991 admins in a million users) was a bitmap of both indexes, every matching
row's heap page visited (934 buffers), then sorted for its first 21 ids. Now each half gives its first ids
from its index (in id order for the tier not lapsed), and only the page's rows are read from the table.
The dashboard's users per tier still reads every column it needs from the tier index.

The new indexes come first, under new names, and the old ones go last: on PostgreSQL each build blocks
writes to the user table (not reads) for a few seconds per million users, and the drops, which block
reads too, hold their lock only until the migration commits right after them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_user_search_estimates"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["user_type", "id"], include=("invalid_at", "user_type_after"),
                               name="accounts_user_tier_id"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["user_type_after", "invalid_at"], include=("id",),
                               name="accounts_user_lapsed_id"),
        ),
        migrations.RemoveIndex(model_name="user", name="accounts_user_tier"),
        migrations.RemoveIndex(model_name="user", name="accounts_user_tier_lapsed"),
    ]
