"""Users: the profile fields a user edits, the other inputs of /users (a record created or updated, what only
an admin sets, the login name in a path, an e-mailed code, a new address), and the user replies (what anyone
sees, the full record)."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from accounts.models import (
    EMAIL_VALIDATORS,
    GITHUB_LOGIN_VALIDATOR,
    LOGIN_NAME_VALIDATOR,
    Role,
    User,
    UserStatus,
)
from accounts.oauth.serializers import RedirectURIsField
from accounts.serializers.base import new_password_field, password_field
from accountsite.numbers import WholeNumberField
from accountsite.requests import AliasedInputSerializer, BooleanField, ChoiceField
from accountsite.serializers import InstantField, ModelSerializer, instant
from accountsite.text import MULTILINE, ONE_LINE, WEB_ADDRESS

# --- Input -------------------------------------------------------------------------------------------------


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
    website = serializers.URLField(max_length=200, required=False, allow_blank=True, validators=[WEB_ADDRESS])

    def validate_github(self, value: str) -> str:
        value = value.removeprefix("@")
        if value:
            try:
                GITHUB_LOGIN_VALIDATOR(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages) from None
        return value


# The older spellings of profile fields (seed 004) wherever a user's profile is written.
PROFILE_ALIASES = {"real_name": ("userName", "realname"), "nickname": ("nickName",), "comment": ("comments",)}


class MeUpdateInputSerializer(ProfileInputSerializer):
    aliases = PROFILE_ALIASES
    is_developer = BooleanField(required=False)
    redirect_uris = RedirectURIsField(required=False)  # of the first OAuth app, with is_developer


class AdminFieldsInputSerializer(serializers.Serializer):
    """What only an admin may set on a user."""

    status = ChoiceField(choices=UserStatus.choices, required=False)
    role = ChoiceField(choices=Role.values, required=False)
    userType = WholeNumberField(source="user_type", min_value=1, max_value=32767, required=False)


class UserAdminUpdateInputSerializer(AdminFieldsInputSerializer, ProfileInputSerializer):
    """PUT/PATCH /users/{loginname}, by the user themself or an operator: the fields each caller may send are
    the policy's (accounts.permissions). Seed 004 calls the real name `username` here, but every reply's
    `username` is the login name (which no one changes here): taking it as the real name would have a client
    that writes back what it read overwrite the real name. `userName` stays."""

    aliases = {**PROFILE_ALIASES, "status": ("userstatus", "userStatus"),
               "password": ("passwd",), "userType": ("usertype", "user_type"), "invalid_at": ("invalidTime",)}
    password = new_password_field(required=False)
    invalid_at = InstantField(required=False, allow_null=True)


class UserCreateInputSerializer(ProfileInputSerializer):
    """POST /users/{loginname}; the login name is the path's."""

    aliases = {**PROFILE_ALIASES, "password": ("passwd",)}
    password = new_password_field()
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True,
                                  validators=EMAIL_VALIDATORS)


class UserAdminCreateInputSerializer(AdminFieldsInputSerializer, UserCreateInputSerializer):
    aliases = {**UserCreateInputSerializer.aliases, "status": ("userstatus", "userStatus"),
               "userType": ("usertype", "user_type")}


class LoginNameInputSerializer(serializers.Serializer):
    # The path's name as sent: trimmed, POST /users/%20bob%20 opened "bob", a name every read of that path
    # answers 404 for.
    loginname = serializers.CharField(max_length=64, trim_whitespace=False, validators=[LOGIN_NAME_VALIDATOR])


class SidInputSerializer(serializers.Serializer):
    sid = serializers.CharField(max_length=128)


class EmailChangeInputSerializer(AliasedInputSerializer):
    """PUT /users/{loginname}/email: the new address and the current password."""

    aliases = {"password": ("pwd", "passwd", "old_password", "oldpwd")}
    email = serializers.EmailField(max_length=254, validators=EMAIL_VALIDATORS)
    password = password_field()


# --- Output ------------------------------------------------------------------------------------------------


class TierFieldsMixin(serializers.Serializer):
    """userType (and invalid_at) in force: an expired tier reads as the one after it (User.tier_at)."""

    userType = serializers.SerializerMethodField()

    def get_userType(self, user: User) -> int:
        return user.tier_at(timezone.now())[0]


class PublicUserSerializer(TierFieldsMixin, ModelSerializer):
    """What anyone may see of a user."""

    loginname = serializers.CharField(source="username")

    class Meta:
        model = User
        fields = ["loginname", "nickname", "intro", "github", "school", "website", "registered_at", "userType"]


class UserSerializer(TierFieldsMixin, ModelSerializer):
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
