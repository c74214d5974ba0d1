"""JWTs bound to a session: every access and refresh token carries the session id (`sid`)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from accounts.models import Session
from accountsite.errors import NotAuthenticatedError

BoundToken = TypeVar("BoundToken", bound=Token)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    refresh_jti: str
    expires_at: datetime  # when the access token expires
    refresh_expires_at: datetime

    def as_reply(self) -> dict:
        return {"access": self.access, "refresh": self.refresh, "expires_at": self.expires_at,
                "token_type": "Bearer"}


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def token_pair_for(session: Session) -> TokenPair:
    refresh = RefreshToken()
    refresh["uid"] = session.user_id
    refresh["sid"] = str(session.id)
    # `iat` has whole seconds only; a password change must also end tokens issued earlier in its second.
    refresh["iat_us"] = int(refresh.current_time.timestamp() * 1_000_000)
    access = refresh.access_token  # copies uid and sid, with its own jti, iat and shorter exp
    return TokenPair(
        access=str(access), refresh=str(refresh), refresh_jti=refresh["jti"],
        expires_at=_instant(access["exp"]), refresh_expires_at=_instant(refresh["exp"]),
    )


def issued_before(token: Token, instant: datetime | None) -> bool:
    """Was the token issued before `instant` (a password change)? Microsecond precision."""
    if instant is None:
        return False
    issued = token.get("iat_us", token.get("iat", 0) * 1_000_000)
    return issued < int(instant.timestamp() * 1_000_000)


def _session_bound(token: BoundToken) -> BoundToken:
    """Our tokens always name a user id and a session UUID; a signed token without them is not one of ours."""
    sid, uid = token.get("sid"), token.get("uid")
    try:
        valid = isinstance(sid, str) and isinstance(uid, int) and str(uuid.UUID(sid)) == sid
    except ValueError:
        valid = False
    if not valid:
        raise NotAuthenticatedError()
    return token


def decode_access(raw: str) -> AccessToken:
    try:
        return _session_bound(AccessToken(raw))  # type: ignore[arg-type]  # simplejwt types it as a Token
    except TokenError:
        raise NotAuthenticatedError() from None


def decode_refresh(raw: str) -> RefreshToken:
    try:
        return _session_bound(RefreshToken(raw))  # type: ignore[arg-type]  # simplejwt types it as a Token
    except TokenError:
        raise NotAuthenticatedError() from None
