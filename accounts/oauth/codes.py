"""What outlives an authorization code: when the user signed in for it, and what its redemption issued."""

import hashlib
import uuid
from datetime import datetime

from django.utils import timezone
from oauth2_provider.models import Grant

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
