"""DRF authentication by session-bound JWT, from `Authorization: Bearer|Token` or a bare `token:` header."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication

from accounts import selectors
from accounts.models import Session
from accounts.services import sessions
from accounts.tokens import decode_access, issued_before
from accountsite.errors import NotAuthenticatedError


@dataclass(frozen=True)
class SessionCredentials:
    """`request.auth` for a JWT: the session it belongs to and the decoded token. A JWT is only ever
    issued to the user themself, so it is a first-hand credential (accountsite.policy)."""

    session: Session
    token: Mapping[str, Any]  # its verified claims
    first_party = True


def raw_token(request: Any) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
        return None
    return request.META.get("HTTP_TOKEN", "").strip() or None


def _looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2


class SessionTokenAuthentication(BaseAuthentication):
    """One query per request: the token's session joined with its user.

    Revocation is a row update, so it holds at once on every worker and host sharing the database.
    Tokens that are not JWTs are left to the next authentication class (OAuth2 access tokens).
    """

    def authenticate(self, request: Any) -> tuple[Any, SessionCredentials] | None:
        raw = raw_token(request)
        if raw is None or not _looks_like_jwt(raw):
            return None
        token = decode_access(raw)
        session = selectors.live_session(token.get("sid", ""))
        if session is None or session.user_id != token.get("uid"):
            raise NotAuthenticatedError()
        user = session.user
        sessions.user_assert_can_sign_in(user)
        if issued_before(token, user.password_changed_at):
            raise NotAuthenticatedError()
        sessions.session_touch(session=session)
        return user, SessionCredentials(session=session, token=token)

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
