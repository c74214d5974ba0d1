"""Every account holds its plan from its creation on, so reads never create one:

- accounts made before memberships were opened in one place get their membership, wallet and quota rows
  (the admin tier for staff, else tier 1);
- the tier in force is recorded on every account (accounts.User.user_type, invalid_at, user_type_after),
  as membership now pushes it on every change.

Set-based (a few statements whatever the number of accounts), so it runs in seconds on a million users.
"""

from django.db import migrations
from django.db.models import OuterRef, Q, Subquery

KINDS = {"repo_public": "repo_public", "repo_private": "repo_private", "deposit": "deposit_bytes",
         "pullnum": "pulls_per_day"}
REGISTERED, ADMIN = 1, 2
BATCH = 5000


def backfill(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Membership = apps.get_model("membership", "Membership")
    Wallet = apps.get_model("membership", "Wallet")
    Tier = apps.get_model("membership", "Tier")
    Quota = apps.get_model("quotas", "Quota")
    tiers = {tier.user_type: tier for tier in Tier.objects.all()}
    if REGISTERED not in tiers:
        return  # an empty database: nothing to backfill
    admin_tier = tiers.get(ADMIN, tiers[REGISTERED])
    staff = Q(is_staff=True) | Q(is_superuser=True)
    for query, tier in ((staff, admin_tier), (~staff, tiers[REGISTERED])):
        missing = User.objects.filter(query, membership__isnull=True).values_list("pk", "registered_at")
        Membership.objects.bulk_create((Membership(user_id=pk, tier=tier, started_at=registered_at)
                                        for pk, registered_at in missing.iterator()), batch_size=BATCH)
    Wallet.objects.bulk_create((Wallet(user_id=pk) for pk in
                                User.objects.filter(wallet__isnull=True).values_list("pk", flat=True).iterator()),
                               batch_size=BATCH)
    for kind, field in KINDS.items():
        lacking = (Membership.objects.exclude(user__quotas__kind=kind)
                   .values_list("user_id", f"tier__{field}"))
        Quota.objects.bulk_create((Quota(user_id=user_id, kind=kind, quota=limit)
                                   for user_id, limit in lacking.iterator()), batch_size=BATCH)
    membership = Membership.objects.filter(user_id=OuterRef("pk"))
    User.objects.update(
        user_type=Subquery(membership.values("tier__user_type")[:1]),
        invalid_at=Subquery(membership.exclude(tier__user_type=ADMIN).values("expires_at")[:1]),
        user_type_after=REGISTERED,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("membership", "0006_quota_limits_until_expiry"),
        ("accounts", "0006_user_tier_in_force"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
