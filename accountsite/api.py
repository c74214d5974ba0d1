"""Failures as replies: the one exception handler, and Django's own error handlers.

Every error reply is built from an error class of accountsite.errors, whatever raised it. DRF's own
exception handler still decides the status and the headers (and rolls back the request's atomic
block); this module only puts the envelope (accountsite.envelope) around its result.
"""

import logging
import re
import sys
from typing import Any

import redis
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django_redis.exceptions import ConnectionInterrupted
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from accountsite import errors
from accountsite.envelope import envelope_error, error_response

logger = logging.getLogger("accountsite")


def _first_message(detail: Any) -> str:
    """The first human message in a DRF error structure, prefixed with the field it belongs to."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def invalid(detail: Any) -> errors.InvalidParametersError:
    """1007 for a DRF or Django validation error structure, with its field map."""
    error = as_serializer_error(drf.ValidationError(detail))
    return errors.InvalidParametersError(f"Invalid parameters: {_first_message(error)}", error=error)


def dependency_down(exc: BaseException | None) -> bool:
    """Did the request fail because the database or the shared cache does not answer (rather than a bug)?
    PostgreSQL's OperationalError is the server's own trouble (a lost connection, a shutdown, too many
    clients, a deadlock); SQLite's also covers mistakes in a query ("no such table"), of which only a
    lock that did not come in time is the store being unavailable."""
    if isinstance(exc, ConnectionInterrupted | redis.ConnectionError | redis.TimeoutError | InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    return connection.vendor != "sqlite" or "database is locked" in str(exc)


def _django_error(exc: Exception) -> Exception:
    """Failures Django raises that DRF's handler does not know, as the error class of their code."""
    if dependency_down(exc):
        logger.error("A dependency is down", exc_info=exc)
        return errors.DependencyDownError()
    if isinstance(exc, DjangoValidationError):
        return invalid(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return errors.RequestTooLargeError("Request too large: too many fields or files.")
    if isinstance(exc, RequestDataTooBig):
        return errors.RequestTooLargeError()
    if isinstance(exc, DisallowedHost):
        return errors.InvalidParametersError("Unknown host: this service does not answer to that Host header.")
    if isinstance(exc, SuspiciousOperation):
        return errors.InvalidParametersError("Bad request.")
    return exc


# The error class of each status DRF's handler answers; 406 and 415 are a client's mistake like any 400.
_KNOWN: tuple[type[errors.ServiceError], ...] = (
    errors.InvalidParametersError, errors.NotAuthenticatedError, errors.PermissionDeniedError, errors.NotFoundError,
    errors.MethodNotAllowedError, errors.RequestTooLargeError,
)
_BY_STATUS = {error.status_code: error for error in _KNOWN} | {406: errors.InvalidParametersError,
                                                               415: errors.InvalidParametersError}


def _as_error(exc: Exception, status: int) -> errors.ServiceError:
    """The envelope's error for what DRF's handler answered with `status`: the error class of that status,
    with the details a client can act on (which field, what was malformed, which method)."""
    if isinstance(exc, errors.ServiceError):
        return exc
    if isinstance(exc, drf.ValidationError):
        return invalid(exc.detail)
    if isinstance(exc, drf.Throttled):
        return errors.TooManyRequestsError(retry_after=int(getattr(exc, "wait", None) or 1))
    error_class = _BY_STATUS.get(status)
    if error_class is None:
        return errors.ServiceError(status=status)
    if isinstance(exc, drf.ParseError):
        return error_class(f"Malformed request body: {exc.detail}")
    if isinstance(exc, drf.MethodNotAllowed | drf.UnsupportedMediaType | drf.NotAcceptable):
        return error_class(str(exc.detail), status=status)
    return error_class()


# A media type as RFC 9110 writes one (type/subtype, token characters), short enough to be named back.
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}")


def _unsupported(request: Any) -> drf.UnsupportedMediaType:
    """DRF's 415 quotes the whole Content-Type back, parameters and all (a multipart boundary of thousands of
    characters); this one names the type alone, and only a well-formed one."""
    media = (getattr(request, "content_type", "") or "").split(";")[0].strip()
    shown = f' "{media}"' if _MEDIA_TYPE.fullmatch(media) else ""
    return drf.UnsupportedMediaType(media, detail=f"Unsupported media type{shown} in request.")


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: DRF's own handler, with the reply put in the envelope."""
    exc = _django_error(exc)
    if isinstance(exc, drf.UnsupportedMediaType):
        exc = _unsupported(context.get("request"))
    response = drf_exception_handler(exc, context)
    if response is None:  # not an API failure DRF knows: a crash
        view = context.get("view")
        logger.error("Unhandled error in %s", type(view).__name__ if view else "request", exc_info=exc)
        exc = errors.ServiceError()
        response = Response(status=exc.status_code)
    response.data = envelope_error(_as_error(exc, response.status_code))
    return response


# Django-level handlers (unknown paths, crashes outside DRF) answer with the same envelope.
def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """What Django refused before any view (too many fields in a query string, say), as its error class."""
    error = _django_error(exception) if exception is not None else None
    if not isinstance(error, errors.ServiceError):
        error = errors.InvalidParametersError("Bad request.")
    return error_response(error)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(errors.PermissionDeniedError())


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(errors.NotFoundError())


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still the one in flight.
    if dependency_down(sys.exc_info()[1]):
        return error_response(errors.DependencyDownError())
    return error_response(errors.ServiceError())
