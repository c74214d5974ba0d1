"""JWTs bound to a session: every access and refresh token carries the session id (`sid`)."""

import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Session
from accountsite.errors import NotAuthenticatedError


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


def issued_before(token: Mapping[str, Any], instant: datetime | None) -> bool:
    """Was the token issued before `instant` (a password change)? Microsecond precision."""
    if instant is None:
        return False
    issued = token.get("iat_us", token.get("iat", 0) * 1_000_000)
    return issued < int(instant.timestamp() * 1_000_000)


_FROM_URLSAFE = str.maketrans("-_", "+/")


def _segment(text: str) -> bytes:
    """A base64url segment, strictly: junk characters or bad padding are an invalid token."""
    padded = text.translate(_FROM_URLSAFE) + "=" * (-len(text) % 4)
    return binascii.a2b_base64(padded.encode("ascii"), strict_mode=True)


def _verified_claims(raw: str, kind: str) -> dict[str, Any]:
    """The claims of one of our HS256 tokens of this kind, after the checks simplejwt makes (signature with
    the configured key and algorithm, `exp`, `jti`, `token_type`). Written out because it runs on every
    authenticated request, and simplejwt and PyJWT's generic path cost more than the rest of the request;
    the tokens themselves are still issued by simplejwt. Raises ValueError for any token that is not valid."""
    header, payload, signature = raw.split(".")  # not three segments: ValueError
    # Only HS256 is verified here (the settings name it): another configured algorithm refuses every token.
    if json.loads(_segment(header)).get("alg") != api_settings.ALGORITHM or api_settings.ALGORITHM != "HS256":
        raise ValueError("not an HS256 token")
    key = api_settings.SIGNING_KEY.encode() if isinstance(api_settings.SIGNING_KEY, str) else api_settings.SIGNING_KEY
    expected = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _segment(signature)):
        raise ValueError("bad signature")
    claims = json.loads(_segment(payload))
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    now = time.time()
    leeway = api_settings.LEEWAY.total_seconds() if isinstance(api_settings.LEEWAY, timedelta) else api_settings.LEEWAY
    expires, not_before = claims.get("exp"), claims.get("nbf", 0)
    if (not isinstance(expires, int | float) or isinstance(expires, bool) or expires <= now - leeway
            or not isinstance(not_before, int | float) or not_before > now + leeway):
        raise ValueError("expired, not yet valid, or without an expiry")
    if "jti" not in claims or claims.get("token_type") != kind:
        raise ValueError("not a token of this kind")
    return claims


def _session_bound(raw: str, kind: str) -> dict[str, Any]:
    """Our tokens always name a user id and a session UUID; a signed token without them is not one of ours."""
    try:
        token = _verified_claims(raw, kind)
        sid, uid = token.get("sid"), token.get("uid")
        valid = isinstance(sid, str) and isinstance(uid, int) and str(uuid.UUID(sid)) == sid
    except (ValueError, AttributeError):  # UnicodeError, binascii.Error and JSONDecodeError are ValueErrors
        valid = False
    if not valid:
        raise NotAuthenticatedError()
    return token


def decode_access(raw: str) -> dict[str, Any]:
    return _session_bound(raw, "access")


def decode_refresh(raw: str) -> dict[str, Any]:
    return _session_bound(raw, "refresh")
