"""The caller's own second factors: the authenticator app, recovery codes and passkeys (WebAuthn)."""

from rest_framework import serializers

from accounts.models import Passkey
from accounts.serializers.base import password_field
from accountsite.serializers import ModelSerializer
from accountsite.text import ONE_LINE


class TotpCodeInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)


class TotpDisableInputSerializer(serializers.Serializer):
    """The password, and either a current code or, for an app that is lost, one of the recovery codes."""
    password = password_field()
    code = serializers.CharField(max_length=16, required=False)
    recovery_code = serializers.CharField(max_length=32, required=False)

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("code")) == bool(attrs.get("recovery_code")):
            raise serializers.ValidationError({"code": ["Give one of code or recovery_code."]})
        return attrs


# The current password, confirming a change to one's factors (new recovery codes, removing a passkey).
class PasswordInputSerializer(serializers.Serializer):
    password = password_field()


class TotpEnrolmentSerializer(serializers.Serializer):
    uri = serializers.CharField(help_text="otpauth:// URI for the authenticator app")
    secret = serializers.CharField(help_text="the same secret in base32, to type in by hand")
    qr_svg = serializers.CharField(help_text="the URI as a QR code, an inline SVG document")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField(), help_text="shown this once")


class MfaStatusSerializer(serializers.Serializer):
    methods = serializers.ListField(child=serializers.CharField())
    totp = serializers.BooleanField()
    recovery_codes_left = serializers.IntegerField()
    passkeys = serializers.IntegerField()


class PasskeySerializer(ModelSerializer):
    class Meta:
        model = Passkey
        fields = ["id", "name", "created_at", "last_used_at"]


class PasskeyRegisterInputSerializer(serializers.Serializer):
    webauthn = serializers.DictField(help_text="the PublicKeyCredential of navigator.credentials.create()")
    # Shown in the factor-added mail, the security log and the back office: one line of plain text.
    name = serializers.CharField(max_length=64, required=False, default="passkey", validators=[ONE_LINE])


class PasskeyRenameInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, validators=[ONE_LINE])


class PasskeyRegisteredSerializer(serializers.Serializer):
    passkey = PasskeySerializer()
    recovery_codes = serializers.ListField(child=serializers.CharField(), help_text="with the first factor only")
