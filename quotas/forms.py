"""Back-office form fields for sizes: shown and typed in human units ("200M", "1.5G", "200 MiB")."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from quotas.units import size_exact, size_parse

SIZE_HELP = "A size such as 200M, 1.5G or 512K (binary units), or a number of bytes; -1 is unlimited."


class SizeField(forms.Field):
    """Bytes, typed as a human size and shown as one that reads back to the same number (size_exact)."""

    widget = forms.TextInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", SIZE_HELP)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return size_exact(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        try:
            return size_parse(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None
