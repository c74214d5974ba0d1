"""DRF authentication by OAuth2 access token (issued at /oauth/token/): an app acting for a user."""

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.settings import oauth2_settings
from rest_framework.authentication import BaseAuthentication

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


class OAuthTokenAuthentication(BaseAuthentication):
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
        # DOT's check, as its own DRF class makes it (a query string it cannot decode never gets this far:
        # accountsite.requests refuses it first).
        valid, checked = _AnyTokenForm(raw).verify_request(request, scopes=[])
        if not valid:
            raise NotAuthenticatedError()
        user, token = checked.user, checked.access_token
        sessions.user_assert_can_sign_in(user)
        application = token.application
        if application is None or not application.user_id or not type(user).objects.filter(
                pk=application.user_id, status=UserStatus.ACTIVE).exists():
            raise NotAuthenticatedError()
        return user, AppCredentials(token=token, scopes=frozenset(token.scope.split()))


class _AnyTokenForm(OAuthLibCore):
    """DOT's bridge to oauthlib, for a token the API took in any of its forms (`Bearer`, `Token`, a bare
    `token:` header: raw_token): oauthlib reads `Authorization: Bearer` only, so that is what it is shown.
    The request itself is left as it came."""

    def __init__(self, raw: str) -> None:
        validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
        super().__init__(oauth2_settings.OAUTH2_SERVER_CLASS(validator, **oauth2_settings.server_kwargs))
        self.raw = raw

    def extract_headers(self, request: Any) -> dict[str, Any]:
        return {**super().extract_headers(request), "Authorization": f"Bearer {self.raw}"}


class OAuthTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the authorization-code flow with its scopes (drf-spectacular registers it on import)."""

    target_class = "accounts.oauth.authentication.OAuthTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "oauth2", "flows": {"authorizationCode": {
            "authorizationUrl": "/oauth/authorize/", "tokenUrl": "/oauth/token/", "refreshUrl": "/oauth/token/",
            "scopes": dict(oauth2_settings.SCOPES),
        }}}
