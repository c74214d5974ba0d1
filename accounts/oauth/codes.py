"""What outlives an authorization code: when the user signed in for it, and what its redemption issued."""

import hashlib
import uuid
from datetime import datetime

from django.utils import timezone
from oauth2_provider.models import Application, Grant, RefreshToken

from accounts.models import OAuthCode


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def code_record(*, grant: Grant, auth_time: datetime | None) -> OAuthCode:
    """Notes a code just issued, with the time its user signed in (now when unknown)."""
    return OAuthCode.objects.create(code_hash=code_hash(grant.code), application=grant.application,
                                    user=grant.user, auth_time=auth_time or timezone.now())


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


def code_redeem(*, code: str, now: datetime | None = None) -> bool:
    """Marks the code redeemed; False when it already was (a second, perhaps concurrent, use: one
    conditional UPDATE decides which use is first). A code issued before codes were noted passes."""
    rows = OAuthCode.objects.filter(code_hash=code_hash(code))
    if rows.filter(redeemed_at__isnull=True).update(redeemed_at=now or timezone.now()):
        return True
    return not rows.exists()


def code_replay_revoke(*, code: str, application: Application) -> bool:
    """A redeemed code presented again: revokes the refresh tokens its first use issued, every rotation
    of them, and their access tokens (RFC 6749 4.1.2, RFC 9700 4.5). True if the code was redeemed."""
    family = (OAuthCode.objects.filter(code_hash=code_hash(code), application=application,
                                       redeemed_at__isnull=False)
              .values_list("token_family", flat=True).first())
    if family is None:
        return False
    RefreshToken.revoke_family(family)
    return True
