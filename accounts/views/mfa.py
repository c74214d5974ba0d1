"""The caller's own second factors: /auth/mfa (status), the authenticator app and recovery codes."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.serializers import (
    MfaStatusSerializer,
    PasswordInputSerializer,
    RecoveryCodesSerializer,
    TotpCodeInputSerializer,
    TotpDisableInputSerializer,
    TotpEnrolmentSerializer,
)
from accounts.services import mfa
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

    @extend_schema(methods=["POST"], request=None, responses=TotpEnrolmentSerializer, tags=["mfa"],
                   description="Starts enrolling an authenticator app: a new secret, on once confirmed.")
    @extend_schema(methods=["DELETE"], request=TotpDisableInputSerializer, responses={200: None}, tags=["mfa"],
                   description="Turns the authenticator app off: the password and a current code.")
    @action(detail=False, methods=["post", "delete"])
    def totp(self, request: Request) -> Response:
        user = selectors.signed_in(request)
        if request.method == "DELETE":
            data = valid_input(TotpDisableInputSerializer, request)
            mfa.totp_disable(user=user, password=data["password"], code=data["code"], ip=client_ip(request))
            return Response(None)
        enrolment = mfa.totp_enrol_start(user=user)
        return Response(TotpEnrolmentSerializer(enrolment).data)

    @extend_schema(request=TotpCodeInputSerializer, responses=RecoveryCodesSerializer, tags=["mfa"])
    @action(detail=False, methods=["post"], url_path="totp/confirm")
    def totp_confirm(self, request: Request) -> Response:
        data = valid_input(TotpCodeInputSerializer, request)
        codes = mfa.totp_confirm(user=selectors.signed_in(request), code=data["code"])
        return Response({"recovery_codes": codes})

    @extend_schema(request=PasswordInputSerializer, responses=RecoveryCodesSerializer, tags=["mfa"])
    @action(detail=False, methods=["post"], url_path="recovery-codes")
    def recovery_codes(self, request: Request) -> Response:
        data = valid_input(PasswordInputSerializer, request)
        codes = mfa.recovery_codes_regenerate(user=selectors.signed_in(request), password=data["password"],
                                              ip=client_ip(request))
        return Response({"recovery_codes": codes})
