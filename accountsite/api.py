"""The wire format: the reply envelope, the one exception handler, pagination and the request guards."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf
from rest_framework import parsers
from rest_framework.pagination import BasePagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from accountsite import errors

logger = logging.getLogger("accountsite")


def envelope_error(code: int, msg: str, error: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "msg": msg, "data": None}
    if error is not None:
        body["error"] = error
    return body


def json_error(code: int, status: int, msg: str, error: Any = None) -> JsonResponse:
    """An error envelope for code paths outside DRF (Django's 404/500 handlers, middleware)."""
    return JsonResponse(envelope_error(code, msg, error), status=status)


class EnvelopeRenderer(JSONRenderer):
    """Wraps every successful reply as {"code": 0, "msg": "ok", "data": ...}."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and not getattr(response, "enveloped", False):
            data = {"code": 0, "msg": "ok", "data": data}
        return super().render(data, accepted_media_type, renderer_context)


def _first_message(detail: Any) -> str:
    """The first human message in a DRF error structure, prefixed with the field it belongs to."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _invalid(detail: Any) -> errors.InvalidParametersError:
    error = as_serializer_error(drf.ValidationError(detail))
    return errors.InvalidParametersError(f"Invalid parameters: {_first_message(error)}", error=error)


_DRF_TO_SERVICE: list[tuple[type[drf.APIException], type[errors.ServiceError]]] = [
    (drf.NotAuthenticated, errors.NotAuthenticatedError),
    (drf.AuthenticationFailed, errors.NotAuthenticatedError),
    (drf.PermissionDenied, errors.PermissionDeniedError),
    (drf.NotFound, errors.NotFoundError),
]


def _as_service_error(exc: Exception) -> errors.ServiceError | None:
    """Every known failure, from DRF, Django or a service, as one ServiceError; None if unexpected."""
    if isinstance(exc, errors.ServiceError):
        return exc
    if isinstance(exc, Http404):
        return errors.NotFoundError()
    if isinstance(exc, DjangoPermissionDenied):
        return errors.PermissionDeniedError()
    if isinstance(exc, DjangoValidationError):
        return _invalid(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, drf.ValidationError):
        return _invalid(exc.detail)
    if isinstance(exc, drf.Throttled):
        return errors.TooManyRequestsError(retry_after=exc.wait or 1)
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowedError(str(exc.detail))
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return errors.RequestTooLargeError("Request body too large: too many fields or files.")
    if isinstance(exc, RequestDataTooBig):
        return errors.RequestTooLargeError()
    if isinstance(exc, SuspiciousOperation):
        return errors.InvalidParametersError("Bad request.")
    if isinstance(exc, drf.ParseError):
        return errors.InvalidParametersError(f"Malformed request body: {exc.detail}")
    if isinstance(exc, drf.UnsupportedMediaType | drf.NotAcceptable):
        return errors.InvalidParametersError(str(exc.detail), status=exc.status_code)
    for drf_class, service_class in _DRF_TO_SERVICE:
        if isinstance(exc, drf_class):
            return service_class()
    if isinstance(exc, drf.APIException):
        return errors.ServiceError(str(exc.detail), status=exc.status_code)
    return None


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: the one place where failures become error envelopes."""
    error = _as_service_error(exc)
    if error is None:
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__ if view else "request")
        error = errors.ServiceError()
    response = Response(envelope_error(error.code, error.message, error.error), status=error.status)
    response.enveloped = True
    if isinstance(error, errors.TooManyRequestsError):
        response["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python can decode is malformed, not a crash."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise drf.ParseError("JSON parse error - nested too deeply.") from None


class PagePagination(BasePagination):
    """`page` from 1, `size` 20 by default and at most 100; a page past the end is an empty list."""

    default_size = 20
    max_size = 100

    def _number(self, request: Any, name: str, default: int) -> int:
        raw = request.query_params.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _invalid({name: ["A whole number is required."]}) from None
        if value < 1:
            raise _invalid({name: ["Must be at least 1."]})
        return value

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        self.page = self._number(request, "page", 1)
        self.size = min(self._number(request, "size", self.default_size), self.max_size)
        self.total = queryset.count()
        start = (self.page - 1) * self.size
        return list(queryset[start : start + self.size])

    def get_paginated_response(self, data: list) -> Response:
        return Response({"total": self.total, "page": self.page, "size": self.size, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["total", "page", "size", "results"],
            "properties": {
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "size": {"type": "integer"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
            {"name": "size", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_size}},
        ]


def paginate(view: Any, queryset: Any, serializer_class: Any, **serializer_kwargs: Any) -> Response:
    """Page a queryset through the view's paginator and render it with the given output serializer."""
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)


class BodySizeLimitMiddleware:
    """Refuses oversized bodies with 1013 before anything parses them (DRF's parsers read the stream
    directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone does not stop a large JSON body)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(1007, 400, "Invalid Content-Length header.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return json_error(1013, 413, f"Request body too large: at most {limit} bytes.")
        return self.get_response(request)


def client_ip(request: Any) -> str:
    """The caller's address: REMOTE_ADDR, or the right hop of X-Forwarded-For behind trusted proxies."""
    proxies = settings.ACCOUNTS_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# Django-level handlers (unknown paths, crashes outside DRF) answer with the same envelope.
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(1007, 400, "Bad request.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(7006, 403, "You do not have permission to do this.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(1009, 404, "Not found.")


def handler500(request: HttpRequest) -> JsonResponse:
    return json_error(1001, 500, "Internal error.")


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "msg", "data"],
    "properties": {
        "code": {"type": "integer", "description": "An error code of CONTRACT.md section 1"},
        "msg": {"type": "string"},
        "data": {"type": "object", "nullable": True},
        "error": {"type": "object", "description": "Field map or details"},
    },
}


def envelope_schema_hook(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular post-processing: document every reply inside its envelope."""
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = _ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                content = response.get("content", {}).get("application/json")
                if content is not None and str(status).startswith("2"):
                    content["schema"] = {
                        "type": "object",
                        "required": ["code", "msg", "data"],
                        "properties": {
                            "code": {"type": "integer", "enum": [0]},
                            "msg": {"type": "string", "enum": ["ok"]},
                            "data": content.get("schema", {"nullable": True}),
                        },
                    }
            responses.setdefault("default", {
                "description": "Error envelope",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            })
    return result
