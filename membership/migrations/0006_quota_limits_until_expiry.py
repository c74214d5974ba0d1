"""Existing paid memberships: their quota limits fall back to tier 1's at the expiry, like new ones."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

KINDS = {"repo_public": "repo_public", "repo_private": "repo_private", "deposit": "deposit_bytes",
         "pullnum": "pulls_per_day"}


def backfill(apps, schema_editor):
    Membership = apps.get_model("membership", "Membership")
    Tier = apps.get_model("membership", "Tier")
    Quota = apps.get_model("quotas", "Quota")
    base = Tier.objects.filter(user_type=1).first()
    if base is None:
        return
    expiry = Membership.objects.filter(user_id=OuterRef("user_id")).values("expires_at")[:1]
    for kind, field in KINDS.items():  # one statement per kind, whatever the number of accounts
        (Quota.objects.filter(kind=kind, user__membership__expires_at__isnull=False)
         .exclude(user__membership__tier__user_type=2)
         .update(quota_until=Subquery(expiry), fallback_quota=getattr(base, field)))


class Migration(migrations.Migration):
    dependencies = [
        ("membership", "0005_operator_permissions"),
        ("quotas", "0002_quota_limit_until"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
