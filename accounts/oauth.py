"""Developer mode and OAuth applications, OAuth revocation, and the seed 001 authorization codes.

The standard OAuth2 / OpenID Connect endpoints are django-oauth-toolkit's (under /oauth/); this module
owns the rules around them:

* Developer mode: a user turns it on once and gets a first application (confidential,
  authorization-code, PKCE required). Client secrets are stored hashed by DOT, so the plaintext is
  captured before the save and shown exactly once (on creation and on rotation).
* Revocation: `oauth_tokens_revoke` ends every access token, refresh token, ID token and pending grant
  of a user; `accounts.services.user_credentials_revoke` calls it on logout-all, password change and
  reset, leaving active, and deletion. Deleting an application cascades to its tokens and grants.
* Seed 001 codes. The old API issues a code at login (`POST /login/?secret_id=&redirect_uri=`) or after
  the consent page (`GET /oauth/?secret_id=&redirect_uri=`) and exchanges it server-to-server with the
  client secret (`POST /oauth/`). Those codes are DOT `Grant` rows created here with NO PKCE challenge:
  - DOT's token endpoint refuses them (PKCE_REQUIRED: a grant without a challenge is "Challenge not
    found"), and the seed exchange refuses grants that carry a challenge, so neither flow can redeem
    the other's codes and the standard flow keeps its PKCE protection;
  - a code lives AUTHORIZATION_CODE_EXPIRE_SECONDS (60 s), is bound to its application and to a
    redirect URI registered on it, and is single use: the exchange deletes the row under
    `select_for_update`, so two concurrent exchanges cannot both succeed;
  - they are revoked with everything else by `oauth_tokens_revoke` and by deleting the application.
  Errors: unknown client 1009, unregistered redirect_uri 1007 (both before anything is issued);
  wrong client secret at the exchange 7005 (the client failed to authenticate, as OAuth's
  invalid_client); unknown, used, expired or foreign code 8005.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.validators import AllowedURIValidator
from oauthlib.common import generate_token

from accounts.audit import audit_record
from accounts.models import User
from accountsite import errors

MAX_REDIRECT_URIS = 10
MAX_APPS_PER_DEVELOPER = 20
# What a seed 001 code lets the client read: POST /oauth/ answers {username, email}.
SEED_SCOPES = "profile email"


# --- Redirect URIs -----------------------------------------------------------------------------------------

def redirect_uris_clean(value: Any) -> list[str]:
    """A space-separated string or a list of absolute redirect URIs, checked against the allowed schemes
    (https only in production); no fragments, no credentials. Raises 1007 naming the bad URI."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        uris = value.split()
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        uris = [part for item in value for part in item.split()]
    else:
        raise _bad_uris("Give the redirect URIs as a space-separated string or a list of strings.")
    if len(uris) > MAX_REDIRECT_URIS:
        raise _bad_uris(f"At most {MAX_REDIRECT_URIS} redirect URIs.")
    validator = AllowedURIValidator(
        oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES, name="redirect URI", allow_path=True, allow_query=True
    )
    for uri in uris:
        if len(uri) > 512:
            raise _bad_uris("A redirect URI is at most 512 characters.")
        try:
            validator(uri)
        except DjangoValidationError:
            raise _bad_uris(
                f"Not an allowed redirect URI: {uri[:100]} (absolute, scheme "
                f"{'/'.join(oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)}, no fragment)."
            ) from None
        parts = urlsplit(uri)
        if not parts.hostname or "@" in parts.netloc:
            raise _bad_uris(f"Not an allowed redirect URI: {uri[:100]} (a host and no credentials).")
    return list(dict.fromkeys(uris))


def _bad_uris(message: str) -> errors.InvalidParametersError:
    return errors.InvalidParametersError(f"Invalid parameters: redirect_uris: {message}",
                                         error={"redirect_uris": [message]})


# --- Applications ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedSecret:
    """An application and its client secret in plaintext: shown once, never stored."""

    application: Application
    client_secret: str


@transaction.atomic
def application_create(*, owner: User, name: str = "", redirect_uris: Any = None) -> IssuedSecret:
    """A confidential authorization-code client of `owner` (PKCE is required for every client); the
    owner becomes a developer if they were not one."""
    uris = redirect_uris_clean(redirect_uris)
    locked = User.objects.select_for_update().only("pk", "is_developer").get(pk=owner.pk)
    if not locked.is_developer:
        User.objects.filter(pk=owner.pk).update(is_developer=True)
        audit_record(action="user.developer_enable", user=owner, actor=owner)
    owner.is_developer = True
    if Application.objects.filter(user=owner).count() >= MAX_APPS_PER_DEVELOPER:
        raise errors.PermissionDeniedError(f"A developer may have at most {MAX_APPS_PER_DEVELOPER} applications.")
    secret = generate_client_secret()
    application = Application(
        user=owner, name=(name or f"{owner.username}'s app")[:255], redirect_uris=" ".join(uris),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=secret, hash_client_secret=True, algorithm=Application.RS256_ALGORITHM,
    )
    application.save()  # DOT's ClientSecretField hashes client_secret here
    audit_record(action="oauth.app_create", user=owner, actor=owner, client_id=application.client_id)
    return IssuedSecret(application=application, client_secret=secret)


@transaction.atomic
def developer_enable(*, user: User, redirect_uris: Any = None) -> IssuedSecret | None:
    """Developer mode (PATCH /auth/me {"is_developer": true}): a first application and its secret;
    None when the user already is a developer (secrets are never shown again: rotate one instead)."""
    if User.objects.select_for_update().filter(pk=user.pk, is_developer=True).exists():
        user.is_developer = True
        return None
    return application_create(owner=user, redirect_uris=redirect_uris)


def developer_mode_check(*, user: User, on: bool | None, redirect_uris: Any) -> None:
    """The rules of PATCH /auth/me's developer fields, checked before anything changes: developer mode
    cannot be turned off there (delete apps instead), and redirect_uris come only with turning it on.
    (Only the user's own sign-in gets this far: accountsite.policy refuses an app's token.)"""
    if (on is False and user.is_developer) or (redirect_uris is not None and not on):
        raise errors.InvalidParametersError(
            "Invalid parameters: is_developer: developer mode stays on and redirect_uris come with turning "
            "it on; manage apps at /developer/apps/.",
            error={"is_developer": ["Developer mode stays on; manage apps at /developer/apps/."]},
        )


def developer_summary(user: User) -> dict[str, Any] | None:
    """`developer` in GET /auth/me: the first application's public identifiers, never a secret."""
    if not user.is_developer:
        return None
    applications = list(Application.objects.filter(user=user).order_by("created", "pk")
                        .values("id", "client_id", "name", "redirect_uris"))
    first = applications[0] if applications else None
    return {
        "client_id": first["client_id"] if first else None,
        "secret_id": first["client_id"] if first else None,
        "name": first["name"] if first else None,
        "redirect_uris": first["redirect_uris"].split() if first else [],
        "apps": len(applications),
    }


@transaction.atomic
def application_update(*, application: Application, actor: User, name: str | None = None,
                       redirect_uris: Any = None) -> Application:
    changed = []
    if name is not None and name != application.name:
        application.name = name[:255]
        changed.append("name")
    if redirect_uris is not None:
        uris = " ".join(redirect_uris_clean(redirect_uris))
        if uris != application.redirect_uris:
            application.redirect_uris = uris
            changed.append("redirect_uris")
    if changed:
        application.save(update_fields=[*changed, "updated"])
        audit_record(action="oauth.app_update", user=application.user, actor=actor,
                     client_id=application.client_id, fields=changed)
    return application


@transaction.atomic
def application_secret_rotate(*, application: Application, actor: User) -> IssuedSecret:
    """A new client secret; the old one stops working at once. Issued tokens stay valid."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    secret = generate_client_secret()
    locked.client_secret = secret
    locked.save(update_fields=["client_secret", "updated"])
    audit_record(action="oauth.app_rotate_secret", user=locked.user, actor=actor, client_id=locked.client_id)
    return IssuedSecret(application=locked, client_secret=secret)


@transaction.atomic
def application_delete(*, application: Application, actor: User | None) -> None:
    """Deletes the application; its grants, access, refresh and ID tokens go with it (DOT's foreign keys
    cascade, in this transaction, so no token outlives the app)."""
    owner, client_id = application.user, application.client_id
    application.delete()
    if owner is not None:
        audit_record(action="oauth.app_delete", user=owner, actor=actor, client_id=client_id)


def application_authenticate(*, client_id: str, client_secret: str) -> Application:
    """The confidential client presenting this id and secret, run by an active developer (7005 otherwise)."""
    application = Application.objects.filter(client_id=client_id).select_related("user").first() if client_id else None
    stored = application.client_secret if application is not None else ""
    if (not check_password(client_secret or "", stored) or application is None
            or application.user is None or not application.user.is_active):
        raise errors.NotAuthenticatedError("Unknown client or wrong client secret.")
    return application


# --- Revocation --------------------------------------------------------------------------------------------

@transaction.atomic
def oauth_tokens_revoke(*, user: User, now: datetime | None = None) -> int:
    """Ends everything OAuth clients hold for `user`: pending codes, access and ID tokens are deleted,
    refresh tokens marked revoked (so a replay is recognised). Returns how many access tokens ended."""
    now = now or timezone.now()
    Grant.objects.filter(user=user).delete()
    IDToken.objects.filter(user=user).delete()
    count, _ = AccessToken.objects.filter(user=user).delete()
    RefreshToken.objects.filter(user=user, revoked__isnull=True).update(revoked=now)
    return count


@transaction.atomic
def access_token_revoke(*, token: AccessToken, now: datetime | None = None) -> None:
    """Logout with an app's token ends that token and the refresh token issued with it, not the user's
    other sign-ins (those are the user's to end, with logout `all`)."""
    RefreshToken.objects.filter(access_token=token, revoked__isnull=True).update(revoked=now or timezone.now())
    AccessToken.objects.filter(pk=token.pk).delete()


@transaction.atomic
def application_credentials_revoke(*, application: Application, actor: User | None,
                                   now: datetime | None = None) -> int:
    """Ends every token and pending code of one application (the app itself stays)."""
    Grant.objects.filter(application=application).delete()
    IDToken.objects.filter(application=application).delete()
    count, _ = AccessToken.objects.filter(application=application).delete()
    RefreshToken.objects.filter(application=application, revoked__isnull=True).update(revoked=now or timezone.now())
    if application.user is not None:
        audit_record(action="oauth.app_revoke", user=application.user, actor=actor, client_id=application.client_id)
    return count


def owned_applications_revoke(*, owner: User, now: datetime | None = None) -> int:
    """Ends every token and pending code of the apps `owner` runs (when the owner leaves 'active'):
    an app acts for its users only while its developer may sign in."""
    count = 0
    for application in Application.objects.filter(user=owner):
        count += application_credentials_revoke(application=application, actor=None, now=now)
    return count


# --- Introspection ----------------------------------------------------------------------------------------

def token_introspect(*, application: Application, raw: str, now: datetime | None = None) -> dict[str, Any]:
    """RFC 7662 for `application` (an authenticated client): what an access or refresh token it was issued
    is. A token of any other client reads as inactive, exactly like an unknown one, so no client learns
    anything about another's users."""
    now = now or timezone.now()
    checksum = hashlib.sha256(raw.encode()).hexdigest()
    access = (AccessToken.objects.select_related("user")
              .filter(token_checksum=checksum, application=application).first())
    if access is not None and access.is_valid():
        return _introspection(access.scope, access.user, application, access.expires)
    refresh = (RefreshToken.objects.select_related("user", "access_token")
               .filter(token_checksum=checksum, application=application, revoked__isnull=True).first())
    if refresh is not None:
        expires = refresh.created + timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
        if expires > now and refresh.user is not None and refresh.user.is_active:
            scope = refresh.access_token.scope if refresh.access_token is not None else ""
            return {**_introspection(scope, refresh.user, application, expires), "token_type": "refresh_token"}
    return {"active": False}


def _introspection(scope: str, user: User | None, application: Application, expires: datetime) -> dict[str, Any]:
    reply: dict[str, Any] = {"active": True, "scope": scope, "client_id": application.client_id,
                             "exp": int(expires.timestamp()), "token_type": "access_token"}
    if user is not None:
        reply.update(username=user.get_username(), sub=str(user.pk))
    return reply


# --- Seed 001 codes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedTarget:
    """A client and one of its registered redirect URIs, checked before anything is issued."""

    application: Application
    redirect_uri: str


def seed_target_resolve(*, client_id: str, redirect_uri: str) -> SeedTarget:
    application = (Application.objects.filter(
        client_id=client_id, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE
    ).select_related("user").first() if client_id else None)
    if application is None or application.user is None or not application.user.is_active:
        raise errors.NotFoundError("No such OAuth client (secret_id / client_id).")
    if not redirect_uri or not application.redirect_uri_allowed(redirect_uri):
        raise errors.InvalidParametersError(
            "Invalid parameters: redirect_uri: not registered for this client.",
            error={"redirect_uri": ["Not registered for this client."]},
        )
    return SeedTarget(application=application, redirect_uri=redirect_uri)


def seed_target_from(*params: Any) -> SeedTarget | None:
    """The seed 001 target named in the first of `params` (query, then body) that names a client:
    `secret_id` or `client_id`, with `redirect_uri`. None when no client is named."""
    for source in params:
        client_id = source.get("secret_id") or source.get("client_id")
        if client_id:
            return seed_target_resolve(client_id=str(client_id), redirect_uri=str(source.get("redirect_uri") or ""))
    return None


@transaction.atomic
def seed_code_issue(*, user: User, target: SeedTarget, now: datetime | None = None) -> Grant:
    """A single-use code for `target`, valid AUTHORIZATION_CODE_EXPIRE_SECONDS, without PKCE."""
    now = now or timezone.now()
    return Grant.objects.create(
        user=user, application=target.application, code=generate_token(),
        expires=now + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS),
        redirect_uri=target.redirect_uri, scope=SEED_SCOPES, code_challenge="", code_challenge_method="",
    )


def seed_code_exchange(*, client_id: str, client_secret: str, code: str, now: datetime | None = None) -> User:
    """The user behind a seed 001 code, for the client it was issued to; the code is used up, and an
    expired code is deleted too (it is dead anyway)."""
    now = now or timezone.now()
    application = application_authenticate(client_id=client_id, client_secret=client_secret)
    with transaction.atomic():
        grant = (Grant.objects.select_for_update().select_related("user")
                 .filter(code=code, application=application, code_challenge="").first()) if code else None
        if grant is not None:
            grant.delete()
    if grant is None or grant.expires <= now or not grant.user.is_active:
        raise errors.InvalidSecretError("This authorization code is invalid, already used or expired.")
    audit_record(action="oauth.seed_exchange", user=grant.user, actor=grant.user, client_id=client_id)
    return grant.user
