"""A userType page is read from the tier indexes alone: the tier index becomes (user_type, id), with the
expiry columns included, and the lapsed index includes the id.

Before, a page of a rare tier (991 admins in a million users) was a bitmap of both indexes, every matching
row's heap page visited (934 buffers), then sorted for its first 21 ids. Now each half gives its first ids
from its index (in id order for the tier not lapsed), and only the page's rows are read from the table.
The dashboard's users per tier still reads every column it needs from the tier index.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_user_search_estimates"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="user", name="accounts_user_tier"),
        migrations.RemoveIndex(model_name="user", name="accounts_user_tier_lapsed"),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["user_type", "id"], include=("invalid_at", "user_type_after"),
                               name="accounts_user_tier"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["user_type_after", "invalid_at"], include=("id",),
                               name="accounts_user_tier_lapsed"),
        ),
    ]
