"""Seed 001's authorization codes, beside the standard flow.

The old API issues a code at login (`POST /login/?secret_id=&redirect_uri=`) or after the consent page
(`GET /oauth/?secret_id=&redirect_uri=`) and exchanges it server-to-server with the client secret
(`POST /oauth/`). Those codes are django-oauth-toolkit `Grant` rows created here with NO PKCE challenge:

- the token endpoint refuses them (PKCE_REQUIRED: a grant without a challenge is "Challenge not found"),
  and the seed exchange refuses grants that carry a challenge, so neither flow can redeem the other's
  codes and the standard flow keeps its PKCE protection;
- a code lives AUTHORIZATION_CODE_EXPIRE_SECONDS (60 s), is bound to its application and to a redirect
  URI registered on it, and is single use: the exchange deletes the row under `select_for_update`, so two
  concurrent exchanges cannot both succeed;
- they are revoked with everything else (accounts.oauth.revocation) and by deleting the application.

Errors: unknown client 1009, unregistered redirect_uri 1007 (both before anything is issued); wrong client
secret at the exchange 7005 (the client failed to authenticate, as OAuth's invalid_client); unknown, used,
expired or foreign code 8005.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import Application, Grant
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import generate_token

from accounts.models import User
from accounts.oauth.applications import application_authenticate, authorization_record, redirect_uri_allowed
from accountsite import errors
from accountsite.audit import AuditAction, audit_record

# What a seed 001 code lets the client read: POST /oauth/ answers {username, email}.
SEED_SCOPES = "profile email"


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
    if not redirect_uri or not redirect_uri_allowed(application, redirect_uri):
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
    authorization_record(user=user, application=target.application, scopes=SEED_SCOPES)
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
    audit_record(action=AuditAction.OAUTH_SEED_EXCHANGE, user=grant.user, actor=grant.user, client_id=client_id)
    return grant.user
