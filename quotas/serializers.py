"""Shapes of quota input and output (seed 004 field names); the rules live in quotas.services."""

from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accountsite.numbers import WholeNumberField
from accountsite.requests import AliasedInputSerializer
from quotas.models import UNLIMITED
from quotas.units import BIGINT_MAX, DEFAULT_UNIT, UNITS, names_its_unit, size_human, size_parse, unit_parse


class QuantityField(WholeNumberField):
    """A whole number (accountsite.numbers: a JSON integer or a string of ASCII digits), -1 (unlimited) too
    when `allow_unlimited`. Nothing downstream ever sees a value the database would reject."""

    default_error_messages = {"unlimited_or_min": "Must be -1 (unlimited) or at least {min_value}."}

    def __init__(self, *, allow_unlimited: bool = False, **kwargs: Any) -> None:
        self.allow_unlimited = allow_unlimited
        super().__init__(**kwargs)

    def check_range(self, value: int) -> None:
        if self.allow_unlimited and value == UNLIMITED:
            return
        if self.allow_unlimited and value < self.min_value:
            self.fail("unlimited_or_min", min_value=self.min_value)
        super().check_range(value)


def limit_field(**kwargs: Any) -> QuantityField:
    return QuantityField(allow_unlimited=True, required=False, **kwargs)


class UnitField(serializers.CharField):
    """K, M, G or T (case-insensitive, "MB" too); M when absent (seed 004)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=3, required=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return unit_parse(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


def _bytes(amount: int, unit: str, field: str, *, limit: bool) -> int:
    if limit and amount == UNLIMITED:
        return UNLIMITED
    size = amount * UNITS[unit]
    if abs(size) > BIGINT_MAX:
        raise serializers.ValidationError({field: [f"Too large: at most {BIGINT_MAX // UNITS[unit]}{unit}."]})
    return size


# --- Input -------------------------------------------------------------------------------------------------


class RepositoryQuotaInputSerializer(AliasedInputSerializer):
    """The limits under the names the reply reads (seed 004's `public` and `private` too)."""

    aliases = {"quotaPublic": ("public",), "quotaPrivate": ("private",)}
    quotaPublic = limit_field(source="public")
    quotaPrivate = limit_field(source="private")


class RepositoryUseInputSerializer(AliasedInputSerializer):
    """The counts under the names the reply reads (seed 004's `public` and `private` too)."""

    aliases = {"usePublic": ("public",), "usePrivate": ("private",)}
    usePublic = QuantityField(required=False, source="public")
    usePrivate = QuantityField(required=False, source="private")


@dataclass(frozen=True)
class _Sized:
    """A limit that named its own unit ("2G"), in bytes."""

    size: int


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[+-]?[0-9]{1,19}$"},
                                {"type": "string", "pattern": r"^[0-9]{1,19}(\.[0-9]{1,6})?[KMGTkmgt]$"}]})
class DepositLimitField(serializers.Field):
    """A storage limit: a whole number in the request's `unit`, -1 (unlimited), or a size written as replies
    write it ("2G", "1.5M"), so that a limit read can be sent back as it is."""

    def __init__(self) -> None:
        super().__init__(required=False)
        self.number = limit_field()

    def to_internal_value(self, data: Any) -> int | _Sized:
        if isinstance(data, str) and names_its_unit(data):
            try:
                return _Sized(size_parse(data))
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return self.number.to_internal_value(data)

    def to_representation(self, value: Any) -> Any:
        return value


class DepositQuotaInputSerializer(serializers.Serializer):
    """`quota` in `unit`, or a size with its own unit; validated data carries `quota` in bytes."""

    quota = DepositLimitField()
    unit = UnitField()

    def validate(self, attrs: dict) -> dict:
        quota = attrs.get("quota")
        if isinstance(quota, _Sized):
            if "unit" in attrs:
                raise serializers.ValidationError({"unit": ["The quota names its unit already: send one of them."]})
            attrs["quota"] = quota.size
        elif quota is not None:
            attrs["quota"] = _bytes(quota, attrs.get("unit", DEFAULT_UNIT), "quota", limit=True)
        return attrs


class DepositUseInputSerializer(serializers.Serializer):
    """`use` in `unit` to add; negative frees. Validated data carries `use` in bytes."""

    use = QuantityField(min_value=-BIGINT_MAX)
    unit = UnitField()

    def validate(self, attrs: dict) -> dict:
        attrs["use"] = _bytes(attrs["use"], attrs.get("unit", DEFAULT_UNIT), "use", limit=False)
        return attrs


class PullnumQuotaInputSerializer(serializers.Serializer):
    quota = limit_field()


class PullnumUseInputSerializer(serializers.Serializer):
    use = QuantityField()


# --- Output ------------------------------------------------------------------------------------------------


class RepositoryQuotaSerializer(serializers.Serializer):
    """From {"public": Quota, "private": Quota}."""

    quotaPublic = serializers.IntegerField(source="public.limit")
    usePublic = serializers.IntegerField(source="public.use")
    quotaPrivate = serializers.IntegerField(source="private.limit")
    usePrivate = serializers.IntegerField(source="private.use")


class DepositQuotaSerializer(serializers.Serializer):
    """A storage Quota row: human strings ("2G", -1 when unlimited) and exact bytes."""

    quota = serializers.SerializerMethodField()
    quotaBytes = serializers.IntegerField(source="limit")
    use = serializers.SerializerMethodField()
    useBytes = serializers.IntegerField(source="use")

    def get_quota(self, row: Any) -> str | int:
        return size_human(row.limit)

    def get_use(self, row: Any) -> str:
        return str(size_human(row.use))


class PullnumQuotaSerializer(serializers.Serializer):
    """From {"quota", "use", "day"}: `use` counts today's pulls only."""

    quota = serializers.IntegerField()
    use = serializers.IntegerField()
    day = serializers.DateField()
