"""What outlives an authorization code: when the user signed in for it, the scope they granted, and what its
redemption issued."""

import hashlib
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from oauth2_provider.models import Application, Grant, RefreshToken
from oauth2_provider.settings import oauth2_settings

from accounts.models import OAuthCode


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def code_record(*, grant: Grant, auth_time: datetime | None, now: datetime | None = None) -> OAuthCode:
    """Notes a code just issued, with the time its user signed in (now when unknown) and the scope they
    granted. The same user's and app's notes that can no longer matter go: codes long expired whose tokens
    are all revoked."""
    now = now or timezone.now()
    expired = now - timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
    live_families = RefreshToken.objects.filter(user=grant.user, application=grant.application,
                                                revoked__isnull=True).values("token_family")
    (OAuthCode.objects.filter(user=grant.user, application=grant.application, created_at__lt=expired)
     .exclude(token_family__in=live_families).delete())
    return OAuthCode.objects.create(code_hash=code_hash(grant.code), application=grant.application,
                                    user=grant.user, auth_time=auth_time or now, scope=grant.scope, created_at=now)


def auth_time_of(*, code: str | None = None, token_family: uuid.UUID | None = None) -> datetime | None:
    """When the user signed in for the code (at its redemption) or for the code that started a refresh
    token's family (at a refresh)."""
    if code:
        rows = OAuthCode.objects.filter(code_hash=code_hash(code))
    elif token_family is not None:
        rows = OAuthCode.objects.filter(token_family=token_family)
    else:
        return None
    return rows.values_list("auth_time", flat=True).first()


def scope_granted(*, token_family: uuid.UUID | None) -> str | None:
    """The scope the user granted with the code that started a refresh token's family: what every refresh
    in the family may ask for, and gets when it names none (RFC 6749 section 6). None when unknown: a
    family older than the notes, or whose code was noted before its scope was."""
    if token_family is None:
        return None
    return OAuthCode.objects.filter(token_family=token_family).values_list("scope", flat=True).first()


def code_redeem(*, code: str, now: datetime | None = None) -> bool:
    """Marks the code redeemed; False when it already was (a second, perhaps concurrent, use: one
    conditional UPDATE decides which use is first). A code issued before codes were noted passes."""
    rows = OAuthCode.objects.filter(code_hash=code_hash(code))
    if rows.filter(redeemed_at__isnull=True).update(redeemed_at=now or timezone.now()):
        return True
    return not rows.exists()


def code_family_record(*, code: str, token_family: uuid.UUID) -> None:
    """Notes the refresh-token family the code's redemption started, and revokes it at once when the code
    was replayed meanwhile: that replay found no family to revoke.

    Call it in the transaction that saved the family's first tokens (DOT's save_bearer_token), whose
    commit releases the row lock this UPDATE takes. A replay (code_replay_revoke) marks the row before it
    reads the family, and this notes the family before it reads the mark, so one of the two sees the
    other: a replay marked first is seen here, and one that comes later waits for the lock, then finds
    the family and its committed tokens.

    One statement when there was no replay (the UPDATE's condition is checked again on the row a racing
    replay committed); only a row it left alone, which exists, was replayed."""
    rows = OAuthCode.objects.filter(code_hash=code_hash(code))
    if rows.filter(replayed_at__isnull=True).update(token_family=token_family):
        return
    if rows.update(token_family=token_family):
        RefreshToken.revoke_family(token_family)


def refresh_replay_revoke(*, refresh_token: str, client_id: str) -> None:
    """A refresh token presented again while its first use was rotating it: reuse of a rotated refresh token
    revokes its family, the rotation's new tokens included (RFC 9700 4.14.2), as a replay that comes a moment
    later does (DOT's validate_refresh_token). The replay had waited for the first use's lock, and DOT took it
    for a client's retry within its grace period, answering no token (the token endpoint's DoesNotExist)."""
    family = (RefreshToken.objects.filter(token_checksum=code_hash(refresh_token), application__client_id=client_id)
              .values_list("token_family", flat=True).first())
    RefreshToken.revoke_family(family)


def code_replay_revoke(*, code: str, application: Application, now: datetime | None = None) -> bool:
    """A redeemed code presented again: revokes the refresh tokens its first use issued, every rotation
    of them, and their access tokens (RFC 6749 4.1.2, RFC 9700 4.5). True if the code was redeemed.

    The replay is marked on the code (the first time is kept) before its family is read, in one
    transaction, so the row read is the row marked: the UPDATE waits for a first use that is recording
    its family (code_family_record) to commit it with its tokens, and a first use that has not recorded
    it yet will find the mark and revoke its family itself."""
    rows = OAuthCode.objects.filter(code_hash=code_hash(code), application=application, redeemed_at__isnull=False)
    with transaction.atomic():
        if not rows.update(replayed_at=Coalesce("replayed_at", Value(now or timezone.now()))):
            return False
        RefreshToken.revoke_family(rows.values_list("token_family", flat=True).get())
    return True
