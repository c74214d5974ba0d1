"""OAuth applications and developer mode: creating, changing, rotating and deleting a developer's apps.

A user turns developer mode on once and gets a first application (confidential, authorization-code,
PKCE required). Client secrets are stored hashed by django-oauth-toolkit, so the plaintext is captured
before the save and shown exactly once (on creation and on rotation).
"""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application, Grant
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.validators import AllowedURIValidator

from accounts.models import User
from accountsite import errors
from accountsite.audit import AuditAction, audit_record

MAX_REDIRECT_URIS = 10
MAX_APPS_PER_DEVELOPER = 20
LOOPBACK_HOSTS = ("127.0.0.1", "::1")
PRIVATE_USE_SCHEME = re.compile(r"[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+")


def redirect_uris_clean(value: Any, *, public: bool = False) -> list[str]:
    """A space-separated string or a list of absolute redirect URIs, no fragments, no credentials.
    A confidential client's use the allowed schemes (https only in production); a public client's are
    `_public_redirect_uri_ok`. Raises 1007 naming the bad URI."""
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
    for position, uri in enumerate(uris, 1):  # a refusal names the URI by its place: a 400 never echoes input
        if len(uri) > 512:
            raise _bad_uris("A redirect URI is at most 512 characters.")
        if not (uri.isascii() and uri.isprintable()):  # the URI is not echoed: it holds what it should not
            raise _bad_uris("A redirect URI is printable ASCII: percent-encode anything else.")
        if not _has_valid_port(uri):
            raise _bad_uris(f"Redirect URI {position} is not allowed: a port is a number from 0 to 65535.")
        if public:
            if not _public_redirect_uri_ok(uri):
                raise _bad_uris(f"Redirect URI {position} is not allowed for a public client: https, http on "
                                "127.0.0.1 or [::1], or a private-use scheme such as com.example.app:/cb.")
            continue
        try:
            validator(uri)
        except DjangoValidationError:
            raise _bad_uris(
                f"Redirect URI {position} is not allowed: absolute, scheme "
                f"{'/'.join(oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)}, no fragment."
            ) from None
        parts = urlsplit(uri)
        if not parts.hostname or "@" in parts.netloc:
            raise _bad_uris(f"Redirect URI {position} is not allowed: a host and no credentials.")
    return list(dict.fromkeys(uris))


def _has_valid_port(uri: str) -> bool:
    """Whether the URI's port, if it names one, is a port (0-65535)."""
    try:
        urlsplit(uri).port  # noqa: B018 - raises ValueError past 65535 or when not a number
    except ValueError:
        return False
    return True


def redirect_uri_allowed(application: Application, uri: str) -> bool:
    """Whether an authorization request may send its code to `uri`: one of the application's redirect URIs
    by DOT's rules (exact, or a loopback IP on any port). A URI whose port is no port (past 65535, not a
    number) matches nothing; DOT's check raises on one, asked for or registered before ports were checked."""
    try:
        urlsplit(uri).port  # noqa: B018 - raises for a port past 65535, which DOT let through on a loopback address
        return application.redirect_uri_allowed(uri)
    except ValueError:
        return False


def _public_redirect_uri_ok(uri: str) -> bool:
    """Where a public client may receive codes: a single-page app at an https address; a native app on a
    loopback IP (any port at request time, RFC 8252 section 7.3) or at a private-use scheme named after a
    domain it owns (section 7.1: `com.example.app:/cb`; never a dotless scheme such as javascript:)."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return False
    if "#" in uri or "@" in parts.netloc:
        return False
    if parts.scheme == "https":
        return bool(hostname)
    if parts.scheme == "http":
        return hostname in LOOPBACK_HOSTS
    return bool(PRIVATE_USE_SCHEME.fullmatch(parts.scheme)) and not parts.netloc and parts.path.startswith("/")


def _origins(uris: list[str]) -> str:
    """The https origins of a public client's redirect URIs: a single-page app calls the token endpoint
    from there (CORS, DOT's allowed_origins)."""
    origins = {f"https://{urlsplit(uri).netloc}" for uri in uris if uri.startswith("https://")}
    return " ".join(sorted(origins))


def _app_name(name: str, owner: User) -> str:
    """The name the consent page asks about ("Authorize <name>?"): a blank one is the owner's app."""
    return (name.strip() or f"{owner.username}'s app")[:255]


def _bad_uris(message: str) -> errors.InvalidParametersError:
    return errors.InvalidParametersError(f"Invalid parameters: redirect_uris: {message}",
                                         error={"redirect_uris": [message]})


@dataclass(frozen=True)
class IssuedSecret:
    """An application and its client secret in plaintext: shown once, never stored (None for a public
    client, which has none)."""

    application: Application
    client_secret: str | None


@transaction.atomic
def application_create(*, owner: User, name: str = "", redirect_uris: Any = None,
                       client_type: str = Application.CLIENT_CONFIDENTIAL) -> IssuedSecret:
    """An authorization-code client of `owner` (PKCE is required for every client); the owner becomes a
    developer if they were not one. A confidential client (a server) gets a secret; a public one (a
    native or single-page app, RFC 8252) none, and only the redirect URIs such apps can own."""
    public = client_type == Application.CLIENT_PUBLIC
    uris = redirect_uris_clean(redirect_uris, public=public)
    locked = User.objects.select_for_update(no_key=True).only("pk", "is_developer").get(pk=owner.pk)
    if not locked.is_developer:
        User.objects.filter(pk=owner.pk).update(is_developer=True)
        audit_record(action=AuditAction.DEVELOPER_ENABLE, user=owner, actor=owner)
    owner.is_developer = True
    if Application.objects.filter(user=owner).count() >= MAX_APPS_PER_DEVELOPER:
        raise errors.PermissionDeniedError(f"A developer may have at most {MAX_APPS_PER_DEVELOPER} applications.")
    secret = None if public else generate_client_secret()
    application = Application(
        user=owner, name=_app_name(name, owner), redirect_uris=" ".join(uris),
        client_type=client_type, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        client_secret=secret or "", hash_client_secret=not public, algorithm=Application.RS256_ALGORITHM,
        allowed_origins=_origins(uris) if public else "",
    )
    application.save()  # DOT's ClientSecretField hashes client_secret here
    audit_record(action=AuditAction.OAUTH_APP_CREATE, user=owner, actor=owner, client_id=application.client_id)
    return IssuedSecret(application=application, client_secret=secret)


@transaction.atomic
def developer_enable(*, user: User, redirect_uris: Any = None) -> IssuedSecret | None:
    """Developer mode (PATCH /auth/me {"is_developer": true}): a first application and its secret;
    None when the user already is a developer (secrets are never shown again: rotate one instead). The user's
    row is held whatever it says, so a request racing this one waits, then finds a developer: as if it came
    after (one app and one secret, and its redirect_uris refused)."""
    if User.objects.select_for_update(no_key=True).only("pk", "is_developer").get(pk=user.pk).is_developer:
        user.is_developer = True
        developer_mode_check(user=user, on=True, redirect_uris=redirect_uris)
        return None
    return application_create(owner=user, redirect_uris=redirect_uris)


def developer_mode_check(*, user: User, on: bool | None, redirect_uris: Any) -> None:
    """The rules of PATCH /auth/me's developer fields, checked before anything changes: developer mode
    cannot be turned off there (delete apps instead), and redirect_uris come only with turning it on (a
    developer changes them on the app, so they are refused rather than dropped).
    (Only the user's own sign-in gets this far: accountsite.policy refuses an app's token.)"""
    if redirect_uris is not None and on and user.is_developer:
        raise errors.InvalidParametersError(
            "Invalid parameters: redirect_uris: you are a developer already; change an app's redirect URIs "
            "with PATCH /developer/apps/{id}.",
            error={"redirect_uris": ["You are a developer already; change an app's at /developer/apps/{id}."]},
        )
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


def _locked(application: Application) -> Application:
    """The application's row, held until the transaction ends. The caller read it before: a deletion (a
    racing DELETE /developer/apps/{id}) may have come since, which is 1009, as for a request a moment later."""
    locked = Application.objects.select_for_update().filter(pk=application.pk).first()
    if locked is None:
        raise errors.NotFoundError("No such application.")
    return locked


@transaction.atomic
def application_update(*, application: Application, actor: User, name: str | None = None,
                       redirect_uris: Any = None) -> Application:
    application = _locked(application)
    changed = []
    if name is not None and _app_name(name, application.user) != application.name:
        application.name = _app_name(name, application.user)
        changed.append("name")
    if redirect_uris is not None:
        public = application.client_type == Application.CLIENT_PUBLIC
        uris = redirect_uris_clean(redirect_uris, public=public)
        if " ".join(uris) != application.redirect_uris:
            application.redirect_uris = " ".join(uris)
            changed.append("redirect_uris")
            if public:
                application.allowed_origins = _origins(uris)
                changed.append("allowed_origins")
    if changed:
        application.save(update_fields=[*changed, "updated"])
        if "redirect_uris" in changed:
            _codes_to_unregistered_uris_end(application)
        audit_record(action=AuditAction.OAUTH_APP_UPDATE, user=application.user, actor=actor,
                     client_id=application.client_id, fields=changed)
    return application


def _codes_to_unregistered_uris_end(application: Application) -> None:
    """A redirect URI the developer removed receives no more codes, and the codes already sent there (standard
    and seed 001 alike) can no longer be exchanged: the address may no longer be the developer's."""
    pending = Grant.objects.filter(application=application).values_list("pk", "redirect_uri")
    Grant.objects.filter(pk__in=[pk for pk, uri in pending if not redirect_uri_allowed(application, uri)]).delete()


@transaction.atomic
def application_secret_rotate(*, application: Application, actor: User) -> IssuedSecret:
    """A new client secret; the old one stops working at once. Issued tokens stay valid."""
    locked = _locked(application)
    if locked.client_type != Application.CLIENT_CONFIDENTIAL:
        raise errors.InvalidParametersError("A public client has no secret to rotate.")
    secret = generate_client_secret()
    locked.client_secret = secret
    locked.save(update_fields=["client_secret", "updated"])
    audit_record(action=AuditAction.OAUTH_APP_ROTATE_SECRET, user=locked.user, actor=actor, client_id=locked.client_id)
    return IssuedSecret(application=locked, client_secret=secret)


@transaction.atomic
def application_delete(*, application: Application, actor: User | None) -> None:
    """Deletes the application; its grants, access, refresh and ID tokens go with it (DOT's foreign keys
    cascade, in this transaction, so no token outlives the app). Holds the owner's row first, as a token
    request saving tokens does (revocation.issuing_hold): one saving them now is waited for, and its tokens
    go too."""
    owner, client_id = application.user, application.client_id
    if owner is not None:
        User.objects.hold(owner.pk)
    application.delete()
    if owner is not None:
        audit_record(action=AuditAction.OAUTH_APP_DELETE, user=owner, actor=actor, client_id=client_id)


def application_authenticate(*, client_id: str, client_secret: str) -> Application:
    """The confidential client presenting this id and secret, run by an active developer (7005 otherwise:
    a public client cannot authenticate)."""
    application = Application.objects.filter(client_id=client_id, client_type=Application.CLIENT_CONFIDENTIAL) \
        .select_related("user").first() if client_id else None
    stored = application.client_secret if application is not None else ""
    if (not check_password(client_secret or "", stored) or application is None
            or application.user is None or not application.user.is_active):
        raise errors.NotAuthenticatedError("Unknown client or wrong client secret.")
    return application


def authorization_record(*, user: User, application: Application, scopes: str) -> None:
    """The user let an app act for them (consent given, or a seed 001 code issued): in their security log."""
    audit_record(action=AuditAction.OAUTH_AUTHORIZE, user=user, actor=user, app=application.name,
                 client_id=application.client_id, scopes=scopes)
