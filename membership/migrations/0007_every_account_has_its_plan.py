"""Every account holds its plan from its creation on, so reads never create one:

- accounts made before memberships were opened in one place get their membership, wallet and quota rows
  (the admin tier for staff, else tier 1);
- the tier in force is recorded on every account (accounts.User.user_type, invalid_at, user_type_after),
  as membership now pushes it on every change.
"""

from django.db import migrations

KINDS = {"repo_public": "repo_public", "repo_private": "repo_private", "deposit": "deposit_bytes",
         "pullnum": "pulls_per_day"}
REGISTERED, ADMIN = 1, 2


def backfill(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Membership = apps.get_model("membership", "Membership")
    Wallet = apps.get_model("membership", "Wallet")
    Tier = apps.get_model("membership", "Tier")
    Quota = apps.get_model("quotas", "Quota")
    tiers = {tier.user_type: tier for tier in Tier.objects.all()}
    if REGISTERED not in tiers:
        return  # an empty database: nothing to backfill
    for user in User.objects.filter(membership__isnull=True).iterator():
        admin = user.is_staff or user.is_superuser
        tier = tiers[ADMIN if admin and ADMIN in tiers else REGISTERED]
        Membership.objects.create(user=user, tier=tier, started_at=user.registered_at)
    for user in User.objects.filter(wallet__isnull=True).iterator():
        Wallet.objects.create(user=user)
    for membership in Membership.objects.select_related("tier").iterator():
        tier = membership.tier
        for kind, field in KINDS.items():
            Quota.objects.get_or_create(user_id=membership.user_id, kind=kind,
                                        defaults={"quota": getattr(tier, field)})
        until = membership.expires_at if tier.user_type != ADMIN else None
        User.objects.filter(pk=membership.user_id).update(user_type=tier.user_type, invalid_at=until,
                                                          user_type_after=REGISTERED)


class Migration(migrations.Migration):
    dependencies = [
        ("membership", "0006_quota_limits_until_expiry"),
        ("accounts", "0006_user_tier_in_force"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
