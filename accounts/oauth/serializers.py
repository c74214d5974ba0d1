"""Shapes of the developer-app and seed 001 OAuth input and output; the rules live in accounts.oauth's services."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from oauth2_provider.models import Application
from rest_framework import serializers

from accounts.oauth.applications import redirect_uris_clean
from accountsite.errors import InvalidParametersError
from accountsite.requests import ChoiceField
from accountsite.serializers import ModelSerializer
from accountsite.text import ONE_LINE


@extend_schema_field({"oneOf": [{"type": "string", "description": "space-separated"},
                               {"type": "array", "items": {"type": "string", "format": "uri"}}]})
class RedirectURIsField(serializers.Field):
    """A space-separated string or a list of redirect URIs, validated by `redirect_uris_clean` as a
    confidential client's; `checked=False` leaves them to the service, whose rule depends on the app's
    client type."""

    def __init__(self, *, checked: bool = True, **kwargs: Any) -> None:
        self.checked = checked
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not self.checked:
            return data
        try:
            return redirect_uris_clean(data)
        except InvalidParametersError as exc:
            raise serializers.ValidationError(exc.error["redirect_uris"]) from None

    def to_representation(self, value: str) -> list[str]:
        return value.split()


class ApplicationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, validators=[ONE_LINE])
    redirect_uris = RedirectURIsField(required=False, checked=False)


class ApplicationCreateInputSerializer(ApplicationInputSerializer):
    """A new app: a confidential client (a server, with a secret) unless `client_type` says public (a
    native or single-page app: no secret, loopback, private-use scheme or https redirect URIs)."""

    client_type = ChoiceField(choices=[Application.CLIENT_CONFIDENTIAL, Application.CLIENT_PUBLIC], required=False)


class ApplicationSerializer(ModelSerializer):
    """An app as its owner sees it: never the secret or its hash."""

    secret_id = serializers.CharField(source="client_id")
    redirect_uris = RedirectURIsField()

    class Meta:
        model = Application
        fields = ["id", "client_id", "secret_id", "name", "redirect_uris", "client_type",
                  "authorization_grant_type", "created", "updated"]


class IssuedSecretSerializer(serializers.Serializer):
    """An app with its plaintext secret: the reply to creation, developer mode and rotation, once."""

    def to_representation(self, issued: Any) -> dict:
        return {**ApplicationSerializer(issued.application).data, "secret_value": issued.client_secret,
                "client_secret": issued.client_secret}  # None for a public client


class SeedExchangeInputSerializer(serializers.Serializer):
    secret_id = serializers.CharField(max_length=255, required=False)
    client_id = serializers.CharField(max_length=255, required=False)
    secret_value = serializers.CharField(max_length=255, required=False, trim_whitespace=False)
    client_secret = serializers.CharField(max_length=255, required=False, trim_whitespace=False)
    authorization_code = serializers.CharField(max_length=255, required=False)
    code = serializers.CharField(max_length=255, required=False)

    def validate(self, attrs: dict) -> dict:
        merged = {
            "client_id": attrs.get("secret_id") or attrs.get("client_id"),
            "client_secret": attrs.get("secret_value") or attrs.get("client_secret"),
            "code": attrs.get("authorization_code") or attrs.get("code"),
        }
        missing = {name: ["This field is required."] for name, value in
                   (("secret_id", merged["client_id"]), ("secret_value", merged["client_secret"]),
                    ("authorization_code", merged["code"])) if not value}
        if missing:
            raise serializers.ValidationError(missing)
        return merged


class SeedAuthorizeInputSerializer(serializers.Serializer):
    secret_id = serializers.CharField(max_length=255, required=False)
    client_id = serializers.CharField(max_length=255, required=False)
    redirect_uri = serializers.CharField(max_length=512)
    state = serializers.CharField(max_length=512, required=False, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("secret_id") or attrs.get("client_id")):
            raise serializers.ValidationError({"secret_id": ["This field is required."]})
        return attrs


class SeedUserSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField(allow_null=True)
