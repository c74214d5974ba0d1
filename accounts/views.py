"""The /auth API: registration, sign-in per terminal, tokens, sessions and the caller's own profile."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import oauth, selectors, services
from accounts.authentication import SessionCredentials
from accounts.permissions import assert_fields_allowed
from accounts.ratelimit import REGISTRATIONS_PER_IP
from accounts.serializers import (
    LoginInputSerializer,
    LoginReplySerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    PasswordChangeInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    TokenReplySerializer,
    UnregisterInputSerializer,
    UserSerializer,
)
from accountsite.api import client_ip
from accountsite.errors import InvalidParametersError, NotFoundError


def valid_input(serializer_class: type, request: Request, **kwargs: Any) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def current_session(request: Request):
    return request.auth.session if isinstance(request.auth, SessionCredentials) else None


def user_agent(request: Request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


class SignInViewSet(viewsets.ViewSet):
    """Endpoints that issue credentials; a stale token sent along must not get in the way."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=RegisterInputSerializer, responses={201: LoginReplySerializer}, tags=["auth"])
    def register(self, request: Request) -> Response:
        ip = client_ip(request)
        REGISTRATIONS_PER_IP.consume(ip)
        data = valid_input(RegisterInputSerializer, request)
        user, pair = services.user_register(ip=ip, user_agent=user_agent(request), **data)
        reply = {"user": UserSerializer(user).data}
        if pair is not None:  # with activation required, no tokens until the e-mailed code is used
            reply.update(pair.as_reply(), terminal=data["terminal"])
        return Response(reply, status=status.HTTP_201_CREATED)

    @extend_schema(request=LoginInputSerializer, responses=LoginReplySerializer, tags=["auth"])
    def login(self, request: Request) -> Response:
        data = valid_input(LoginInputSerializer, request)
        oauth_target = oauth.seed_target_from(request.query_params, data)  # seed 001, checked before sign-in
        user, session, pair = services.login(
            login=data["login"], password=data["password"], terminal=data["terminal"],
            ip=client_ip(request), user_agent=user_agent(request),
        )
        reply = {"user": UserSerializer(user).data, **pair.as_reply(), "terminal": session.terminal}
        if oauth_target is not None:
            grant = oauth.seed_code_issue(user=user, target=oauth_target)
            reply.update(authorization_code=grant.code, redirect_uri=grant.redirect_uri)
        return Response(reply)

    @extend_schema(request=RefreshInputSerializer, responses=TokenReplySerializer, tags=["auth"])
    def refresh(self, request: Request) -> Response:
        data = valid_input(RefreshInputSerializer, request)
        return Response(services.session_refresh(raw_refresh=data["refresh"]).as_reply())


class AuthViewSet(viewsets.ViewSet):
    """The signed-in caller's own account."""

    def get_permissions(self) -> list:
        return [AllowAny()] if self.action == "unregister" else [IsAuthenticated()]

    @extend_schema(request=LogoutInputSerializer, responses={200: None}, tags=["auth"])
    def logout(self, request: Request) -> Response:
        data = valid_input(LogoutInputSerializer, request)
        revoked = services.logout(user=request.user, session=current_session(request), everywhere=data["all"])
        return Response({"revoked": revoked})

    @extend_schema(request=PasswordChangeInputSerializer, responses=TokenReplySerializer, tags=["auth"])
    def password(self, request: Request) -> Response:
        data = valid_input(PasswordChangeInputSerializer, request)
        pair = services.password_change(
            user=request.user, old_password=data["old_password"], new_password=data["new_password"],
            ip=client_ip(request), session=current_session(request),
        )
        return Response(pair.as_reply() if pair else None)

    @extend_schema(request=UnregisterInputSerializer, responses={200: None}, tags=["auth"])
    def unregister(self, request: Request) -> Response:
        data = valid_input(UnregisterInputSerializer, request)
        if request.user.is_authenticated and not data.get("username"):
            services.user_unregister(user=request.user, password=data["password"], ip=client_ip(request))
        elif data.get("username"):
            services.user_unregister(login=data["username"], password=data["password"], ip=client_ip(request))
        else:
            raise InvalidParametersError(
                "Invalid parameters: username: Give username and password, or sign in.",
                error={"username": ["This field is required unless you are signed in."]},
            )
        return Response(None)

    @extend_schema(responses=UserSerializer, tags=["auth"])
    def me(self, request: Request) -> Response:
        return Response({**UserSerializer(request.user).data, "developer": oauth.developer_summary(request.user)})

    @extend_schema(request=MeUpdateInputSerializer, responses=UserSerializer, tags=["auth"])
    def update_me(self, request: Request) -> Response:
        assert_fields_allowed(request.data, MeUpdateInputSerializer)
        data = valid_input(MeUpdateInputSerializer, request, partial=True)
        developer, redirect_uris = data.pop("is_developer", None), data.pop("redirect_uris", None)
        oauth.developer_mode_check(user=request.user, on=developer, redirect_uris=redirect_uris,
                                   own_session=current_session(request) is not None)
        with transaction.atomic():
            user = services.user_profile_update(user=request.user, actor=request.user, **data)
            issued = oauth.developer_enable(user=user, redirect_uris=redirect_uris) if developer else None
        reply = {**UserSerializer(user).data, "developer": oauth.developer_summary(user)}
        if issued is not None:  # seed 001: the new client's credentials, the secret shown this once
            reply.update(secret_id=issued.application.client_id, secret_value=issued.client_secret)
        return Response(reply)


class SessionViewSet(viewsets.ViewSet):
    """The caller's signed-in terminals."""

    @extend_schema(responses=SessionSerializer(many=True), tags=["auth"])
    def list(self, request: Request) -> Response:
        session = current_session(request)
        sessions = selectors.live_sessions_of(request.user)
        context = {"current_session_id": session.pk if session else None}
        return Response(SessionSerializer(sessions, many=True, context=context).data)

    @extend_schema(responses={200: None}, tags=["auth"])
    def destroy(self, request: Request, pk: str) -> Response:
        session = selectors.live_sessions_of(request.user).filter(pk=pk).first()
        if session is None:
            raise NotFoundError("No such session.")
        services.session_revoke(session=session, reason="revoked_by_user")
        return Response(None)
