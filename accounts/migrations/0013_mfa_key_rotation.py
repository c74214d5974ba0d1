"""The MFA key can be rotated (MFA_ENCRYPTION_KEYS, newest first; manage.py rotate_mfa_key): each recovery
code records which key hashed it, and each account's WebAuthn user handle is stored instead of derived.

A recovery code's hash cannot be made again under a new key without the code, so the codes of an older
key keep it needed until they are used or replaced; key_id counts them. Its database default is empty,
so the release before (which knows no key_id) still issues codes until its restart; those count as an
older key's, which they are once a new key is first.

The user handle must not change while any authenticator holds it (accounts.services.passkeys.user_handle),
so the handle of every account with a passkey is stored as it was derived until now: an HMAC of the id
with the one key of then.

Both are filled with the last (oldest) of MFA_KEYS: before this migration there was one key, and it is the
last even when the first deploy with it already lists a new key first. Accounts without a passkey get a
random handle at their first registration.
"""

import hashlib
import hmac

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from accounts.services.mfa import key_id


def fill(apps, schema_editor):
    key = settings.MFA_KEYS[-1]
    Passkey = apps.get_model("accounts", "Passkey")
    WebAuthnHandle = apps.get_model("accounts", "WebAuthnHandle")
    users = Passkey.objects.order_by("user_id").values_list("user_id", flat=True).distinct()
    WebAuthnHandle.objects.bulk_create(
        (WebAuthnHandle(user_id=pk, handle=hmac.new(key.encode(), f"webauthn-user:{pk}".encode(),
                                                    hashlib.sha256).digest()) for pk in users.iterator()),
        batch_size=1000)
    apps.get_model("accounts", "RecoveryCode").objects.update(key_id=key_id(key))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_user_tier_pages"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebAuthnHandle",
            fields=[
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="webauthn_handle", serialize=False,
                                              to=settings.AUTH_USER_MODEL)),
                ("handle", models.BinaryField(max_length=64, unique=True)),
            ],
        ),
        migrations.AddField(
            model_name="recoverycode",
            name="key_id",
            field=models.CharField(db_default="", max_length=16),  # the running release inserts none
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
