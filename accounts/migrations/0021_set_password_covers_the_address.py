"""`accounts.set_user_password` also covers setting another user's e-mail address (accountsite.policy,
Op.EMAIL_SET): its label says so, in the model and in the permission rows that already exist (Django
creates permissions, but never renames them)."""

from django.db import migrations

OLD, NEW = "Can set another user's password", "Can set another user's password or e-mail address"


def relabel(label):
    def run(apps, schema_editor):
        apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label="accounts", codename="set_user_password").update(name=label)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0020_email_names_a_domain'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='user',
            options={'ordering': ['id'], 'permissions': [
                ('change_user_status', 'Can freeze, activate, invalidate, restore or delete users'),
                ('set_user_password', NEW),
                ('reset_user_mfa', "Can turn off another user's second factors"),
            ]},
        ),
        migrations.RunPython(relabel(NEW), relabel(OLD)),
    ]
