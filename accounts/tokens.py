"""JWTs bound to a session: every access and refresh token carries the session id (`sid`)."""

import base64
import binascii
import functools
import hashlib
import hmac
import json
import time
import uuid
from calendar import timegm
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

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


def _jwt() -> Any:
    """simplejwt's settings as they are now: it replaces the object when SIMPLE_JWT changes (in tests)."""
    return simplejwt_settings.api_settings


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _epoch(instant: datetime) -> int:
    return timegm(instant.utctimetuple())


def _expiry(now: datetime, kind: type[Token]) -> int:
    """`exp` as simplejwt sets it, from the token class's lifetime (SIMPLE_JWT's, copied there at import)."""
    return _epoch(now + cast(timedelta, kind.lifetime))


def _base64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


# The header PyJWT writes for HS256 (its keys sorted, no spaces), the same for every token we issue.
_HS256_HEADER = _base64url(b'{"alg":"HS256","typ":"JWT"}')


def token_pair_for(session: Session) -> TokenPair:
    """An access and a refresh token for `session`, byte for byte what simplejwt issues (RefreshToken and its
    access_token: the same claims in the same order, PyJWT's JSON and header), signed in one pass: the HMAC
    over the key and the shared header is computed once and copied for each token. HS256 only, as verified
    by _signed_claims."""
    if _jwt().ALGORITHM != "HS256":
        raise ValueError("tokens are signed with HS256 only")
    now = _now()
    issued = _epoch(now)
    # `iat` has whole seconds only; a password change must also end tokens issued earlier in its second.
    shared: dict[str, Any] = {"uid": session.user_id, "sid": str(session.id),
                              "iat_us": int(now.timestamp() * 1_000_000)}
    refresh: dict[str, Any] = {"token_type": "refresh", "exp": _expiry(now, RefreshToken), "iat": issued,
                               "jti": uuid.uuid4().hex, **shared}
    access: dict[str, Any] = {"token_type": "access", "exp": _expiry(now, AccessToken), "iat": issued,
                              "jti": uuid.uuid4().hex, **shared}
    header = hmac.new(_signing_key(), _HS256_HEADER + b".", hashlib.sha256)

    def signed(claims: dict[str, Any]) -> str:
        payload = _base64url(json.dumps(claims, separators=(",", ":")).encode())
        mac = header.copy()
        mac.update(payload)
        return b".".join((_HS256_HEADER, payload, _base64url(mac.digest()))).decode("ascii")

    return TokenPair(
        access=signed(access), refresh=signed(refresh), refresh_jti=refresh["jti"],
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
    """A base64url segment, strictly: junk characters or any padding (a JWT's segments have none, RFC 7515)
    are an invalid token, so a token has one spelling only."""
    if "=" in text:
        raise ValueError("padded segment")
    padded = text.translate(_FROM_URLSAFE) + "=" * (-len(text) % 4)
    return binascii.a2b_base64(padded.encode("ascii"), strict_mode=True)


def _signing_key() -> bytes:
    key = _jwt().SIGNING_KEY
    return key.encode() if isinstance(key, str) else key


@functools.lru_cache(maxsize=256)
def _signed_claims(raw: str, kind: str, algorithm: str, key: bytes) -> dict[str, Any]:
    """The claims of one of our HS256 tokens of this kind, once its signature (with this key and algorithm),
    `jti`, `token_type` and its user and session are checked: the checks simplejwt makes, but the time.
    Written out because it runs on every authenticated request, and simplejwt and PyJWT's generic path cost
    more than the rest of the request; token_pair_for issues them as simplejwt would. Raises ValueError for
    any token that is not one.

    A client sends the same token with every request until it expires, and none of this can change for a
    given token, key and algorithm, so the answers for the last 256 tokens of a worker are kept (a few
    hundred kB at most; a refused token is never kept, so forged ones cannot fill it). What can change, the
    time and the session, is checked at every request: _session_bound, then the session's row."""
    header, payload, signature = raw.split(".")  # not three segments: ValueError
    # Only HS256 is verified here (the settings name it): another configured algorithm refuses every token.
    # The signature is checked before either segment is parsed, so no JSON but our own is ever read (JSON
    # nested a thousand deep in a forged header raised RecursionError, not a ValueError).
    if algorithm != "HS256":
        raise ValueError("not an HS256 token")
    expected = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _segment(signature)):
        raise ValueError("bad signature")
    if json.loads(_segment(header)).get("alg") != algorithm:
        raise ValueError("not an HS256 token")
    claims = json.loads(_segment(payload))
    if not isinstance(claims, dict) or "jti" not in claims or claims.get("token_type") != kind:
        raise ValueError("not a token of this kind")
    # Our tokens always name a user id and a session UUID; a signed token without them is not one of ours.
    sid, uid = claims.get("sid"), claims.get("uid")
    if not (isinstance(sid, str) and isinstance(uid, int) and str(uuid.UUID(sid)) == sid):
        raise ValueError("no user or session")
    return claims


def _in_time(claims: Mapping[str, Any]) -> bool:
    """`exp` (required) and `nbf` hold now, within simplejwt's leeway."""
    now = time.time()
    leeway = _jwt().LEEWAY
    leeway = leeway.total_seconds() if isinstance(leeway, timedelta) else leeway
    expires, not_before = claims.get("exp"), claims.get("nbf", 0)
    return (isinstance(expires, int | float) and not isinstance(expires, bool) and expires > now - leeway
            and isinstance(not_before, int | float) and not_before <= now + leeway)


def _session_bound(raw: str, kind: str) -> dict[str, Any]:
    """The verified claims of a token of ours of this kind, valid now (a copy: the kept ones stay as read)."""
    try:
        claims = _signed_claims(raw, kind, _jwt().ALGORITHM, _signing_key())
    except (ValueError, AttributeError):  # UnicodeError, binascii.Error and JSONDecodeError are ValueErrors;
        claims = None  # AttributeError: a header that is JSON but not an object
    if claims is None or not _in_time(claims):
        raise NotAuthenticatedError()
    return dict(claims)


def decode_access(raw: str) -> dict[str, Any]:
    return _session_bound(raw, "access")


def decode_refresh(raw: str) -> dict[str, Any]:
    return _session_bound(raw, "refresh")
