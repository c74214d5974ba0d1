"""The /auth API: registration, sign-in per terminal, tokens, sessions and the caller's own profile."""


from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import SessionCredentials
from accounts.filters import UserSearchFilter
from accounts.models import RevokeReason, User
from accounts.oauth import applications, seed
from accounts.oauth.authentication import AppCredentials
from accounts.permissions import CREATE_FIELDS, assert_fields_allowed, authorize_fields
from accounts.serializers import (
    EmailChangeInputSerializer,
    LoginInputSerializer,
    LoginNameInputSerializer,
    LoginReplySerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    PasswordChangeInputSerializer,
    PasswordCheckInputSerializer,
    PasswordResetInputSerializer,
    PublicUserSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    SidInputSerializer,
    TokenReplySerializer,
    UnregisterInputSerializer,
    UserAdminCreateInputSerializer,
    UserAdminUpdateInputSerializer,
    UserCreateInputSerializer,
    UserPasswordInputSerializer,
    UserSerializer,
)
from accounts.services import codes, passwords, sessions, users
from accounts.services.email import email_change_confirm, email_change_request
from accountsite.errors import InvalidParametersError, NotAuthenticatedError, NotFoundError
from accountsite.pagination import paginate
from accountsite.permissions import PolicyMixin
from accountsite.policy import ANOTHER_ACCOUNT, Op
from accountsite.ratelimit import REGISTRATIONS_PER_IP
from accountsite.requests import client_ip, valid_input, valid_input_data


def current_session(request: Request):
    return request.auth.session if isinstance(request.auth, SessionCredentials) else None


def user_agent(request: Request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


class SignInViewSet(PolicyMixin, viewsets.ViewSet):
    """Endpoints that issue credentials; a stale token sent along must not get in the way."""

    authentication_classes = ()
    operations = {"register": Op.SIGN_IN, "login": Op.SIGN_IN, "refresh": Op.SIGN_IN}

    @extend_schema(request=RegisterInputSerializer, responses={201: LoginReplySerializer}, tags=["auth"])
    @action(detail=False, methods=["post"])
    def register(self, request: Request) -> Response:
        ip = client_ip(request)
        REGISTRATIONS_PER_IP.consume(ip)
        data = valid_input(RegisterInputSerializer, request)
        user, pair = users.user_register(ip=ip, user_agent=user_agent(request), **data)
        reply = {"user": UserSerializer(user).data}
        if pair is not None:  # with activation required, no tokens until the e-mailed code is used
            reply.update(pair.as_reply(), terminal=data["terminal"])
        return Response(reply, status=status.HTTP_201_CREATED)

    @extend_schema(request=LoginInputSerializer, responses=LoginReplySerializer, tags=["auth"])
    @action(detail=False, methods=["post"])
    def login(self, request: Request) -> Response:
        data = valid_input(LoginInputSerializer, request)
        oauth_target = seed.seed_target_from(request.query_params, data)  # seed 001, checked before sign-in
        user, session, pair = sessions.login(
            login=data["login"], password=data["password"], terminal=data["terminal"],
            ip=client_ip(request), user_agent=user_agent(request),
        )
        reply = {"user": UserSerializer(user).data, **pair.as_reply(), "terminal": session.terminal}
        if oauth_target is not None:
            grant = seed.seed_code_issue(user=user, target=oauth_target)
            reply.update(authorization_code=grant.code, redirect_uri=grant.redirect_uri)
        return Response(reply)

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
        if "username" in data and data["username"].lower() != request.user.username.lower():
            raise NotAuthenticatedError()  # seed 003: a token signs out its own account only
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
        self.authorize(Op.PASSWORD_CHANGE)
        pair = passwords.password_change(user=selectors.signed_in(request), old_password=data["old_password"],
                                         new_password=data["new_password"], ip=ip, session=current_session(request))
        return Response(pair.as_reply() if pair else None)

    @extend_schema(request=UnregisterInputSerializer, responses={200: None}, tags=["auth"])
    @action(detail=False, methods=["post"])
    def unregister(self, request: Request) -> Response:
        data = valid_input(UnregisterInputSerializer, request)
        if request.user.is_authenticated:
            self.authorize(Op.ACCOUNT_DELETE)
        if request.user.is_authenticated and not data.get("username"):
            users.user_unregister(user=selectors.signed_in(request), password=data["password"], ip=client_ip(request))
        elif data.get("username"):
            users.user_unregister(login=data["username"], password=data["password"], ip=client_ip(request))
        else:
            raise InvalidParametersError(
                "Invalid parameters: username: Give username and password, or sign in.",
                error={"username": ["This field is required unless you are signed in."]},
            )
        return Response(None)



class MeViewSet(PolicyMixin, viewsets.ViewSet):
    """The caller's own profile (GET /auth/me), and its changes, developer mode included."""

    operations = {"retrieve": Op.PROFILE_READ, "update": Op.PROFILE_UPDATE, "partial_update": Op.PROFILE_UPDATE}

    @extend_schema(responses=UserSerializer, tags=["auth"])
    def retrieve(self, request: Request) -> Response:
        user = selectors.signed_in(request)
        return Response({**UserSerializer(user).data, "developer": applications.developer_summary(user)})

    @extend_schema(request=MeUpdateInputSerializer, responses=UserSerializer, tags=["auth"])
    def update(self, request: Request) -> Response:
        assert_fields_allowed(request.data, MeUpdateInputSerializer)
        data = valid_input(MeUpdateInputSerializer, request, partial=True)
        if "is_developer" in data or "redirect_uris" in data:
            self.authorize(Op.DEVELOPER)
        user = selectors.signed_in(request)
        issued = users.me_update(user=user, **data)
        reply = {**UserSerializer(user).data, "developer": applications.developer_summary(user)}
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

    @extend_schema(responses={200: None}, tags=["auth"])
    def destroy(self, request: Request, pk: str) -> Response:
        session = selectors.live_sessions_of(selectors.signed_in(request)).filter(pk=pk).first()
        if session is None:
            raise NotFoundError("No such session.")
        sessions.session_revoke(session=session, reason=RevokeReason.REVOKED_BY_USER)
        return Response(None)


# --- /users (CONTRACT section 3: seed 004 and 002) ----------------------------------------------------------


def valid_loginname(loginname: str) -> str:
    return valid_input_data(LoginNameInputSerializer, {"loginname": loginname})["loginname"]


class UserViewSet(PolicyMixin, viewsets.GenericViewSet):
    """Users as records: read (public or full), admin search, create, update and soft delete."""

    filter_backends = (DjangoFilterBackend,)
    filterset_class = UserSearchFilter
    queryset = User.objects.none()  # for the schema; every action reads through accounts.selectors
    lookup_field, lookup_value_regex = "loginname", "[^/]+"  # the view checks the name (1007, not a bare 404)
    operations = {"list": Op.USER_VIEW, "retrieve": Op.PUBLIC_READ, "create_named": Op.SIGN_IN,
                  "update": Op.PROFILE_UPDATE, "partial_update": Op.PROFILE_UPDATE, "destroy": Op.ACCOUNT_DELETE,
                  "password": Op.PASSWORD_CHANGE, "email": Op.EMAIL_CHANGE, "email_verify": Op.EMAIL_CHANGE}

    def _target(self, loginname: str) -> User:
        return selectors.user_visible_to(loginname, self.caller())

    @extend_schema(responses=UserSerializer(many=True), tags=["users"])
    def list(self, request: Request) -> Response:
        return paginate(self, self.filter_queryset(selectors.users_in_order()), UserSerializer)

    @extend_schema(responses=UserSerializer, tags=["users"])
    def retrieve(self, request: Request, loginname: str) -> Response:
        user = self._target(loginname)
        full = self.allows(Op.PROFILE_READ, user)
        return Response((UserSerializer if full else PublicUserSerializer)(user).data)

    @extend_schema(request=UserAdminCreateInputSerializer, responses={201: UserSerializer}, tags=["users"])
    def create_named(self, request: Request, loginname: str) -> Response:
        ip = client_ip(request)
        admin = self.allows(Op.USER_CREATE, ANOTHER_ACCOUNT)
        input_class = UserAdminCreateInputSerializer if admin else UserCreateInputSerializer
        if not admin:
            REGISTRATIONS_PER_IP.consume(ip)
        assert_fields_allowed(request.data, input_class)
        authorize_fields(self.caller(), request.data, input_class, target=ANOTHER_ACCOUNT, fields=CREATE_FIELDS,
                         profile=False)
        data = valid_input(input_class, request)
        actor = selectors.signed_in(request) if admin else None
        user = users.user_admin_create(username=valid_loginname(loginname), actor=actor, ip=ip, **data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserAdminUpdateInputSerializer, responses=UserSerializer, tags=["users"])
    def update(self, request: Request, loginname: str) -> Response:
        user = self._target(loginname)
        assert_fields_allowed(request.data, UserAdminUpdateInputSerializer)
        authorize_fields(self.caller(), request.data, UserAdminUpdateInputSerializer, target=user)
        data = valid_input(UserAdminUpdateInputSerializer, request, partial=True)
        user = users.user_admin_update(user=user, actor=selectors.signed_in(request), ip=client_ip(request), **data)
        return Response(UserSerializer(user).data)

    partial_update = update  # every field may come alone, PUT or PATCH

    @extend_schema(responses={200: None}, tags=["users"])
    def destroy(self, request: Request, loginname: str) -> Response:
        user = self._target(loginname)
        self.authorize(Op.ACCOUNT_DELETE, user)
        users.user_delete(user=user, actor=selectors.signed_in(request))
        return Response(None)

    @extend_schema(request=UserPasswordInputSerializer, responses=TokenReplySerializer, tags=["users"])
    @action(detail=True, methods=["put"], url_path="pwd")
    def password(self, request: Request, loginname: str) -> Response:
        user = self._target(loginname)
        own = user.pk == request.user.pk
        self.authorize(Op.PASSWORD_CHANGE if own else Op.PASSWORD_SET, user)
        data = valid_input(UserPasswordInputSerializer, request)
        pair = passwords.password_change_by(
            actor=selectors.signed_in(request), user=user, new_password=data["new_password"],
            old_password=data.get("old_password"), ip=client_ip(request), session=current_session(request),
        )
        return Response(pair.as_reply() if pair else None)

    @extend_schema(request=EmailChangeInputSerializer, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["put"])
    def email(self, request: Request, loginname: str) -> Response:
        user = self._target(loginname)
        self.authorize(Op.EMAIL_CHANGE, user)
        data = valid_input(EmailChangeInputSerializer, request)
        email_change_request(user=user, email=data["email"], password=data["password"], ip=client_ip(request))
        return Response(None)

    @extend_schema(request=SidInputSerializer, responses=UserSerializer, tags=["users"])
    @action(detail=True, methods=["post"], url_path="email/verify")
    def email_verify(self, request: Request, loginname: str) -> Response:
        user = self._target(loginname)
        self.authorize(Op.EMAIL_CHANGE, user)
        data = valid_input(SidInputSerializer, request)
        return Response(UserSerializer(email_change_confirm(user=user, sid=data["sid"])).data)


class UserSecretViewSet(PolicyMixin, viewsets.ViewSet):
    """Endpoints for whoever holds an e-mailed code or the password; a token sent along is ignored."""

    authentication_classes = ()
    lookup_field, lookup_value_regex = "loginname", "[^/]+"
    operations = {"activate": Op.SIGN_IN, "activate_resend": Op.SIGN_IN, "forget_password": Op.SIGN_IN,
                  "reset_password": Op.SIGN_IN, "validate_password": Op.SIGN_IN}

    @extend_schema(request=SidInputSerializer, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["put"], url_path="active")
    def activate(self, request: Request, loginname: str) -> Response:
        data = valid_input(SidInputSerializer, request)
        users.user_activate(loginname=loginname, sid=data["sid"])
        return Response(None)

    @extend_schema(request=None, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["post"], url_path="active/resend")
    def activate_resend(self, request: Request, loginname: str) -> Response:
        codes.activation_resend(loginname=loginname, ip=client_ip(request))
        return Response(None)

    @extend_schema(request=None, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["put"], url_path="forget/pwd")
    def forget_password(self, request: Request, loginname: str) -> Response:
        passwords.password_reset_request(loginname=loginname, ip=client_ip(request))
        return Response(None)

    @extend_schema(request=PasswordResetInputSerializer, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["put"], url_path="pwd/reset")
    def reset_password(self, request: Request, loginname: str) -> Response:
        data = valid_input(PasswordResetInputSerializer, request)
        passwords.password_reset(loginname=loginname, sid=data["sid"], password=data["password"])
        return Response(None)

    @extend_schema(request=PasswordCheckInputSerializer, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["get", "post"], url_path="pwd/validate")
    def validate_password(self, request: Request, loginname: str) -> Response:
        source = request.query_params if request.method == "GET" else request.data
        data = valid_input_data(PasswordCheckInputSerializer, source)
        passwords.password_verify(loginname=loginname, password=data["pwd"], ip=client_ip(request))
        return Response(None)
