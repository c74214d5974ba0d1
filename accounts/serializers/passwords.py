"""Passwords: changing one's own or setting another's, resetting one with an e-mailed code, seed 004's check."""

from rest_framework import serializers

from accounts.serializers.base import new_password_field, password_field
from accountsite.requests import AliasedInputSerializer


class PasswordChangeInputSerializer(AliasedInputSerializer):
    aliases = {"old_password": ("oldPassword", "old-password", "oldpwd"),
               "new_password": ("newPassword", "new-password", "passwd")}
    old_password = password_field()
    new_password = new_password_field()
    # Seed 003: without a token, the login name and the old password are the credential.
    username = serializers.CharField(max_length=254, required=False)


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
