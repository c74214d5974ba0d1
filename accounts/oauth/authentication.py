"""DRF authentication by OAuth2 access token (issued at /oauth/token/): an app acting for a user."""

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from oauth2_provider.settings import oauth2_settings

from accounts.authentication import _looks_like_jwt, raw_token
from accounts.models import UserStatus
from accounts.services import sessions
from accountsite.errors import NotAuthenticatedError


@dataclass(frozen=True)
class AppCredentials:
    """`request.auth` for an app's token: never first-hand, limited to the scopes the user granted
    (what those allow is accountsite.policy's table)."""

    token: AccessToken
    scopes: frozenset[str]
    first_party = False


class OAuthTokenAuthentication(OAuth2Authentication):
    """Runs after the session-bound JWT class: JWT-shaped tokens are not ours.

    An unknown, expired or revoked token is 7005; the user must still be allowed to sign in (7008/7009),
    exactly as with a JWT, and so must the app's owner: a frozen or deleted developer's app acts for nobody.
    """

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        raw = raw_token(request)
        if raw is None or _looks_like_jwt(raw):
            return None
        if "." in raw:
            # The access tokens /oauth/token/ issues are opaque, never dotted. oauthlib takes a dotted one
            # starting "ey" for an ID token and DOT parses it as a JWS, raising on the five-part (JWE) shape.
            raise NotAuthenticatedError()
        result = self._verified(request, raw)
        if result is None:
            raise NotAuthenticatedError()
        user, token = result
        sessions.user_assert_can_sign_in(user)
        application = token.application
        if application is None or not application.user_id or not type(user).objects.filter(
                pk=application.user_id, status=UserStatus.ACTIVE).exists():
            raise NotAuthenticatedError()
        return user, AppCredentials(token=token, scopes=frozenset(token.scope.split()))

    def _verified(self, request: Any, raw: str) -> tuple[Any, Any] | None:
        """DOT's check of the token. DOT reads it from `Authorization: Bearer` only, where the API takes any
        access token in the old clients' forms too (`Token`, a bare `token:` header: raw_token), so DOT is
        shown the token in the Bearer form for the length of its check."""
        meta = request.META
        given = meta.get("HTTP_AUTHORIZATION")
        meta["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        try:
            return super().authenticate(request)
        finally:
            if given is None:
                del meta["HTTP_AUTHORIZATION"]
            else:
                meta["HTTP_AUTHORIZATION"] = given


class OAuthTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the authorization-code flow with its scopes (drf-spectacular registers it on import)."""

    target_class = "accounts.oauth.authentication.OAuthTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "oauth2", "flows": {"authorizationCode": {
            "authorizationUrl": "/oauth/authorize/", "tokenUrl": "/oauth/token/", "refreshUrl": "/oauth/token/",
            "scopes": dict(oauth2_settings.SCOPES),
        }}}
