"""Ending what OAuth clients hold: a user's tokens and codes, one token, one app's, a developer's apps'.

`oauth_tokens_revoke` is called by accounts' session revocation (logout-all, password change and reset,
leaving 'active', deletion); deleting an application takes its tokens and grants along (foreign keys).
"""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken

from accounts.models import User
from accountsite.audit import AuditAction, audit_record


class CredentialEnded(Exception):
    """The refresh token or code a token request presented ended while the request was being checked: a
    racing use rotated or redeemed it, or it was revoked."""


def _user_hold(user: User) -> None:
    User.objects.hold(user.pk)


def _owner_hold(application: Application) -> None:
    """Holds the row of the app's owner, as leaving 'active' does (user_status_set): what ends the app's
    tokens (its owner's status change, its deletion, an operator's revocation) and a token request saving
    new ones queue behind each other, so the one that comes second sees what the first did."""
    if application.user_id is not None:
        User.objects.hold(application.user_id)


def issuing_hold(*, user: User, application: Application, refresh_token: RefreshToken | None = None,
                 code: str | None = None) -> None:
    """Called as a token request's tokens are saved, in that transaction. It holds the user's row, as
    oauth_tokens_revoke does, and the app owner's, as the end of the app's tokens does (the two in the order
    of their ids, so two requests holding both never wait for each other), so a revocation of the user's
    credentials or of the app's either ended what the request presented before this or, waiting, sees the
    tokens made here. Then the refresh token (locked until the tokens are saved) or the code presented must
    still stand; raises CredentialEnded if not."""
    held = sorted({user.pk, application.user_id} - {None})
    list(User.objects.select_for_update(no_key=True).filter(pk__in=held).order_by("pk").values_list("pk", flat=True))
    if refresh_token is not None:
        stands = RefreshToken.objects.select_for_update().filter(pk=refresh_token.pk, revoked__isnull=True)
    else:
        stands = Grant.objects.filter(code=code, application=application)
    if stands.values_list("pk", flat=True).first() is None:
        raise CredentialEnded()


@transaction.atomic
def oauth_tokens_revoke(*, user: User, now: datetime | None = None) -> int:
    """Ends everything OAuth clients hold for `user`: pending codes, access and ID tokens are deleted,
    refresh tokens marked revoked (so a replay is recognised). Returns how many access tokens ended. Holds
    the user's row first, as a token request saving tokens does (issuing_hold), and takes refresh tokens
    before access tokens, as DOT's rotation does."""
    now = now or timezone.now()
    _user_hold(user)
    Grant.objects.filter(user=user).delete()
    IDToken.objects.filter(user=user).delete()
    RefreshToken.objects.filter(user=user, revoked__isnull=True).update(revoked=now)
    count, _ = AccessToken.objects.filter(user=user).delete()
    return count


@transaction.atomic
def access_token_revoke(*, token: AccessToken, now: datetime | None = None) -> None:
    """Logout with an app's token ends that token and the refresh token issued with it, not the user's
    other sign-ins (those are the user's to end, with logout `all`)."""
    RefreshToken.objects.filter(access_token=token, revoked__isnull=True).update(revoked=now or timezone.now())
    AccessToken.objects.filter(pk=token.pk).delete()


CREDENTIAL_KINDS = {AccessToken: "access token", RefreshToken: "refresh token", Grant: "authorization code"}


@transaction.atomic
def credentials_revoke_by_operator(*, credentials: QuerySet, actor: User | None, now: datetime | None = None) -> int:
    """An operator ends some of what apps hold (the back office's token and code lists): an access token with the
    refresh token issued with it, a refresh token with its access token (marked revoked, so a replay is still
    recognised), a pending code. Each user whose credentials ended gets one audit row naming the operator, the
    kind, how many and the apps. Returns how many ended."""
    now = now or timezone.now()
    ended: defaultdict[User, list[str]] = defaultdict(list)
    count = 0
    for credential in credentials.select_related("user", "application"):
        if isinstance(credential, AccessToken):
            access_token_revoke(token=credential, now=now)
        elif isinstance(credential, RefreshToken):
            credential.revoke()
        else:
            credential.delete()
        count += 1
        if credential.user is not None:
            ended[credential.user].append(credential.application.client_id if credential.application else "")
    for user, client_ids in ended.items():
        audit_record(action=AuditAction.OAUTH_CREDENTIALS_REVOKE, user=user, actor=actor,
                     kind=CREDENTIAL_KINDS[credentials.model], count=len(client_ids),
                     client_ids=sorted(set(client_ids)))
    return count


@transaction.atomic
def application_credentials_revoke(*, application: Application, actor: User | None,
                                   now: datetime | None = None) -> int:
    """Ends every token and pending code of one application (the app itself stays)."""
    _owner_hold(application)
    Grant.objects.filter(application=application).delete()
    IDToken.objects.filter(application=application).delete()
    count, _ = AccessToken.objects.filter(application=application).delete()
    RefreshToken.objects.filter(application=application, revoked__isnull=True).update(revoked=now or timezone.now())
    if application.user is not None:
        audit_record(action=AuditAction.OAUTH_APP_REVOKE, user=application.user, actor=actor,
                     client_id=application.client_id)
    return count


def owned_applications_revoke(*, owner: User, now: datetime | None = None) -> int:
    """Ends every token and pending code of the apps `owner` runs (when the owner leaves 'active'):
    an app acts for its users only while its developer may sign in."""
    count = 0
    for application in Application.objects.filter(user=owner):
        count += application_credentials_revoke(application=application, actor=None, now=now)
    return count
