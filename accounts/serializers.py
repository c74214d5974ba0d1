"""Shapes of accounts input and output; the rules themselves live in services."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from accounts.models import (
    EMAIL_ASCII_VALIDATOR,
    GITHUB_LOGIN_VALIDATOR,
    LOGIN_NAME_VALIDATOR,
    AuditEvent,
    Passkey,
    Session,
    User,
    UserStatus,
)
from accounts.oauth.serializers import RedirectURIsField
from accountsite.numbers import WholeNumberField
from accountsite.requests import AliasedInputSerializer, BooleanField, ChoiceField
from accountsite.text import MULTILINE, ONE_LINE

# --- Input -------------------------------------------------------------------------------------------------


def password_field(**kwargs: Any) -> serializers.CharField:
    # Never trimmed or truncated: whatever string arrives is the password (seed 004 clients send MD5s).
    return serializers.CharField(max_length=128, trim_whitespace=False, write_only=True, **kwargs)


def new_password_field(**kwargs: Any) -> serializers.CharField:
    """A password being set: also at least 8 characters (the schema says so; the services' validators
    check the rest)."""
    return password_field(min_length=8, **kwargs)


class ProfileInputSerializer(AliasedInputSerializer):
    """The profile fields a user may edit on their own record (seed 002 and 004)."""

    nickname = serializers.CharField(max_length=64, required=False, allow_blank=True, validators=[ONE_LINE])
    real_name = serializers.CharField(max_length=64, required=False, allow_blank=True, validators=[ONE_LINE])
    intro = serializers.CharField(max_length=512, required=False, allow_blank=True, validators=[MULTILINE])
    comment = serializers.CharField(max_length=512, required=False, allow_blank=True, source="intro",
                                    validators=[MULTILINE])
    # Checked in validate_github, after the "@" some clients put in front is dropped.
    github = serializers.CharField(max_length=40, required=False, allow_blank=True)
    school = serializers.CharField(max_length=64, required=False, allow_blank=True, validators=[ONE_LINE])
    website = serializers.URLField(max_length=200, required=False, allow_blank=True)

    def validate_website(self, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Enter an http or https URL.")
        return value

    def validate_github(self, value: str) -> str:
        value = value.removeprefix("@")
        if value:
            try:
                GITHUB_LOGIN_VALIDATOR(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages) from None
        return value


class RegisterInputSerializer(ProfileInputSerializer):
    username = serializers.CharField(max_length=64, validators=[LOGIN_NAME_VALIDATOR])
    password = new_password_field()
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True,
                                  validators=[EMAIL_ASCII_VALIDATOR])
    terminal = serializers.CharField(max_length=64, required=False, default="default")


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, required=False)
    email = serializers.CharField(max_length=254, required=False)
    login = serializers.CharField(max_length=254, required=False)
    password = password_field()
    terminal = serializers.CharField(max_length=64, required=False, default="default")
    # Seed 001: also issue an authorization code for this OAuth client (query or body).
    client_id = serializers.CharField(max_length=255, required=False)
    secret_id = serializers.CharField(max_length=255, required=False)
    redirect_uri = serializers.CharField(max_length=512, required=False)

    def validate(self, attrs: dict) -> dict:
        attrs["login"] = attrs.get("login") or attrs.get("username") or attrs.get("email")
        if not attrs["login"]:
            raise serializers.ValidationError({"username": ["Give username, email or login."]})
        return attrs


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInputSerializer(serializers.Serializer):
    all = BooleanField(required=False, default=False)
    # Seed 003 names the account being signed out; it must be the token's own.
    username = serializers.CharField(max_length=254, required=False)


class PasswordChangeInputSerializer(AliasedInputSerializer):
    aliases = {"old_password": ("oldPassword", "old-password", "oldpwd"),
               "new_password": ("newPassword", "new-password", "passwd")}
    old_password = password_field()
    new_password = new_password_field()
    # Seed 003: without a token, the login name and the old password are the credential.
    username = serializers.CharField(max_length=254, required=False)


class UnregisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, required=False)
    password = password_field()


class MeUpdateInputSerializer(ProfileInputSerializer):
    is_developer = BooleanField(required=False)
    redirect_uris = RedirectURIsField(required=False)  # of the first OAuth app, with is_developer


class UserUpdateInputSerializer(ProfileInputSerializer):
    """PUT/PATCH /users/{loginname} by the user themself. Seed 004 calls the real name `username` here, but
    every reply's `username` is the login name (which no one changes here): taking it as the real name
    would have a client that writes back what it read overwrite the real name. `userName` stays."""

    aliases = {"real_name": ("userName", "realname"), "nickname": ("nickName",),
               "comment": ("comments",)}


class AdminFieldsInputSerializer(serializers.Serializer):
    """What only an admin may set on a user."""

    status = ChoiceField(choices=UserStatus.choices, required=False)
    role = ChoiceField(choices=["common", "admin"], required=False)
    userType = WholeNumberField(source="user_type", min_value=1, max_value=32767, required=False)


class UserAdminUpdateInputSerializer(AdminFieldsInputSerializer, UserUpdateInputSerializer):
    aliases = {**UserUpdateInputSerializer.aliases, "status": ("userstatus", "userStatus"),
               "password": ("passwd",), "userType": ("usertype", "user_type"), "invalid_at": ("invalidTime",)}
    password = new_password_field(required=False)
    invalid_at = serializers.DateTimeField(required=False, allow_null=True)


class UserCreateInputSerializer(ProfileInputSerializer):
    """POST /users/{loginname}; the login name is the path's."""

    aliases = {"password": ("passwd",), "real_name": ("userName", "realname"), "nickname": ("nickName",),
               "comment": ("comments",)}
    password = new_password_field()
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True,
                                  validators=[EMAIL_ASCII_VALIDATOR])


class UserAdminCreateInputSerializer(AdminFieldsInputSerializer, UserCreateInputSerializer):
    aliases = {**UserCreateInputSerializer.aliases, "status": ("userstatus", "userStatus"),
               "userType": ("usertype", "user_type")}


class LoginNameInputSerializer(serializers.Serializer):
    loginname = serializers.CharField(max_length=64, validators=[LOGIN_NAME_VALIDATOR])


class SidInputSerializer(serializers.Serializer):
    sid = serializers.CharField(max_length=128)


class PasswordResetInputSerializer(AliasedInputSerializer):
    aliases = {"password": ("passwd", "new_password", "newPassword")}
    sid = serializers.CharField(max_length=128)
    password = new_password_field()


class UserPasswordInputSerializer(AliasedInputSerializer):
    """PUT /users/{loginname}/pwd (seed 004: oldpwd, passwd)."""

    aliases = {"old_password": ("oldpwd", "oldPassword", "old-password"),
               "new_password": ("passwd", "newPassword", "new-password", "password")}
    old_password = password_field(required=False)
    new_password = new_password_field()


class PasswordCheckInputSerializer(AliasedInputSerializer):
    aliases = {"pwd": ("password", "passwd")}
    pwd = password_field()


class EmailChangeInputSerializer(AliasedInputSerializer):
    """PUT /users/{loginname}/email: the new address and the current password."""

    aliases = {"password": ("pwd", "passwd", "old_password", "oldpwd")}
    email = serializers.EmailField(max_length=254, validators=[EMAIL_ASCII_VALIDATOR])
    password = password_field()


# --- Output ------------------------------------------------------------------------------------------------


def instant(moment: datetime | None) -> str | None:
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as `Z`."""
    if not moment:
        return None
    text = moment.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class TierFieldsMixin(serializers.Serializer):
    """userType (and invalid_at) in force: an expired tier reads as the one after it (User.tier_at)."""

    userType = serializers.SerializerMethodField()

    def get_userType(self, user: User) -> int:
        return user.tier_at(timezone.now())[0]


class PublicUserSerializer(TierFieldsMixin, serializers.ModelSerializer):
    """What anyone may see of a user."""

    loginname = serializers.CharField(source="username")

    class Meta:
        model = User
        fields = ["loginname", "nickname", "intro", "github", "school", "website", "registered_at", "userType"]


class UserSerializer(TierFieldsMixin, serializers.ModelSerializer):
    """The full record, for the user themself and for admins. Never the password or its hash.

    The fields declare the shape (the OpenAPI schema, and tests compare both); `to_representation` writes
    it with a plain function, because every signed-in GET and every page of the user search renders it
    and DRF's field machinery cost more than the rest of the request."""

    loginname = serializers.CharField(source="username")
    comment = serializers.CharField(source="intro")
    role = serializers.CharField()
    invalid_at = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "loginname", "username", "email", "email_verified", "nickname", "real_name", "comment",
                  "intro", "github", "school", "website", "role", "status", "userType", "is_developer", "registered_at",
                  "invalid_at", "last_login"]

    def get_invalid_at(self, user: User) -> str | None:
        return instant(user.tier_at(timezone.now())[1])

    def to_representation(self, user: User) -> dict[str, Any]:
        return user_data(user)


def user_data(user: User) -> dict[str, Any]:
    """UserSerializer's reply, written out (see its text)."""
    user_type, invalid_at = user.tier_at(timezone.now())
    return {
        "id": user.pk, "loginname": user.username, "username": user.username, "email": user.email,
        "email_verified": user.email_verified, "nickname": user.nickname, "real_name": user.real_name,
        "comment": user.intro, "intro": user.intro, "github": user.github, "school": user.school,
        "website": user.website, "role": user.role, "status": user.status, "userType": user_type,
        "is_developer": user.is_developer, "registered_at": instant(user.registered_at),
        "invalid_at": instant(invalid_at), "last_login": instant(user.last_login),
    }


class SessionSerializer(serializers.ModelSerializer):
    """A signed-in terminal; written by hand for the reason UserSerializer is."""

    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ["id", "terminal", "created_at", "last_seen_at", "ip", "user_agent", "current"]

    def get_current(self, session: Session) -> bool:
        return session.pk == self.context.get("current_session_id")

    def to_representation(self, session: Session) -> dict[str, Any]:
        return {"id": str(session.pk), "terminal": session.terminal, "created_at": instant(session.created_at),
                "last_seen_at": instant(session.last_seen_at), "ip": session.ip, "user_agent": session.user_agent,
                "current": self.get_current(session)}


class TokenReplySerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    expires_at = serializers.DateTimeField()
    token_type = serializers.CharField()


class LoginReplySerializer(TokenReplySerializer):
    user = UserSerializer()
    terminal = serializers.CharField()


# --- Second factors --------------------------------------------------------------------------------------------


class TotpCodeInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)


class TotpDisableInputSerializer(TotpCodeInputSerializer):
    password = password_field()


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


class MfaChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField()
    methods = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    webauthn = serializers.DictField(required=False, help_text="options for navigator.credentials.get()")


class PasskeyLoginInputSerializer(serializers.Serializer):
    passkey_token = serializers.CharField(max_length=128)
    webauthn = serializers.DictField(help_text="the PublicKeyCredential of navigator.credentials.get()")
    terminal = serializers.CharField(max_length=64, required=False, default="default")


class PasskeyOptionsSerializer(serializers.Serializer):
    passkey_token = serializers.CharField()
    webauthn = serializers.DictField(help_text="options for navigator.credentials.get()")


class PasskeySerializer(serializers.ModelSerializer):
    class Meta:
        model = Passkey
        fields = ["id", "name", "created_at", "last_used_at"]


class PasskeyRegisterInputSerializer(serializers.Serializer):
    webauthn = serializers.DictField(help_text="the PublicKeyCredential of navigator.credentials.create()")
    name = serializers.CharField(max_length=64, required=False, default="passkey")


class PasskeyRenameInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)


class PasskeyRegisteredSerializer(serializers.Serializer):
    passkey = PasskeySerializer()
    recovery_codes = serializers.ListField(child=serializers.CharField(), help_text="with the first factor only")


class SecurityEventSerializer(serializers.ModelSerializer):
    """One row of the user's security log: where a sign-in came from, who made a change ("you", "an
    operator" or "the system"), and the row's other details."""

    description = serializers.CharField(source="action_label")
    terminal = serializers.SerializerMethodField()
    user_agent = serializers.SerializerMethodField()
    by = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "description", "created_at", "ip", "terminal", "user_agent", "by", "details"]

    def get_terminal(self, event: AuditEvent) -> str:
        return str(event.data.get("terminal", ""))

    def get_user_agent(self, event: AuditEvent) -> str:
        return str(event.data.get("user_agent", ""))

    def get_by(self, event: AuditEvent) -> str:
        if event.actor_id is None:
            return "system"
        return "you" if event.actor_id == event.user_id else "operator"

    def get_details(self, event: AuditEvent) -> dict:
        return {key: value for key, value in event.data.items() if key not in ("terminal", "user_agent", "device")}
