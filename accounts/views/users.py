"""The /users API (seed 004 and 002): users as records, operators' search, and the e-mailed-code doors."""

from contextlib import nullcontext

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.filters import FilterBackend, UserSearchFilter
from accounts.models import User
from accounts.permissions import CREATE_FIELDS, assert_fields_allowed, authorize_fields
from accounts.serializers import (
    EmailChangeInputSerializer,
    LoginNameInputSerializer,
    PasswordCheckInputSerializer,
    PasswordResetInputSerializer,
    PublicUserSerializer,
    SidInputSerializer,
    TokenReplySerializer,
    UserAdminCreateInputSerializer,
    UserAdminUpdateInputSerializer,
    UserCreateInputSerializer,
    UserPasswordInputSerializer,
    UserSerializer,
)
from accounts.services import codes, passwords, users
from accounts.services.email import email_change_confirm, email_change_request
from accounts.views.auth import REGISTRATION_COUNTED, current_session
from accountsite.pagination import KeysetPagePagination, paginate
from accountsite.permissions import PolicyMixin
from accountsite.policy import ANOTHER_ACCOUNT, Op
from accountsite.ratelimit import REGISTRATIONS_PER_IP
from accountsite.requests import client_ip, no_input, valid_input, valid_input_data


def valid_loginname(loginname: str) -> str:
    return valid_input_data(LoginNameInputSerializer, {"loginname": loginname})["loginname"]


class UserViewSet(PolicyMixin, viewsets.GenericViewSet):
    """Users as records: read (public or full), admin search, create, update and soft delete."""

    filter_backends = (FilterBackend,)
    filterset_class = UserSearchFilter
    pagination_class = KeysetPagePagination  # in id order: `after` reads any depth at once
    queryset = User.objects.none()  # for the schema; every action reads through accounts.selectors
    lookup_field, lookup_value_regex = "loginname", "[^/]+"  # the view checks the name (1007, not a bare 404)
    operations = {"list": Op.USER_VIEW, "retrieve": Op.PUBLIC_READ, "create_named": Op.SIGN_IN,
                  "update": Op.PROFILE_UPDATE, "partial_update": Op.PROFILE_UPDATE, "destroy": Op.ACCOUNT_DELETE,
                  "password": Op.PASSWORD_CHANGE, "email": Op.EMAIL_CHANGE, "email_verify": Op.EMAIL_CHANGE}

    def _target(self, loginname: str) -> User:
        return selectors.user_visible_to(loginname, self.caller())

    def _record(self, user: User) -> dict:
        """`user` as the caller may read them: the full record, or the public fields. A write answers the same,
        or a permission (or scope) to change part of a record would read the rest."""
        return (UserSerializer if self.allows(Op.PROFILE_READ, user) else PublicUserSerializer)(user).data

    @extend_schema(responses=UserSerializer(many=True), tags=["users"])
    def list(self, request: Request) -> Response:
        return paginate(self, self.filter_queryset(selectors.users_in_order()), UserSerializer)

    @extend_schema(responses=UserSerializer, tags=["users"])
    def retrieve(self, request: Request, loginname: str) -> Response:
        return Response(self._record(self._target(loginname)))

    @extend_schema(request=UserAdminCreateInputSerializer, responses={201: UserSerializer}, tags=["users"])
    def create_named(self, request: Request, loginname: str) -> Response:
        ip = client_ip(request)
        admin = self.allows(Op.USER_CREATE, ANOTHER_ACCOUNT)
        input_class = UserAdminCreateInputSerializer if admin else UserCreateInputSerializer
        with nullcontext() if admin else REGISTRATIONS_PER_IP.attempt(ip, counted=REGISTRATION_COUNTED):
            assert_fields_allowed(request.data, input_class)
            authorize_fields(self.caller(), request.data, input_class, target=ANOTHER_ACCOUNT,
                             fields=CREATE_FIELDS, profile=False)
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
        return Response(self._record(user))

    partial_update = update  # every field may come alone, PUT or PATCH

    @extend_schema(request=None, responses={200: None}, tags=["users"])
    def destroy(self, request: Request, loginname: str) -> Response:
        no_input(request)
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
        no_input(request)
        codes.activation_resend(loginname=loginname, ip=client_ip(request))
        return Response(None)

    @extend_schema(request=None, responses={200: None}, tags=["users"])
    @action(detail=True, methods=["put"], url_path="forget/pwd")
    def forget_password(self, request: Request, loginname: str) -> Response:
        no_input(request)
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
        data = (valid_input_data(PasswordCheckInputSerializer, request.query_params) if request.method == "GET"
                else valid_input(PasswordCheckInputSerializer, request))
        passwords.password_verify(loginname=loginname, password=data["pwd"], ip=client_ip(request))
        return Response(None)
