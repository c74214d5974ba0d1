"""Tier 1 and the admin tier never end; a role change used to carry the end of the paid tier it replaced over to
them (and an operator could give tier 1 an end), which /vip then showed. Those ends are cleared, on the
membership and on the account's record of the tier in force."""

from django.db import migrations

NEVER_ENDING = [1, 2]  # TierType.REGISTERED, TierType.ADMIN


def ends_cleared(apps, schema_editor):
    Membership = apps.get_model("membership", "Membership")
    User = apps.get_model("accounts", "User")
    Membership.objects.filter(tier__user_type__in=NEVER_ENDING, expires_at__isnull=False).update(expires_at=None)
    User.objects.filter(user_type__in=NEVER_ENDING, invalid_at__isnull=False).update(invalid_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ("membership", "0011_idempotency_created_index"),
        ("accounts", "0020_email_names_a_domain"),
    ]

    operations = [
        migrations.RunPython(ends_cleared, migrations.RunPython.noop),
    ]
