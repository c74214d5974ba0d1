"""The caller's own second factors: /auth/mfa (status), the authenticator app and recovery codes; passkeys."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.models import Passkey
from accounts.serializers import (
    MfaStatusSerializer,
    PasskeyRegisteredSerializer,
    PasskeyRegisterInputSerializer,
    PasskeyRenameInputSerializer,
    PasskeySerializer,
    PasswordInputSerializer,
    RecoveryCodesSerializer,
    TotpCodeInputSerializer,
    TotpDisableInputSerializer,
    TotpEnrolmentSerializer,
)
from accounts.services import mfa, passkeys
from accountsite.errors import NotFoundError
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op
from accountsite.requests import client_ip, valid_input


class MfaViewSet(PolicyMixin, viewsets.ViewSet):
    """Only the user's own first-hand sign-in: an app's token never touches second factors."""

    operations = {"retrieve": Op.MFA_MANAGE, "totp": Op.MFA_MANAGE, "totp_confirm": Op.MFA_MANAGE,
                  "recovery_codes": Op.MFA_MANAGE}

    @extend_schema(responses=MfaStatusSerializer, tags=["mfa"])
    def retrieve(self, request: Request) -> Response:
        return Response(MfaStatusSerializer(mfa.mfa_summary(selectors.signed_in(request))).data)

    @extend_schema(methods=["POST"], request=PasswordInputSerializer, responses=TotpEnrolmentSerializer, tags=["mfa"],
                   description="Starts enrolling an authenticator app: the password again, then a new secret, on "
                               "once confirmed.")
    @extend_schema(methods=["DELETE"], request=TotpDisableInputSerializer, responses={200: None}, tags=["mfa"],
                   description="Turns the authenticator app off: the password and a current code, or a recovery "
                               "code when the app is lost.")
    @action(detail=False, methods=["post", "delete"])
    def totp(self, request: Request) -> Response:
        user = selectors.signed_in(request)
        if request.method == "DELETE":
            data = valid_input(TotpDisableInputSerializer, request)
            mfa.totp_disable(user=user, password=data["password"], code=data.get("code", ""),
                             recovery_code=data.get("recovery_code", ""), ip=client_ip(request))
            return Response(None)
        data = valid_input(PasswordInputSerializer, request)
        mfa.factor_enrolment_authorize(user=user, password=data["password"], ip=client_ip(request))
        enrolment = mfa.totp_enrol_start(user=user)
        return Response(TotpEnrolmentSerializer(enrolment).data)

    @extend_schema(request=TotpCodeInputSerializer, responses=RecoveryCodesSerializer, tags=["mfa"])
    @action(detail=False, methods=["post"], url_path="totp/confirm")
    def totp_confirm(self, request: Request) -> Response:
        data = valid_input(TotpCodeInputSerializer, request)
        codes = mfa.totp_confirm(user=selectors.signed_in(request), code=data["code"], ip=client_ip(request))
        return Response({"recovery_codes": codes})

    @extend_schema(request=PasswordInputSerializer, responses=RecoveryCodesSerializer, tags=["mfa"])
    @action(detail=False, methods=["post"], url_path="recovery-codes")
    def recovery_codes(self, request: Request) -> Response:
        data = valid_input(PasswordInputSerializer, request)
        codes = mfa.recovery_codes_regenerate(user=selectors.signed_in(request), password=data["password"],
                                              ip=client_ip(request))
        return Response({"recovery_codes": codes})


class PasskeyViewSet(PolicyMixin, viewsets.ViewSet):
    """The caller's passkeys: register (options, then the browser's answer), list, rename, delete."""

    operations = {"list": Op.MFA_MANAGE, "create": Op.MFA_MANAGE, "register_options": Op.MFA_MANAGE,
                  "partial_update": Op.MFA_MANAGE, "destroy": Op.MFA_MANAGE}
    lookup_value_regex = "[0-9]+"

    def _passkey(self, request: Request, pk: str) -> Passkey:
        passkey = Passkey.objects.filter(user=selectors.signed_in(request), pk=pk).first()
        if passkey is None:
            raise NotFoundError("No such passkey.")
        return passkey

    @extend_schema(responses=PasskeySerializer(many=True), tags=["mfa"])
    def list(self, request: Request) -> Response:
        return Response(PasskeySerializer(Passkey.objects.filter(user=selectors.signed_in(request)), many=True).data)

    @extend_schema(request=PasswordInputSerializer, responses={200: dict}, tags=["mfa"],
                   description="The password again, then options for navigator.credentials.create(); answer them "
                               "with POST /auth/passkeys.")
    @action(detail=False, methods=["post"], url_path="options")
    def register_options(self, request: Request) -> Response:
        user = selectors.signed_in(request)
        data = valid_input(PasswordInputSerializer, request)
        mfa.factor_enrolment_authorize(user=user, password=data["password"], ip=client_ip(request))
        return Response(passkeys.registration_options(user=user))

    @extend_schema(request=PasskeyRegisterInputSerializer, responses={201: PasskeyRegisteredSerializer}, tags=["mfa"])
    def create(self, request: Request) -> Response:
        data = valid_input(PasskeyRegisterInputSerializer, request)
        passkey, codes = passkeys.passkey_register(user=selectors.signed_in(request), credential=data["webauthn"],
                                                   name=data["name"])
        return Response({"passkey": PasskeySerializer(passkey).data, "recovery_codes": codes},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=PasskeyRenameInputSerializer, responses=PasskeySerializer, tags=["mfa"])
    def partial_update(self, request: Request, pk: str) -> Response:
        data = valid_input(PasskeyRenameInputSerializer, request)
        passkey = passkeys.passkey_rename(user=selectors.signed_in(request), passkey=self._passkey(request, pk),
                                          name=data["name"])
        return Response(PasskeySerializer(passkey).data)

    @extend_schema(request=PasswordInputSerializer, responses={200: None}, tags=["mfa"])
    def destroy(self, request: Request, pk: str) -> Response:
        data = valid_input(PasswordInputSerializer, request)
        passkeys.passkey_delete(user=selectors.signed_in(request), passkey=self._passkey(request, pk),
                                password=data["password"], ip=client_ip(request))
        return Response(None)
