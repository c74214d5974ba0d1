"""The OAuth2 / OpenID Connect validator: which claims each scope releases, and which users may sign in."""

from collections.abc import Callable
from typing import Any

from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from accounts.models import User, UserStatus
from accounts.oauth import codes, revocation
from accounts.oauth.applications import redirect_uri_allowed

# The user's claims beyond `sub`, released per scope by AccountsOAuth2Validator.oidc_claim_scope.
USER_CLAIMS: dict[str, Callable[[User], Any]] = {
    "preferred_username": lambda user: user.username,
    "username": lambda user: user.username,
    "name": lambda user: user.real_name or user.nickname or user.username,
    "nickname": lambda user: user.nickname,
    "website": lambda user: user.website,
    "intro": lambda user: user.intro,
    "email": lambda user: user.email or "",
    "email_verified": lambda user: bool(user.email and user.email_verified),
}
# What an ID token carries besides the user's claims (oauthlib and DOT add them).
ID_TOKEN_CLAIMS = ("iss", "aud", "exp", "iat", "auth_time", "jti", "nonce", "at_hash")


class AccountsOAuth2Validator(OAuth2Validator):
    """DOT's validator with our user's claims (ID token and /oauth/userinfo/).

    `oidc_claim_scope` decides which claim each scope releases: `openid` gives `sub` only, `profile`
    the public profile, `email` the address and whether it is verified.
    """

    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "username": "profile",
        "intro": "profile",
    }

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        # A claim without a value is left out (OIDC Core 5.3.2), not sent empty: an app that matched accounts
        # by `email` would take every account without an address for one.
        claims = {name: claim(request.user) for name, claim in USER_CLAIMS.items()}
        return {name: value for name, value in claims.items() if value != ""}

    def get_discovery_claims(self, request: Any) -> list[str]:
        # DOT lists only `sub` when get_additional_claims takes the request; discovery must name them all.
        return ["sub", *USER_CLAIMS, *ID_TOKEN_CLAIMS]

    def _load_application(self, client_id: str, request: Any) -> Any:
        # Every client lookup (authorize, token, revoke, introspect) goes through here: the app of a
        # developer who may no longer sign in is treated as unknown, so it gets neither codes nor tokens.
        application = super()._load_application(client_id, request)
        if application is not None and not User.objects.filter(pk=application.user_id,
                                                               status=UserStatus.ACTIVE).exists():
            request.client = None
            return None
        return application

    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return redirect_uri_allowed(request.client, redirect_uri)

    def _user_is_active(self, request: Any) -> bool:
        return bool(getattr(request, "user", None) is not None and request.user.is_active)

    def confirm_redirect_uri(self, client_id: str, code: str, redirect_uri: str, client: Any, request: Any,
                             *args: Any, **kwargs: Any) -> bool:
        # RFC 6749 4.1.3: the token request repeats the authorization request's redirect_uri, and every
        # authorization request here names one (the consent view insists). oauthlib would fill in the
        # registered default when it is missing, and answer a mismatch with invalid_request; both are
        # invalid_grant (RFC 6749 5.2).
        if getattr(request, "using_default_redirect_uri", False) or \
                not super().confirm_redirect_uri(client_id, code, redirect_uri, client, request, *args, **kwargs):
            raise errors.InvalidGrantError(
                description="redirect_uri must be the one given in the authorization request.", request=request)
        return True

    def validate_silent_login(self, request: Any) -> bool:
        # prompt=none is decided by the authorization view (accounts.oauth.views.ConsentView), which has
        # the browser's session; oauthlib's request does not. Signed out, DOT answers login_required
        # before this is asked; signed in, the view checks the sign-in's age and the consent itself.
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        return True  # see validate_silent_login

    def _create_authorization_code(self, request: Any, code: dict, expires: Any = None) -> Grant:
        grant = super()._create_authorization_code(request, code, expires)
        # `auth_time` comes with the consent view's credentials: when this browser signed in.
        codes.code_record(grant=grant, auth_time=getattr(request, "auth_time", None))
        return grant

    def _create_refresh_token(self, request: Any, refresh_token_code: str, access_token: AccessToken,
                              previous_refresh_token: RefreshToken | None) -> RefreshToken:
        token = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        if request.grant_type == "authorization_code":
            codes.code_family_record(code=request.code, token_family=token.token_family)
        return token

    def save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super().save_bearer_token(token, request, *args, **kwargs)
        except revocation.CredentialEnded:
            # The ID token (scope openid) was saved before, in its own transaction (DOT's finalize_id_token), and a
            # revocation that came first could not end it: nothing points at it and it is never sent, but it
            # stayed until `cleartokens`. Out of the transaction that was rolled back, which would undo this too.
            if getattr(request, "id_token", None) is not None:
                IDToken.objects.filter(pk=request.id_token.pk).delete()
            raise

    def _save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        # The refresh token or code was checked before this transaction; a racing use or a revocation may
        # have ended it since (CredentialEnded, answered by the token endpoint).
        if request.grant_type == "refresh_token":
            revocation.issuing_hold(user=request.user, application=request.client,
                                    refresh_token=request.refresh_token_instance)
        elif request.grant_type == "authorization_code":
            revocation.issuing_hold(user=request.user, code=request.code, application=request.client)
        super()._save_bearer_token(token, request, *args, **kwargs)

    def get_id_token_dictionary(self, token: dict, token_handler: Any, request: Any) -> tuple[dict, Any]:
        # DOT reads auth_time from User.last_login, which any later sign-in (the API's too) moves: the
        # right one is when the user signed in for this authorization (OIDC Core 2), kept with its code.
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        refreshed = getattr(request, "refresh_token_instance", None)
        auth_time = codes.auth_time_of(code=request.code if request.grant_type == "authorization_code" else None,
                                       token_family=refreshed.token_family if refreshed is not None else None)
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        return claims, expires

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not (super().validate_code(client_id, code, client, request, *args, **kwargs)
                and codes.code_redeem(code=code)):
            # Unknown, expired or already used (perhaps this very moment): a used code revokes what its
            # first use issued.
            codes.code_replay_revoke(code=code, application=client)
            return False
        # A user who left "active" since approving gets no tokens (their grants are revoked then too;
        # this closes the window of a code issued during the status change).
        return self._user_is_active(request)

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        return super().validate_refresh_token(refresh_token, client, request, *args, **kwargs) and \
            self._user_is_active(request)

    def get_original_scopes(self, refresh_token: str, request: Any, *args: Any, **kwargs: Any) -> Any:
        # RFC 6749 section 6: a refresh may ask for any part of the scope the user granted, and gets all of
        # it when it names none. DOT reads the previous access token's scope, so one refresh asking for less
        # took the rest from every later one; the grant's scope is kept with its code, for the whole family
        # (every rotation keeps the family). oauthlib asks after validate_refresh_token, which found the token.
        granted = codes.scope_granted(token_family=request.refresh_token_instance.token_family)
        if granted is None:
            return super().get_original_scopes(refresh_token, request, *args, **kwargs)
        return granted
