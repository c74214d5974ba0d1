"""Free text that people name themselves with (nicknames, real names, app names) and describe themselves and
their repositories in, operators' notes on a wallet, and the web addresses shown as links (a profile's
website, a repository's url): printable, with no text-direction controls.

A right-to-left override in a name (`admin\u202egnp.exe`) reverses the text after it wherever the name is
shown inline, the consent page's "<name> will be able to" included; control characters (a line break, a
bell) split or garble one-line names in pages and mails.
"""

import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# Unicode's explicit directional formatting characters (UAX #9): embeddings, overrides, isolates and marks.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The line and paragraph separators (U+2028, U+2029: categories Zl and Zp, not Cc) break a line as a line feed
# does (UAX #14 class BK; Python's splitlines() too), so a one-line name holds neither.
LINE_SEPARATORS = frozenset("\u2028\u2029")


@deconstructible
class PlainTextValidator:
    """Refuses control characters (Unicode category Cc; a multi-line text keeps line breaks and tabs), the
    line and paragraph separators in one-line text, and text-direction controls. The message does not echo
    the value."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        allowed = "\n\r\t" if self.multiline else ""
        if any(char in BIDI_CONTROLS or (char in LINE_SEPARATORS and not self.multiline)
               or (unicodedata.category(char) == "Cc" and char not in allowed) for char in str(value)):
            raise ValidationError("No control characters or text-direction marks here.", code="plain_text")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainTextValidator) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash(self.multiline)


ONE_LINE = PlainTextValidator()
MULTILINE = PlainTextValidator(multiline=True)


@deconstructible
class WebAddressValidator:
    """A web address shown to others as a link: http or https, and plain text. Django's URL validator takes
    any character past U+00A0 in the host and path, direction controls included, so `http://exa\u202emple.com`
    would show as another address than the one it opens."""

    def __call__(self, value: Any) -> None:
        if not value:
            return
        ONE_LINE(value)
        if not str(value).lower().startswith(("http://", "https://")):
            raise ValidationError("Enter an http or https URL.", code="scheme")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebAddressValidator)

    def __hash__(self) -> int:
        return hash(WebAddressValidator)


WEB_ADDRESS = WebAddressValidator()
