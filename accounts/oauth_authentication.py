"""DRF authentication by OAuth2 access token (issued at /oauth/token/), limited by the token's scopes."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.settings import oauth2_settings
from rest_framework.permissions import SAFE_METHODS

from accounts import services
from accounts.authentication import _looks_like_jwt, raw_token
from accountsite.errors import NotAuthenticatedError, PermissionDeniedError

READ_SCOPE, WRITE_SCOPE = "read", "write"


class OAuthTokenAuthentication(OAuth2Authentication):
    """Runs after the session-bound JWT class: JWT-shaped tokens are not ours.

    A third-party app acts for the user within its scopes: `read` for safe methods, `write` for
    changes (7006 otherwise). An unknown, expired or revoked token is 7005, and the user must still be
    allowed to sign in (7008/7009), exactly as with a JWT.
    """

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        raw = raw_token(request)
        if raw is None or _looks_like_jwt(raw):
            return None
        result = super().authenticate(request)
        if result is None:
            raise NotAuthenticatedError("This access token is invalid, expired or revoked.")
        user, token = result
        services.user_assert_can_sign_in(user)
        needed = READ_SCOPE if request.method in SAFE_METHODS else WRITE_SCOPE
        if not token.allow_scopes([needed]):
            raise PermissionDeniedError(f"This access token lacks the '{needed}' scope.",
                                        error={"scope": needed})
        return user, token


class OAuthTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the authorization-code flow with its scopes (drf-spectacular registers it on import)."""

    target_class = "accounts.oauth_authentication.OAuthTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "oauth2", "flows": {"authorizationCode": {
            "authorizationUrl": "/oauth/authorize/", "tokenUrl": "/oauth/token/", "refreshUrl": "/oauth/token/",
            "scopes": dict(oauth2_settings.SCOPES),
        }}}
