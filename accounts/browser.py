"""Browser sign-ins (the admin and the OAuth sign-in page) through the same credential service as the API.

A browser signs in with the same checks as POST /auth/login (the per-account and per-IP lockout, the
status rules, the audit row) and gets a session row like any terminal, named in its Django session.
`BrowserSessionMiddleware` asks for that row on every browser request, so logging out everywhere, a
password or status change, or an operator revoking the session signs the browser out at once, on every
worker. Django's own password check (`authenticate`) is not a way in: `LoginNameBackend` refuses it.
"""

import json
import re
import secrets
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
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts import selectors
from accounts.models import MfaMethod, RevokeReason, Session, User
from accounts.services import challenges, mfa, passkeys, sessions
from accountsite import errors
from accountsite.requests import BrowserOnlyMiddleware, client_ip

SESSION_ROW_KEY = "_accounts_session_id"
PENDING_KEY = "_accounts_mfa_token"  # a sign-in waiting for its second factor (accounts.services.challenges)
PASSKEY_OPTIONS_KEY = "_accounts_mfa_webauthn"  # its options for navigator.credentials.get(), if any
ENROLMENT_KEY = "_accounts_enrolment"  # when this browser's password was asked again to add a factor
ENROLMENT_SECONDS = 10 * 60  # how long that answer lets the browser add one
BROWSER_COOKIE = "accountsite_browser"  # this browser's own id, in the terminal of its sign-ins (browser_terminal)
BROWSER_COOKIE_SECONDS = 400 * 24 * 3600  # the longest a browser keeps a cookie (RFC 6265bis)
_BROWSER_ID = re.compile(r"[0-9a-f]{12}")


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


def credentials_check(request: HttpRequest, *, login: str, password: str) -> tuple[User, list[MfaMethod]]:
    """The user these credentials name, if they may sign in, and the second factors still to check: the
    API's rules and limits, and errors."""
    return sessions.sign_in_check(login=login, password=password, ip=client_ip(request))


def browser_terminal(request: HttpRequest, door: str) -> str:
    """The terminal of a sign-in at `door` (the admin, the OAuth sign-in page) in this browser: the door and
    the browser's own id, kept in a cookie. Each browser then has its own session at each door: signing in
    again replaces this browser's session, not another browser's, and the browser stays the same device for
    the new-device notice. A cookie that is not such an id (or none) gets a new one (set on the reply by
    BrowserSessionMiddleware)."""
    browser = request.COOKIES.get(BROWSER_COOKIE, "")
    if not _BROWSER_ID.fullmatch(browser):
        browser = request.new_browser_id = secrets.token_hex(6)  # type: ignore[attr-defined]
    return f"{door} {browser}"


def browser_sign_in(request: HttpRequest, *, user: User, terminal: str) -> Session:
    """Signs the browser in as `user` (whose credentials were just checked) on `terminal`."""
    session = sessions.browser_session_start(
        user=user, terminal=terminal, ip=client_ip(request), user_agent=_user_agent(request),
        lifetime=timedelta(seconds=settings.SESSION_COOKIE_AGE),
    )
    django_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session[SESSION_ROW_KEY] = str(session.pk)
    return session


def second_factor_begin(request: HttpRequest, *, user: User, methods: list[MfaMethod], terminal: str) -> bool:
    """If the account has second factors (`methods`, from credentials_check), the sign-in waits for one
    (remembered in the browser's session) and this answers True: the door asks for it next."""
    if not methods:
        return False
    challenge = challenges.challenge_issue(user=user, methods=methods, terminal=terminal)
    request.session[PENDING_KEY], request.session[PASSKEY_OPTIONS_KEY] = challenge.token, challenge.webauthn
    return True


def second_factor_pending(request: HttpRequest) -> bool:
    return bool(request.session.get(PENDING_KEY))


def second_factor_passkey_options(request: HttpRequest) -> dict | None:
    """The waiting sign-in's options for navigator.credentials.get(), when the account has passkeys."""
    return request.session.get(PASSKEY_OPTIONS_KEY)


def _assertion(raw: str) -> dict:
    """The posted PublicKeyCredential; anything else is an empty one, which fails like a wrong passkey."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: arrays or objects nested a thousand deep
        return {}
    return value if isinstance(value, dict) else {}


def second_factor_finish(request: HttpRequest, *, code: str = "", webauthn: str = "") -> Session:
    """Finishes the waiting sign-in with a passkey's answer (`webauthn`, JSON), a code of the authenticator
    app (digits) or a recovery code, with the API's rules (challenges.challenge_finish: single use,
    lockout), and signs the browser in."""
    code = code.strip()
    if not (code or webauthn):  # an empty submit is no wrong factor: nothing is counted
        raise errors.InvalidParametersError("Type a code of the authenticator app or a recovery code.")
    totp = mfa.looks_like_totp_code(code)
    pending = challenges.challenge_finish(
        token=request.session.get(PENDING_KEY, ""), ip=client_ip(request), code=code if totp else "",
        recovery_code="" if totp else code, assertion=_assertion(webauthn) if webauthn else None)
    for key in (PENDING_KEY, PASSKEY_OPTIONS_KEY):
        request.session.pop(key, None)
    return browser_sign_in(request, user=pending.user, terminal=pending.terminal)


def passkey_sign_in(request: HttpRequest, *, token: str, webauthn: str, terminal: str) -> Session:
    """Signs the browser in with a passkey instead of the password: the answer (`webauthn`, JSON) to the
    options of POST /auth/login/passkey/options that `token` names, with the API's rules."""
    user = passkeys.passwordless_verify(token=token, credential=_assertion(webauthn), ip=client_ip(request))
    return browser_sign_in(request, user=user, terminal=terminal)


def enrolment_required(user: Any) -> bool:
    """Whether a signed-in staff member must enrol a second factor before using the back office
    (STAFF_MFA_REQUIRED), whichever door they came in by. Asked of the account on every back-office page (one
    query), so a factor turned off elsewhere, through the API, sends them back to enrol at their next page."""
    return bool(settings.STAFF_MFA_REQUIRED and user.is_authenticated and user.is_staff and not user.has_second_factor)


def enrolment_authorize(request: HttpRequest, *, user: User, password: str) -> None:
    """The password again before a back-office page adds a second factor, as the API asks it
    (mfa.factor_enrolment_authorize, counted like a sign-in): whoever holds only the browser's session
    cookie must not add a factor of their own, nor see the secret being enrolled. The answer holds for
    ENROLMENT_SECONDS in this browser's session."""
    mfa.factor_enrolment_authorize(user=user, password=password, ip=client_ip(request))
    request.session[ENROLMENT_KEY] = [user.pk, timezone.now().timestamp()]


def enrolment_authorized(request: HttpRequest) -> bool:
    user_pk, since = request.session.get(ENROLMENT_KEY) or (None, 0.0)
    return user_pk == request.user.pk and timezone.now().timestamp() - since < ENROLMENT_SECONDS


def enrolment_done(request: HttpRequest) -> None:
    request.session.pop(ENROLMENT_KEY, None)


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
    """Django's authentication middleware, with the session row checked behind each signed-in browser; it
    also gives a browser the id a sign-in made for it (browser_terminal)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        # As Django's own middleware does (django-stubs types request.user as the user itself).
        request.user = SimpleLazyObject(partial(_browser_user, request))  # type: ignore[assignment]
        request.auser = sync_to_async(partial(_browser_user, request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        browser = getattr(request, "new_browser_id", None)
        if browser is not None:
            response.set_cookie(BROWSER_COOKIE, browser, max_age=BROWSER_COOKIE_SECONDS, httponly=True,
                                secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
        return response


class BrowserSignInMiddleware(BrowserOnlyMiddleware, BrowserSessionMiddleware):
    """BrowserSessionMiddleware, for browser pages only (accountsite.requests.BrowserOnlyMiddleware)."""
