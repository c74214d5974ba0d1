"""Standing consent: whether a user already lets an app have some scopes (what prompt=none relies on)."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, refresh_token_expire_timedelta

from accounts.models import User


def consent_exists(*, user: User, application: Application, scopes: list[str], now: datetime | None = None) -> bool:
    """True when a token `user` let `application` have is still usable and covers `scopes`: a live access
    token, or one whose refresh token may still be exchanged (DOT's rule: the refresh token lives
    REFRESH_TOKEN_EXPIRE_SECONDS past its access token). Revoking the user's tokens ends the consent."""
    now = now or timezone.now()
    usable = Q(expires__gt=now)
    lifetime = refresh_token_expire_timedelta()
    if lifetime is not None:
        usable |= Q(refresh_token__revoked__isnull=True, expires__gt=now - lifetime)
    tokens = AccessToken.objects.filter(usable, user=user, application=application).only("scope")
    return any(token.allow_scopes(scopes) for token in tokens)
