"""An authorization code notes the scope its user granted (OAuthCode.scope), which every refresh in the
refresh-token family its redemption started may ask for, in whole or in part (RFC 6749 section 6).

Before, the scope a refresh could ask for was the previous access token's, so a refresh asking for less
took the rest from every later refresh. The codes already redeemed get the scope of their family's live
token, the most that is known of their grant (a family that already narrowed stays narrowed); the others
keep none, and their refreshes go on reading the previous token's scope (accounts.oauth.validators).
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def live_token_scopes(apps, schema_editor):
    OAuthCode = apps.get_model("accounts", "OAuthCode")
    RefreshToken = apps.get_model("oauth2_provider", "RefreshToken")
    live = RefreshToken.objects.filter(token_family=OuterRef("token_family"), revoked__isnull=True,
                                       access_token__isnull=False)
    OAuthCode.objects.filter(token_family__isnull=False).update(
        scope=Subquery(live.values("access_token__scope")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0017_login_name_not_tiers"),
        ("oauth2_provider", "0011_refreshtoken_token_family"),
    ]

    operations = [
        migrations.AddField(
            model_name="oauthcode",
            name="scope",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.RunPython(live_token_scopes, migrations.RunPython.noop, elidable=True),
    ]
