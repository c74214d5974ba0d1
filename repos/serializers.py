"""Shapes of repository, commit and pull input and output; the rules live in repos.services."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accountsite.requests import AliasedInputSerializer, ChoiceField
from accountsite.serializers import ModelSerializer
from accountsite.text import MULTILINE, WEB_ADDRESS
from quotas.serializers import PullnumQuotaSerializer, QuantityField
from repos.models import REPOSITORY_NAME_VALIDATOR, Commit, Pull, Repository, Visibility

# --- Input -------------------------------------------------------------------------------------------------


def secret_field(**kwargs: Any) -> serializers.CharField:
    # Like a password: never trimmed, never echoed.
    return serializers.CharField(max_length=128, trim_whitespace=False, write_only=True, required=False, **kwargs)


# A secret being set: "" (none) or at least this long. A guess costs one try of a limited few per user and per
# address, and a secret of two or three characters is still soon found that way. A pull takes any length, so
# the secrets set before this rule keep working.
NEW_SECRET_MIN_LENGTH = 8


def new_secret_field(**kwargs: Any) -> serializers.CharField:
    return secret_field(min_length=NEW_SECRET_MIN_LENGTH, **kwargs)


class RepositoryCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, validators=[REPOSITORY_NAME_VALIDATOR])
    visibility = ChoiceField(choices=Visibility.choices, required=False, default=Visibility.PUBLIC)
    description = serializers.CharField(max_length=512, required=False, allow_blank=True, default="",
                                        validators=[MULTILINE])
    url = serializers.URLField(max_length=200, required=False, allow_blank=True, default="",
                               validators=[WEB_ADDRESS])
    secret = new_secret_field(allow_blank=True)  # none by default (repository_create's)


class RepositoryUpdateInputSerializer(serializers.Serializer):
    """Any of the fields alone; `secret` "" or null removes it."""

    name = serializers.CharField(max_length=100, required=False, validators=[REPOSITORY_NAME_VALIDATOR])
    visibility = ChoiceField(choices=Visibility.choices, required=False)
    description = serializers.CharField(max_length=512, required=False, allow_blank=True, validators=[MULTILINE])
    url = serializers.URLField(max_length=200, required=False, allow_blank=True, validators=[WEB_ADDRESS])
    secret = new_secret_field(allow_blank=True, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                {"name": ["Give at least one of name, visibility, description, url, secret."]}
            )
        if "secret" in attrs and attrs["secret"] is None:
            attrs["secret"] = ""
        return attrs


class CommitCreateInputSerializer(AliasedInputSerializer):
    """`content` (seed 000 also calls it `message`; one of the two) and `size` in bytes, by default the
    content's UTF-8 length."""

    content = serializers.CharField(required=False, trim_whitespace=False)
    message = serializers.CharField(required=False, trim_whitespace=False, source="content")
    size = QuantityField(required=False)

    def validate(self, attrs: dict) -> dict:
        if "content" not in attrs:
            raise serializers.ValidationError({"content": ["This field is required."]})
        return attrs


class CommitAddInputSerializer(CommitCreateInputSerializer):
    """Seed 000's POST /commit/add: a commit to one of the caller's own repositories, by name."""

    repo_name = serializers.CharField(max_length=100)


class PullInputSerializer(serializers.Serializer):
    secret = secret_field(allow_blank=True, default="")


# --- Output ------------------------------------------------------------------------------------------------


class RepositorySerializer(ModelSerializer):
    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = Repository
        fields = ["id", "owner", "name", "visibility", "description", "url", "has_secret", "created_at",
                  "updated_at"]


class CommitSerializer(ModelSerializer):
    owner = serializers.CharField(source="repo.owner.username")
    repo = serializers.CharField(source="repo.name")
    author = serializers.CharField(source="author.username", default=None)

    class Meta:
        model = Commit
        fields = ["id", "owner", "repo", "author", "content", "size", "created_at"]


class PullSerializer(ModelSerializer):
    """A pull and, as `pulls`, the caller's pulls of the day after it (the context's `pulls`)."""

    owner = serializers.CharField(source="repo.owner.username")
    repo = serializers.CharField(source="repo.name")
    user = serializers.CharField(source="user.username")
    pulls = serializers.SerializerMethodField()

    class Meta:
        model = Pull
        fields = ["id", "owner", "repo", "user", "created_at", "pulls"]

    @extend_schema_field(PullnumQuotaSerializer)
    def get_pulls(self, pull: Pull) -> dict[str, Any]:
        return PullnumQuotaSerializer(self.context["pulls"]).data
