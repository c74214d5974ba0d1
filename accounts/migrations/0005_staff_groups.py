"""The staff groups: "support" and "billing", each a set of operator permissions (README: Security model).

Permissions are normally created after all migrations ran; they are created here first, so the groups
can hold them on a fresh database.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    # Look users up, freeze, activate or restore them, end their sessions, read their history.
    "support": [
        ("accounts", "view_user"), ("accounts", "change_user_status"), ("accounts", "view_session"),
        ("accounts", "revoke_session"), ("accounts", "view_auditevent"), ("quotas", "view_quota"),
        ("repos", "view_repository"), ("membership", "view_membership"),
    ],
    # Look up memberships, wallets and the ledger, and top wallets up.
    "billing": [
        ("accounts", "view_user"), ("membership", "view_tier"), ("membership", "view_membership"),
        ("membership", "view_wallet"), ("membership", "topup_wallet"), ("membership", "view_ledgerentry"),
    ],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        for app_label, codename in codenames:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_operator_permissions"),
        ("membership", "0005_operator_permissions"),
        ("quotas", "0001_initial"),
        ("repos", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
