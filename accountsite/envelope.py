"""The reply envelope and the wire format: {"code": 0, "msg": "ok", "data": ...} on success, and
{"code", "msg", "data": null[, "error"]} on failure, rendered as JSON in one format for every reply."""

import codecs
import math
from collections.abc import Callable, Iterable, Mapping
from json import JSONDecodeError
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpResponse
from rest_framework import exceptions as drf
from rest_framework import parsers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils import json

from accountsite import errors


def envelope_error(error: errors.ServiceError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "msg": error.message, "data": None}
    if error.error is not None:
        body["error"] = error.error
    return body


class _EscapingJSONRenderer(JSONRenderer):
    ensure_ascii = True


class EnvelopeRenderer(JSONRenderer):
    """Wraps every successful reply as {"code": 0, "msg": "ok", "data": ...}; the one JSON format of every
    reply (error replies from outside DRF are rendered by it too)."""

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        response = (renderer_context or {}).get("response")
        # DRF marks the replies of its exception handling: those are error envelopes already.
        if response is not None and not getattr(response, "exception", False):
            data = {"code": 0, "msg": "ok", "data": data}
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone UTF-16 surrogate (a JSON "\ud800" that reached a reply) has no UTF-8 form: written as
            # an escape, the reply is still valid JSON. The renderer never fails on a message.
            return _EscapingJSONRenderer().render(data, accepted_media_type, renderer_context)


class LegacyJSONRenderer(EnvelopeRenderer):
    """The same replies for clients that ask for `Accept: text/json` (seed 004's examples do), under the media
    type they asked for. `application/json` stays the one a client gets when it asks for either or neither."""

    media_type = "text/json"


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's, except that `?format=` naming no reply format is 406 (1007), like an `Accept` the API cannot
    meet: DRF answers 404, which said that an existing repository or user did not exist."""

    def get_accept_list(self, request: Any) -> list[str]:
        """DRF's list, without the media ranges the client refuses (`q=0`, RFC 9110 12.4.2): DRF ignores the
        weights, so `Accept: application/json;q=0` was answered in JSON. Refusing every range is 406."""
        return [media for media in super().get_accept_list(request) if not _refused(media)]

    def select_renderer(self, request: Any, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        """DRF's choice among the renderers whose media type the client does not refuse by name
        (`application/json;q=0, */*` gets text/json)."""
        refused = {media.split(";")[0].strip().lower() for media in super().get_accept_list(request) if _refused(media)}
        allowed = [renderer for renderer in renderers if renderer.media_type.lower() not in refused]
        if not allowed:
            raise drf.NotAcceptable("None of the reply formats is acceptable: application/json and text/json.")
        return super().select_renderer(request, allowed, format_suffix)

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        renderers = list(renderers)
        found = [renderer for renderer in renderers if renderer.format == format]
        if not found:  # the format is not echoed: it is the caller's text; the view's own formats are named
            offered = " or ".join(dict.fromkeys(renderer.format for renderer in renderers))
            raise drf.NotAcceptable(f"Unknown reply format in ?format=: leave it out, or use {offered}.")
        return found


def _refused(media: str) -> bool:
    """Whether a media range of an Accept header carries a weight of 0 (`q=0`, `q=0.00`)."""
    for parameter in media.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip()) == 0
            except ValueError:
                return False
    return False


def error_response(error: errors.ServiceError) -> HttpResponse:
    """The error envelope for code paths outside DRF (Django's handlers, middleware), in DRF's JSON format."""
    response = HttpResponse(EnvelopeRenderer().render(envelope_error(error)), status=error.status_code,
                            content_type="application/json")
    if error.wait:
        response["Retry-After"] = str(error.wait)
    return response


class _Malformed(ValueError):
    """JSON that this API does not read, with the reason in the API's words."""


def _objects_without_repeats() -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An object_pairs_hook for one document: an object naming a key twice is malformed, and the document may
    name DATA_UPLOAD_MAX_NUMBER_FIELDS keys in all, as a form body may send that many fields."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    keys = 0

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal keys
        keys += len(pairs)
        if limit is not None and keys > limit:
            raise TooManyFieldsSent(f"A JSON body named more than {limit} keys.")
        data: dict[str, Any] = {}
        for key, value in pairs:
            if key in data:
                raise _Malformed("an object names the same key twice")  # which one is not echoed
            data[key] = value
        return data

    return hook


def _finite(text: str) -> float:
    """A JSON number with a fraction or an exponent; one past a float's range (1e999999) is malformed, as the
    literals NaN and Infinity are, instead of reaching a field as "inf"."""
    value = float(text)
    if not math.isfinite(value):
        raise _Malformed("a number too large for a float")
    return value


def _whole(text: str) -> int:
    """A JSON integer; one with more digits than Python converts (sys.get_int_max_str_digits()) is malformed."""
    try:
        return int(text)
    except ValueError:
        raise _Malformed("a number with too many digits") from None


def _no_constant(name: str) -> Any:
    raise _Malformed(f"{name} is not a JSON number")  # Python's extension: NaN, Infinity or -Infinity


def _parse_error(exc: ValueError) -> str:
    """Why a body is not JSON this API reads, in its words: Python's own messages name its internals."""
    if isinstance(exc, JSONDecodeError | _Malformed):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "the body is not valid utf-8 text"
    return "not a JSON document"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python can decode is malformed, not a crash,
    and so is an object that names a key twice: parsers disagree on which value counts (Python's keeps the
    last), so a proxy or a log could read another request than the one served. A body naming more keys than
    a form may send fields is too large (1013).

    The body is read as UTF-8 whatever charset its Content-Type names: JSON exchanged between systems is
    UTF-8, and application/json defines no charset parameter, which compliant recipients ignore (RFC 8259,
    sections 8.1 and 11). Decoding by the named charset read a UTF-8 body labelled latin-1 as other text."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return json.loads(codecs.getreader("utf-8")(stream).read(), object_pairs_hook=_objects_without_repeats(),
                              parse_constant=_no_constant if self.strict else None, parse_float=_finite,
                              parse_int=_whole)
        except ValueError as exc:
            raise drf.ParseError(f"JSON parse error - {_parse_error(exc)}") from None
        except RecursionError:
            raise drf.ParseError("JSON parse error - nested too deeply.") from None


class LegacyJSONParser(JSONParser):
    """JSON bodies sent as `Content-Type: text/json` (seed 004's examples send `text/json;charset=UTF-8`)."""

    media_type = "text/json"
