"""The /auth API: registration, sign-in per terminal, tokens, sessions and the caller's own profile."""

from collections.abc import Mapping
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import SessionCredentials, SessionTokenAuthentication
from accounts.models import RevokeReason, User
from accounts.oauth import applications, seed
from accounts.oauth.authentication import AppCredentials
from accounts.permissions import assert_fields_allowed
from accounts.serializers import (
    LoginInputSerializer,
    LoginReplySerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    MfaChallengeSerializer,
    MfaLoginInputSerializer,
    PasskeyLoginInputSerializer,
    PasskeyOptionsSerializer,
    PasswordChangeInputSerializer,
    PublicUserSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    TokenReplySerializer,
    UnregisterInputSerializer,
    UserSerializer,
    user_data,
)
from accounts.services import challenges, passkeys, passwords, sessions, users
from accountsite import policy
from accountsite.errors import (
    EmailTakenError,
    InvalidParametersError,
    LoginNameTakenError,
    NotAuthenticatedError,
    NotFoundError,
    ServiceError,
)
from accountsite.fastpath import with_fast_read
from accountsite.permissions import PolicyMixin
from accountsite.policy import Caller, Op
from accountsite.ratelimit import REGISTRATIONS_PER_IP
from accountsite.requests import client_ip, no_input, valid_input

# Only accepted sign-ups and those for a name or address already taken count toward the per-IP limit: a
# client's refused input (a short password, a bad name) costs nothing.
REGISTRATION_COUNTED = (LoginNameTakenError, EmailTakenError)


def current_session(request: Request):
    return request.auth.session if isinstance(request.auth, SessionCredentials) else None


def user_agent(request: Request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


class SignInViewSet(PolicyMixin, viewsets.ViewSet):
    """Endpoints that issue credentials; a stale token sent along must not get in the way."""

    authentication_classes = ()
    operations = {"register": Op.SIGN_IN, "login": Op.SIGN_IN, "refresh": Op.SIGN_IN, "login_mfa": Op.SIGN_IN,
                  "login_passkey_options": Op.SIGN_IN, "login_passkey": Op.SIGN_IN}

    @extend_schema(request=RegisterInputSerializer, responses={201: LoginReplySerializer}, tags=["auth"])
    @action(detail=False, methods=["post"])
    def register(self, request: Request) -> Response:
        ip = client_ip(request)
        with REGISTRATIONS_PER_IP.attempt(ip, counted=REGISTRATION_COUNTED):
            data = valid_input(RegisterInputSerializer, request)
            user, pair = users.user_register(ip=ip, user_agent=user_agent(request), **data)
        reply = {"user": user_data(user)}
        if pair is not None:  # with activation required, no tokens until the e-mailed code is used
            reply.update(pair.as_reply(), terminal=data["terminal"])
        return Response(reply, status=status.HTTP_201_CREATED)

    @extend_schema(request=LoginInputSerializer, tags=["auth"], responses=PolymorphicProxySerializer(
        component_name="LoginOrSecondFactor", serializers=[LoginReplySerializer, MfaChallengeSerializer],
        resource_type_field_name=None))
    @action(detail=False, methods=["post"])
    def login(self, request: Request) -> Response:
        data = valid_input(LoginInputSerializer, request)
        oauth_target = seed.seed_target_from(request.query_params, data)  # seed 001, checked before sign-in
        user, methods = sessions.sign_in_check(login=data["login"], password=data["password"],
                                               ip=client_ip(request))
        if methods:  # the second factor comes first (POST /auth/login/mfa), then the session
            target = ({"client_id": oauth_target.application.client_id, "redirect_uri": oauth_target.redirect_uri}
                      if oauth_target is not None else {})
            challenge = challenges.challenge_issue(user=user, methods=methods, terminal=data["terminal"],
                                                   extra=target)
            return Response(MfaChallengeSerializer(challenge.as_reply()).data)
        return self._signed_in(request, user, data["terminal"], oauth_target)

    def _signed_in(self, request: Request, user: User, terminal: str, oauth_target: seed.SeedTarget | None) -> Response:
        session, pair = sessions.session_start(user=user, terminal=terminal, ip=client_ip(request),
                                               user_agent=user_agent(request))
        reply = {"user": user_data(user), **pair.as_reply(), "terminal": session.terminal}
        if oauth_target is not None:
            grant = seed.seed_code_issue(user=user, target=oauth_target)
            reply.update(authorization_code=grant.code, redirect_uri=grant.redirect_uri)
        return Response(reply)

    @extend_schema(request=MfaLoginInputSerializer, responses=LoginReplySerializer, tags=["auth"])
    @action(detail=False, methods=["post"], url_path="login/mfa")
    def login_mfa(self, request: Request) -> Response:
        data = valid_input(MfaLoginInputSerializer, request)
        pending = challenges.challenge_finish(token=data["mfa_token"], ip=client_ip(request),
                                              code=data.get("code", ""), recovery_code=data.get("recovery_code", ""),
                                              assertion=data.get("webauthn"))
        target = seed.seed_target_resolve(**pending.extra) if pending.extra else None
        return self._signed_in(request, pending.user, pending.terminal, target)

    @extend_schema(request=None, responses=PasskeyOptionsSerializer, tags=["auth"])
    @action(detail=False, methods=["post"], url_path="login/passkey/options")
    def login_passkey_options(self, request: Request) -> Response:
        no_input(request)
        return Response(passkeys.passwordless_options())

    @extend_schema(request=PasskeyLoginInputSerializer, responses=LoginReplySerializer, tags=["auth"])
    @action(detail=False, methods=["post"], url_path="login/passkey")
    def login_passkey(self, request: Request) -> Response:
        """A sign-in with a passkey instead of the password (it is both factors: possession and, with user
        verification, the authenticator's PIN or biometrics)."""
        data = valid_input(PasskeyLoginInputSerializer, request)
        user = passkeys.passwordless_verify(token=data["passkey_token"], credential=data["webauthn"],
                                            ip=client_ip(request))
        return self._signed_in(request, user, data["terminal"], None)

    @extend_schema(request=RefreshInputSerializer, responses=TokenReplySerializer, tags=["auth"])
    @action(detail=False, methods=["post"])
    def refresh(self, request: Request) -> Response:
        data = valid_input(RefreshInputSerializer, request)
        return Response(sessions.session_refresh(raw_refresh=data["refresh"]).as_reply())


class AuthViewSet(PolicyMixin, viewsets.ViewSet):
    """The signed-in caller's own account."""

    operations = {"logout": Op.SIGN_OUT, "password": Op.SIGN_IN, "unregister": Op.SIGN_IN}

    @extend_schema(request=LogoutInputSerializer, responses={200: None}, tags=["auth"])
    @action(detail=False, methods=["post"])
    def logout(self, request: Request) -> Response:
        data = valid_input(LogoutInputSerializer, request)
        _own_name_only(request, data)
        if data["all"]:
            self.authorize(Op.SESSIONS)
        session = current_session(request)
        app = request.auth if isinstance(request.auth, AppCredentials) else None
        revoked = sessions.logout(user=selectors.signed_in(request), session=session, everywhere=data["all"],
                                  oauth_token=app.token if app is not None else None)
        return Response({"revoked": revoked})

    @extend_schema(request=PasswordChangeInputSerializer, responses=TokenReplySerializer, tags=["auth"])
    @action(detail=False, methods=["post"])
    def password(self, request: Request) -> Response:
        data = valid_input(PasswordChangeInputSerializer, request)
        ip = client_ip(request)
        if not request.user.is_authenticated:  # seed 003: the login name and old password are the credential
            if "username" not in data:
                raise NotAuthenticatedError()
            passwords.password_change_signed_out(login=data["username"], old_password=data["old_password"],
                                                 new_password=data["new_password"], ip=ip)
            return Response(None)
        _own_name_only(request, data)
        self.authorize(Op.PASSWORD_CHANGE)
        pair = passwords.password_change(user=selectors.signed_in(request), old_password=data["old_password"],
                                         new_password=data["new_password"], ip=ip, session=current_session(request))
        return Response(pair.as_reply() if pair else None)

    @extend_schema(request=UnregisterInputSerializer, responses={200: None}, tags=["auth"])
    @action(detail=False, methods=["post"])
    def unregister(self, request: Request) -> Response:
        data = valid_input(UnregisterInputSerializer, request)
        if request.user.is_authenticated:
            _own_name_only(request, data)
            self.authorize(Op.ACCOUNT_DELETE)
            users.user_unregister(user=selectors.signed_in(request), password=data["password"], ip=client_ip(request))
        elif data.get("username"):
            users.user_unregister(login=data["username"], password=data["password"], ip=client_ip(request))
        else:
            raise InvalidParametersError(
                "Invalid parameters: username: Give username and password, or sign in.",
                error={"username": ["This field is required unless you are signed in."]},
            )
        return Response(None)



def _own_name_only(request: Request, data: Mapping[str, Any]) -> None:
    """Seed 003's `username` beside a token must name the token's own account (7005 otherwise): a signed-in
    caller signs out, changes the password of and deletes only their own."""
    if "username" in data and data["username"].lower() != request.user.username.lower():
        raise NotAuthenticatedError()


def me_data(user: User) -> dict[str, Any]:
    return {**user_data(user), "developer": applications.developer_summary(user)}


def me_signed_in(request: HttpRequest) -> dict[str, Any] | None:
    """GET /auth/me for a caller signed in with a session token, without DRF's dispatch (accountsite.fastpath):
    the same authentication and policy as the view; anything else (another credential, none, a refused
    one, a database error) is None, and the view answers it with its envelope."""
    try:
        found = SessionTokenAuthentication().authenticate(request)
        if found is None:
            return None
        request.user, request.auth = found  # type: ignore[attr-defined]  # as DRF sets them on the request
        if policy.could(Caller.of(request), MeViewSet.operations["retrieve"]) is not None:
            return None
        return me_data(found[0])
    except (ServiceError, DatabaseError):
        return None


class MeViewSet(PolicyMixin, viewsets.ViewSet):
    """The caller's own profile (GET /auth/me), and its changes, developer mode included."""

    operations = {"retrieve": Op.PROFILE_READ, "update": Op.PROFILE_UPDATE, "partial_update": Op.PROFILE_UPDATE}

    @classmethod
    def as_view(cls, actions: dict[str, Any] | None = None, **initkwargs: Any) -> Any:
        view = super().as_view(actions, **initkwargs)
        return with_fast_read(view, me_signed_in) if (actions or {}).get("get") == "retrieve" else view

    @extend_schema(responses=UserSerializer, tags=["auth"])
    def retrieve(self, request: Request) -> Response:
        return Response(me_data(selectors.signed_in(request)))

    @extend_schema(request=MeUpdateInputSerializer, responses=UserSerializer, tags=["auth"])
    def update(self, request: Request) -> Response:
        assert_fields_allowed(request.data, MeUpdateInputSerializer)
        data = valid_input(MeUpdateInputSerializer, request, partial=True)
        if "is_developer" in data or "redirect_uris" in data:
            self.authorize(Op.DEVELOPER)
        user = selectors.signed_in(request)
        issued = users.me_update(user=user, **data)
        # As the caller may read it (as /users/{name} answers): an app holding `write` alone cannot GET this
        # record, so its write answers the public fields, not the e-mail address and the rest.
        reply = me_data(user) if self.allows(Op.PROFILE_READ, user) else PublicUserSerializer(user).data
        if issued is not None:  # seed 001: the new client's credentials, the secret shown this once
            reply.update(secret_id=issued.application.client_id, secret_value=issued.client_secret)
        return Response(reply)

    partial_update = update  # every field may come alone, PUT or PATCH


class SessionViewSet(PolicyMixin, viewsets.ViewSet):
    """The caller's signed-in terminals."""

    operations = {"list": Op.SESSIONS, "destroy": Op.SESSIONS}
    lookup_value_regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    @extend_schema(responses=SessionSerializer(many=True), tags=["auth"])
    def list(self, request: Request) -> Response:
        session = current_session(request)
        sessions = selectors.live_sessions_of(selectors.signed_in(request))
        context = {"current_session_id": session.pk if session else None}
        return Response(SessionSerializer(sessions, many=True, context=context).data)

    @extend_schema(request=None, responses={200: None}, tags=["auth"])
    def destroy(self, request: Request, pk: str) -> Response:
        no_input(request)
        session = selectors.live_sessions_of(selectors.signed_in(request)).filter(pk=pk).first()
        if session is None:
            raise NotFoundError("No such session.")
        sessions.session_revoke(session=session, reason=RevokeReason.REVOKED_BY_USER,
                                actor=selectors.signed_in(request))
        return Response(None)
