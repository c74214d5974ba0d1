"""The five tiers of the original service's tier table (docs/tiers.md)."""

from decimal import Decimal

from django.db import migrations

MIB = 1024 * 1024
TIERS = [
    # user_type, name, repo_public, repo_private, deposit_bytes, pulls_per_day, pay_way, fee
    (1, "registered", 0, 0, 0, 500, 1, Decimal("0.00")),
    (2, "admin", -1, -1, -1, -1, 0, Decimal("0.00")),
    (3, "certified", 10, 0, 50 * MIB, 1000, 1, Decimal("0.00")),
    (4, "gold", 20, 2, 200 * MIB, 2000, 1, Decimal("10000.00")),
    (5, "diamond", 50, 20, 2 * 1024 * MIB, 5000, 2, Decimal("20000.00")),
]


def seed(apps, schema_editor):
    Tier = apps.get_model("membership", "Tier")
    for user_type, name, repo_public, repo_private, deposit, pulls, pay_way, fee in TIERS:
        Tier.objects.update_or_create(
            user_type=user_type,
            defaults=dict(name=name, repo_public=repo_public, repo_private=repo_private, deposit_bytes=deposit,
                          pulls_per_day=pulls, pay_way=pay_way, fee=fee),
        )


def unseed(apps, schema_editor):
    apps.get_model("membership", "Tier").objects.filter(user_type__in=[t[0] for t in TIERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("membership", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
