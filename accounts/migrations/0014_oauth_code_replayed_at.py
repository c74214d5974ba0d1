"""An authorization code notes when it was first presented again (OAuthCode.replayed_at).

A replay that arrives while the code's first use is still making its tokens found no refresh-token
family to revoke, and the first use then recorded its family and kept its tokens. With the replay noted
on the code, whichever of the two writes the row second sees the other's write: the replay revokes the
family it finds, or the first use, recording its family, finds the replay and revokes the family
itself (accounts.oauth.codes).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_mfa_key_rotation"),
    ]

    operations = [
        migrations.AddField(
            model_name="oauthcode",
            name="replayed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
