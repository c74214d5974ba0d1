"""Browser sign-ins (the admin and the OAuth sign-in page) through the same credential service as the API.

A browser signs in with the same checks as POST /auth/login (the per-account and per-IP lockout, the
status rules, the audit row) and gets a session row like any terminal, named in its Django session.
`BrowserSessionMiddleware` asks for that row on every browser request, so logging out everywhere, a
password or status change, or an operator revoking the session signs the browser out at once, on every
worker. Django's own password check (`authenticate`) is not a way in: `LoginNameBackend` refuses it.
"""

from datetime import timedelta
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import selectors
from accounts.models import RevokeReason, Session, User
from accounts.services import sessions
from accountsite.requests import BrowserOnlyMiddleware, client_ip

SESSION_ROW_KEY = "_accounts_session_id"


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


def credentials_check(request: HttpRequest, *, login: str, password: str) -> User:
    """The user these credentials name, if they may sign in: the API's rules and limits, and errors."""
    user = sessions.credentials_verify(login=login, password=password, ip=client_ip(request))
    sessions.user_assert_can_sign_in(user)
    return user


def browser_sign_in(request: HttpRequest, *, user: User, terminal: str) -> Session:
    """Signs the browser in as `user` (whose credentials were just checked) on `terminal`."""
    session = sessions.browser_session_start(
        user=user, terminal=terminal, ip=client_ip(request), user_agent=_user_agent(request),
        lifetime=timedelta(seconds=settings.SESSION_COOKIE_AGE),
    )
    django_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session[SESSION_ROW_KEY] = str(session.pk)
    return session


def browser_session(request: HttpRequest) -> Session | None:
    """The live session row behind this browser's sign-in, if any."""
    session_id = request.session.get(SESSION_ROW_KEY)
    return selectors.live_session(session_id) if session_id else None


def browser_sign_out(request: HttpRequest) -> None:
    session = browser_session(request)
    if session is not None:
        sessions.session_revoke(session=session, reason=RevokeReason.LOGOUT)
    django_logout(request)


def _browser_user(request: HttpRequest) -> Any:
    user = get_user(request)
    if not user.is_authenticated:
        return user
    session = browser_session(request)
    if session is None or session.user_id != user.pk:
        request.session.flush()  # revoked, expired, or a cookie from before session rows: sign in again
        return AnonymousUser()
    sessions.session_touch(session=session)
    return user


class BrowserSessionMiddleware(AuthenticationMiddleware):
    """Django's authentication middleware, with the session row checked behind each signed-in browser."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        # As Django's own middleware does (django-stubs types request.user as the user itself).
        request.user = SimpleLazyObject(partial(_browser_user, request))  # type: ignore[assignment]
        request.auser = sync_to_async(partial(_browser_user, request))


class BrowserSignInMiddleware(BrowserOnlyMiddleware, BrowserSessionMiddleware):
    """BrowserSessionMiddleware, for browser pages only (accountsite.requests.BrowserOnlyMiddleware)."""
