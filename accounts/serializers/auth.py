"""Signing up, in and out: registration, the sign-in and its second step (a second factor, or a passkey
alone), refresh, sign-out, closing one's account; the token and sign-in replies."""

from typing import Any

from rest_framework import serializers

from accounts.models import EMAIL_VALIDATORS, LOGIN_NAME_VALIDATOR
from accounts.serializers.base import new_password_field, password_field, terminal_field
from accounts.serializers.users import PROFILE_ALIASES, ProfileInputSerializer, UserSerializer
from accountsite.requests import BooleanField
from accountsite.serializers import InstantField

# --- Input -------------------------------------------------------------------------------------------------


class RegisterInputSerializer(ProfileInputSerializer):
    # The older spellings every other write of a user record takes (POST /users/{loginname}, PATCH /auth/me).
    aliases = {**PROFILE_ALIASES, "password": ("passwd",)}
    username = serializers.CharField(max_length=64, validators=[LOGIN_NAME_VALIDATOR])
    password = new_password_field()
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True,
                                  validators=EMAIL_VALIDATORS)
    terminal = terminal_field()


class LoginInputSerializer(serializers.Serializer):
    IDENTIFIERS = ("login", "username", "email")
    GIVE_ONE = "Give username, email or login."

    username = serializers.CharField(max_length=254, required=False)
    email = serializers.CharField(max_length=254, required=False)
    login = serializers.CharField(max_length=254, required=False)
    password = password_field()
    terminal = terminal_field()
    # Seed 001: also issue an authorization code for this OAuth client (query or body).
    client_id = serializers.CharField(max_length=255, required=False)
    secret_id = serializers.CharField(max_length=255, required=False)
    redirect_uri = serializers.CharField(max_length=512, required=False)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # A body missing both the name and the password hears of both at once (validate() only runs
            # once every field is valid).
            if isinstance(exc.detail, dict) and hasattr(data, "get") and not any(
                    data.get(name) for name in self.IDENTIFIERS):
                exc.detail.setdefault("username", [serializers.ErrorDetail(self.GIVE_ONE, code="required")])
            raise

    def validate(self, attrs: dict) -> dict:
        given = {name: attrs[name] for name in self.IDENTIFIERS if attrs.get(name)}
        if not given:
            raise serializers.ValidationError({"username": [self.GIVE_ONE]})
        if len({value.casefold() for value in given.values()}) > 1:  # which account would a failure count on?
            raise serializers.ValidationError({name: ["Give one of username, email or login, not several."]
                                               for name in given})
        attrs["login"] = next(iter(given.values()))
        return attrs


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInputSerializer(serializers.Serializer):
    all = BooleanField(required=False, default=False)
    # Seed 003 names the account being signed out; it must be the token's own.
    username = serializers.CharField(max_length=254, required=False)


class UnregisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, required=False)
    password = password_field()


class MfaLoginInputSerializer(serializers.Serializer):
    """The second step of a sign-in with MFA: the token of the first step and one second factor."""

    mfa_token = serializers.CharField(max_length=128)
    code = serializers.CharField(max_length=16, required=False)
    recovery_code = serializers.CharField(max_length=32, required=False)
    webauthn = serializers.DictField(required=False, help_text="the PublicKeyCredential of navigator.credentials.get()")

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("code", "recovery_code", "webauthn") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError({"code": ["Give one of code, recovery_code or webauthn."]})
        return attrs


class PasskeyLoginInputSerializer(serializers.Serializer):
    passkey_token = serializers.CharField(max_length=128)
    webauthn = serializers.DictField(help_text="the PublicKeyCredential of navigator.credentials.get()")
    terminal = terminal_field()


# --- Output ------------------------------------------------------------------------------------------------


class TokenReplySerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    expires_at = InstantField()
    token_type = serializers.CharField()


class LoginReplySerializer(TokenReplySerializer):
    user = UserSerializer()
    terminal = serializers.CharField()


class MfaChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField()
    methods = serializers.ListField(child=serializers.CharField())
    expires_at = InstantField()
    webauthn = serializers.DictField(required=False, help_text="options for navigator.credentials.get()")


class PasskeyOptionsSerializer(serializers.Serializer):
    passkey_token = serializers.CharField()
    webauthn = serializers.DictField(help_text="options for navigator.credentials.get()")
