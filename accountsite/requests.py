"""Reading requests: validated input, form bodies, the client's address, the guards on body size and on control
characters, and the middleware that only browser pages need."""

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpRequest, HttpResponse, QueryDict
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, get_encoding  # type: ignore[attr-defined]
from rest_framework.request import Request
from whitenoise.middleware import WhiteNoiseMiddleware

from accountsite import errors
from accountsite.envelope import error_response


@functools.cache  # one entry per serializer class: building a serializer's fields costs as much as validating
def input_names(serializer_class: type) -> tuple[frozenset[str], frozenset[str]]:
    """The fields a body may name for `serializer_class`: its writable fields, and those plus the older
    spellings it accepts for them (an `aliases` map of field to spellings)."""
    fields = frozenset(name for name, field in serializer_class().fields.items() if not field.read_only)
    aliases = getattr(serializer_class, "aliases", {})
    return fields, fields | {spelling for spellings in aliases.values() for spelling in spellings}


def spellings_used(data: Any, serializer_class: type | None) -> dict[str, str]:
    """The fields a body names: each field's name, to the spelling the body gave it (the first, if two)."""
    aliases = getattr(serializer_class, "aliases", {})
    canonical = {spelling: name for name, spellings in aliases.items() for spelling in spellings}
    used: dict[str, str] = {}
    for key in data if hasattr(data, "keys") else ():
        used.setdefault(canonical.get(key, key), key)
    return used


def unknown_fields(data: Any, serializer_class: type) -> list[str]:
    """The names in a body that `serializer_class` does not accept under any spelling."""
    return sorted(set(data) - input_names(serializer_class)[1]) if hasattr(data, "keys") else []


_UNKNOWN_NAMED = 5  # how many unknown fields the message names (`error` names each)
# What a misspelt field name looks like. Anything else is not echoed: it is the caller's text, perhaps a
# whole JSON body sent as a form (whose one "field" holds the password), perhaps megabytes long.
_NAME_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,63}", re.ASCII)


def _echoable(names: Iterable[str]) -> tuple[list[str], int]:
    """The names fit to be shown back in a refusal (those that look like field names), and how many are not."""
    names = list(names)
    shown = [name for name in names if _NAME_LIKE.fullmatch(name)]
    return shown, len(names) - len(shown)


def valid_input(serializer_class: type, request: Request, **kwargs: Any) -> dict:
    """The request body, validated by `serializer_class` (1007 with a field map otherwise). A field it does
    not know is refused too (1007), naming the fields it accepts: a misspelt field is never silently
    dropped. Unknown names are echoed only when they look like field names."""
    unknown = unknown_fields(request.data, serializer_class)
    if unknown:
        names = ", ".join(sorted(input_names(serializer_class)[0]))
        allowed = f"the fields are: {names}" if names else "this endpoint takes none"
        shown, hidden = _echoable(unknown)
        hint = (" (a JSON body sent as a form? send it as application/json)"
                if hidden and request.content_type.startswith(("application/x-www-form-urlencoded",
                                                               "multipart/form-data")) else "")
        error = {name: [f"Unknown field. {allowed[0].upper()}{allowed[1:]}."] for name in shown}
        if hidden:
            error["non_field_errors"] = [f"{hidden} unknown field{'s' if hidden > 1 else ''} (names not shown)."]
        raise errors.InvalidParametersError(f"Invalid parameters: {_unknown_named(shown, hidden)}{hint}; {allowed}.",
                                            error=error)
    return valid_input_data(serializer_class, request.data, **kwargs)


def _unknown_named(shown: list[str], hidden: int) -> str:
    """"unknown field nickName", "unknown fields a, b, c, d, e and 3 more", "unknown fields a and 2 whose names
    are not shown", "an unknown field whose name is not shown": the first names, and how many more."""
    if not shown:
        return ("an unknown field whose name is not shown" if hidden == 1
                else f"{hidden} unknown fields whose names are not shown")
    parts = shown[:_UNKNOWN_NAMED]
    if len(shown) > _UNKNOWN_NAMED:
        parts.append(f"{len(shown) - _UNKNOWN_NAMED} more")
    if hidden:
        parts.append(f"{hidden} whose name{' is' if hidden == 1 else 's are'} not shown")
    if len(parts) == 1:
        return f"unknown field {parts[0]}"
    return f"unknown fields {', '.join(parts[:-1])} and {parts[-1]}"


class NoInputSerializer(serializers.Serializer):
    """The body of an endpoint that reads none: nothing, or an empty object."""


def no_input(request: Request) -> None:
    """Refuses a body for an endpoint that takes none, if it names a field or is malformed (1007): a client
    that sends one expects it read."""
    valid_input(NoInputSerializer, request)


class AliasedInputSerializer(serializers.Serializer):
    """An input serializer that takes each field under the older spellings clients used (`aliases`: field
    to spellings; seed 002, 003 and 004), one at a time. A body naming one field twice, under two of its
    spellings (or two fields of one `source`), is refused (1007): which one would count is a guess, and a
    client that sends both believes one of them does something else. A refusal names each field as the body
    spelt it."""

    aliases: dict[str, tuple[str, ...]] = {}

    def run_validation(self, data: Any = serializers.empty) -> Any:
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            spelt = spellings_used(data, type(self))
            raise serializers.ValidationError({spelt.get(name, name): errors for name, errors in exc.detail.items()}
                                              ) from None

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            targets = {name: field.source or name for name, field in self.fields.items() if not field.read_only}
            targets.update({spelling: targets.get(name, name)
                            for name, spellings in self.aliases.items() for spelling in spellings})
            given: dict[str, list[str]] = {}
            for key in data:
                if key in targets:
                    given.setdefault(targets[key], []).append(key)
            twice = {keys[0]: [f"Given more than once, as {' and '.join(keys)}: give one of them."]
                     for keys in given.values() if len(keys) > 1}
            if twice:
                raise serializers.ValidationError(twice)
            data = dict(data.dict() if hasattr(data, "dict") else data)
            for name, spellings in self.aliases.items():
                for spelling in spellings:
                    if spelling in data:
                        data[name] = data.pop(spelling)
        return super().to_internal_value(data)


def valid_input_data(serializer_class: type, data: Any, **kwargs: Any) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ChoiceField(serializers.ChoiceField):
    """DRF's ChoiceField, whose refusal names the allowed values instead of echoing the input back (which
    could be anything, a lone UTF-16 surrogate or a megabyte of markup included)."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        super().__init__(choices, **kwargs)
        allowed = ", ".join(str(choice) for choice in self.choices)
        self.error_messages["invalid_choice"] = f"Not one of the allowed values: {allowed}."


class BooleanField(serializers.BooleanField):
    """A JSON boolean. DRF's BooleanField also takes 1, "yes", "on" and a dozen spellings more; here only
    true and false, and their text "true"/"false" (all a form-encoded body can carry)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data in ("true", "false"):
            return data == "true"
        self.fail("invalid")


def client_ip(request: Any) -> str:
    """The caller's address: REMOTE_ADDR, or the right hop of X-Forwarded-For behind trusted proxies."""
    proxies = settings.ACCOUNTS_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class BodySizeLimitMiddleware:
    """Refuses oversized bodies with 1013 before anything parses them (DRF's parsers read the stream
    directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone does not stop a large JSON body). A body sent
    without a length (`Transfer-Encoding: chunked`) is refused too (1007, 411 Length Required): Django reads
    a body by its Content-Length, so it would arrive empty and the request would mean something else (a
    pull without its secret)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return error_response(errors.InvalidParametersError(
                "Send the body with a Content-Length header: bodies in chunks are not read.", status=411))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(errors.InvalidParametersError("Invalid Content-Length header."))
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return error_response(errors.RequestTooLargeError(f"Request body too large: at most {limit} bytes."))
        if length and request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower() not in ("", "identity"):
            # A compressed body would be parsed as it is, and refused as malformed (RFC 9110 15.5.16: 415).
            return error_response(errors.InvalidParametersError(
                "Bodies are read uncompressed: send it without a Content-Encoding.", status=415))
        return self.get_response(request)


# C0 controls and DEL: no login name, repository name, filter or page number holds one, and PostgreSQL
# refuses NUL in text outright (a 500 if it reached a query).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A % that does not start an escape of two hexadecimal digits (RFC 3986 2.1), in the raw query string.
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class RequestLineMiddleware:
    """Refuses, before any view, filter or query sees them: control characters in the path (1009: nothing
    can be named that way) and in the query string (1007), and a query string with a broken percent-escape
    (1007). Django reads `%zz` as those three characters, where oauthlib, behind every OAuth endpoint and
    app token, raises on it: the same request must not mean one thing at one door and crash another."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _CONTROL.search(request.path_info):
            return error_response(errors.NotFoundError())
        if _BROKEN_ESCAPE.search(request.META.get("QUERY_STRING", "")):
            return error_response(errors.InvalidParametersError(
                "Invalid parameters: in the query string, % starts an escape of two hexadecimal digits "
                "(write a % itself as %25)."))
        for name, values in request.GET.lists():
            if _CONTROL.search(name) or any(_CONTROL.search(value) for value in values):
                return error_response(errors.InvalidParametersError(
                    "Invalid parameters: control characters are not allowed in the query string."))
        return self.get_response(request)


# The pages a browser uses: the back office, the OAuth pages (sign-in, consent, seed 001) and static files.
BROWSER_PATHS = ("/admin/", "/oauth", "/static/")


def for_browser(request: HttpRequest) -> bool:
    return request.path_info.startswith(BROWSER_PATHS)


def repeated_names(params: Any) -> list[str]:
    """The names a request's parameters (a QueryDict) give more than once, sorted: which value counts would
    be a guess (Django reads the last, other parsers the first; RFC 6749 3.1 and 3.2 forbid it outright)."""
    return sorted(name for name, values in params.lists() if len(values) > 1)


class RepeatedParameterMiddleware:
    """Refuses an API query string that names a parameter twice (1007), as a JSON body naming a key twice
    is: Django reads the last value, other parsers (a proxy, a cache, a log) the first, so each would see
    another search or password check than the one run. The browser pages keep theirs: the back office's
    filters repeat parameters, and the OAuth client endpoints refuse repeats themselves (RFC 6749 3.2;
    accounts.oauth.endpoints.client_form_checked)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not for_browser(request):
            twice = repeated_names(request.GET)
            if twice:
                shown, hidden = _echoable(twice)
                error: dict[str, list[str]] = {name: ["Given more than once: give it once."] for name in shown}
                if hidden:
                    error["non_field_errors"] = ["A parameter whose name is not shown is given more than once."]
                named = ", ".join(shown) or "a parameter"
                return error_response(errors.InvalidParametersError(
                    f"Invalid parameters: {named} given more than once in the query string.", error=error))
        return self.get_response(request)


_FIELD_TWICE = "Form parse error - a field is given more than once"


def _refuse_repeats(data: Any, files: Any = None) -> None:
    """A form names each field once, among its fields and files (why: RepeatedParameterMiddleware)."""
    if repeated_names(data) or (files is not None and (repeated_names(files) or data.keys() & files.keys())):
        raise ParseError(_FIELD_TWICE)


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing what the JSON parser refuses (accountsite.envelope.JSONParser): a field given
    twice, of which Django keeps the last (`amount=1&amount=1000` credited 1000.00), and bytes that are not text
    in the body's charset, which Django reads as U+FFFD or Latin-1 letters and the service would store."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        body = stream.read()
        data = QueryDict(body, encoding=encoding)  # Django's limit on the number of fields first
        try:
            parse_qsl(body.decode(encoding), keep_blank_values=True, encoding=encoding, errors="strict")
        except UnicodeDecodeError:
            raise _not_text(encoding) from None
        _refuse_repeats(data)
        return data


def _not_text(encoding: str) -> ParseError:
    return ParseError(f"Form parse error - the body is not valid {encoding} text")


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing what FormParser refuses: a field given twice, and a field whose bytes
    are not text in the body's charset. Django's multipart parser reads those as U+FFFD, so a field holding
    U+FFFD is refused: after Django's decoding the two cannot be told apart, and no field of this API needs
    the replacement character itself (a JSON body may still send it)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> DataAndFiles:
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_repeats(parsed.data, parsed.files)
        if any("\ufffd" in name or any("\ufffd" in value for value in values) for name, values in parsed.data.lists()):
            raise _not_text(get_encoding(parser_context or {}))
        return parsed


class MethodKeepingRedirectMiddleware:
    """A permanent redirect of a request that is not GET or HEAD becomes 308 instead of Django's 301: clients
    follow a 301 with a GET and drop the body (RFC 9110 15.4.2), so a POST sent over plain HTTP would reach
    the HTTPS address as a GET that means something else; with 308 it arrives as it was sent (15.4.9).
    Django's SecurityMiddleware (the redirect to HTTPS) and CommonMiddleware (the added slash) answer 301.
    Put before them: it changes the replies they give."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 301 and request.method not in ("GET", "HEAD"):
            response.status_code = 308  # its reason phrase follows the code
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every API reply that sets no caching of its own: they carry tokens, a
    developer's secret or someone's data, and a token may come in a bare `token:` header, which caches do not
    treat as a credential (RFC 6749 5.1 asks it of token replies). The browser pages set their own (the
    admin's never_cache, DOT's token replies, long-lived static files)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not for_browser(request) and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


class BrowserOnlyMiddleware:
    """Put before a middleware class among the bases (its last base): that middleware then runs for
    BROWSER_PATHS only. Static files, cookie sessions and messages do nothing for the API (its views
    authenticate by token) but cost it a fifth of a signed-in GET. Subclassing keeps
    Django's checks (the admin's) seeing the middleware they need; its hooks are offered where it has them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.following = get_response
        self.inner = type(self).__bases__[-1](get_response)
        for hook, skipped in (("process_view", _none), ("process_exception", _none),
                              ("process_template_response", _response)):
            if hasattr(self.inner, hook):
                setattr(self, hook, _when_browser(getattr(self.inner, hook), skipped))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.inner(request) if for_browser(request) else self.following(request)


def _when_browser(hook: Callable, skipped: Callable) -> Callable:
    return lambda request, *args: hook(request, *args) if for_browser(request) else skipped(*args)


def _none(*args: Any) -> None:
    return None


def _response(response: HttpResponse, *args: Any) -> HttpResponse:
    return response


class StaticFilesMiddleware(BrowserOnlyMiddleware, WhiteNoiseMiddleware):
    pass


class SessionMiddleware(BrowserOnlyMiddleware, sessions_middleware.SessionMiddleware):
    pass


class MessageMiddleware(BrowserOnlyMiddleware, messages_middleware.MessageMiddleware):
    pass
