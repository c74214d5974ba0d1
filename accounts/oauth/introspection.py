"""RFC 7662 token introspection, for a client about its own tokens only."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken, refresh_token_expire_timedelta

from accounts.models import User
from accounts.oauth.codes import code_hash, scope_granted


def token_introspect(*, application: Application, raw: str, now: datetime | None = None) -> dict[str, Any]:
    """RFC 7662 for `application` (an authenticated client): what an access or refresh token it was issued
    is. A token of any other client reads as inactive, exactly like an unknown one, so no client learns
    anything about another's users."""
    now = now or timezone.now()
    checksum = code_hash(raw)
    access = (AccessToken.objects.select_related("user")
              .filter(token_checksum=checksum, application=application).first())
    if access is not None and access.is_valid():
        return _introspection(access.scope, access.user, application, access.expires)
    refresh = (RefreshToken.objects.select_related("user", "access_token")
               .filter(token_checksum=checksum, application=application, revoked__isnull=True).first())
    # The token endpoint's rule (DOT's validate_refresh_token), so both agree: a refresh token lives
    # REFRESH_TOKEN_EXPIRE_SECONDS past its access token, and one without an access token is dead.
    if refresh is not None and refresh.access_token is not None and refresh.user is not None \
            and refresh.user.is_active:
        lifetime = refresh_token_expire_timedelta()
        expires = refresh.access_token.expires + lifetime if lifetime is not None else None
        if expires is None or expires > now:
            # What the token can still get: the whole grant, though its last refresh may have asked for less.
            scope = scope_granted(token_family=refresh.token_family) or refresh.access_token.scope
            return {**_introspection(scope, refresh.user, application, expires), "token_type": "refresh_token"}
    return {"active": False}


def _introspection(scope: str, user: User | None, application: Application,
                   expires: datetime | None) -> dict[str, Any]:
    reply: dict[str, Any] = {"active": True, "scope": scope, "client_id": application.client_id,
                             "token_type": "access_token"}
    if expires is not None:
        reply["exp"] = int(expires.timestamp())
    if user is not None:
        reply.update(username=user.get_username(), sub=str(user.pk))
    return reply
