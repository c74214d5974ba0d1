"""The errors: one class per code of the reply envelope (docs/errors.md), raised by services and views.

Every error reply is built from one of these, the Django-level handlers and middleware included
(accountsite.api). They are DRF APIExceptions, so DRF's own exception handler gives them their status
and headers (`Retry-After`, `WWW-Authenticate`) before the envelope is put around them.
"""

from typing import Any

from rest_framework.exceptions import APIException


class ServiceError(APIException):
    """A rule said no. `code` is the envelope's, `status_code` the HTTP status, `message` one sentence for
    a person, `error` (optional) a field map or details."""

    code: int = 1001
    status_code: int = 500
    message: str = "Internal error."
    auth_header: str | None = None
    wait: int | None = None

    def __init__(self, message: str | None = None, *, error: Any = None, status: int | None = None) -> None:
        self.message = message or self.message
        self.error = error
        if status is not None:
            self.status_code = status
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return self.status_code


class DependencyDownError(ServiceError):
    """The database or the shared cache does not answer: the request cannot be served safely now."""

    code, status_code, message = 1001, 503, "A service this request needs is down; try again shortly."


class InvalidParametersError(ServiceError):
    code, status_code, message = 1007, 400, "Invalid parameters."


class NotFoundError(ServiceError):
    code, status_code, message = 1009, 404, "Not found."


class MethodNotAllowedError(ServiceError):
    code, status_code, message = 1010, 405, "Method not allowed."


class RequestTooLargeError(ServiceError):
    code, status_code, message = 1013, 413, "Request body too large."


class TooManyRequestsError(ServiceError):
    code, status_code, message = 1029, 429, "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        self.retry_after = self.wait = max(1, int(retry_after))
        super().__init__(message)


class NotAuthenticatedError(ServiceError):
    code, status_code, message = 7005, 401, "Authentication credentials were not provided or are no longer valid."
    auth_header = 'Bearer realm="api"'


class PermissionDeniedError(ServiceError):
    code, status_code, message = 7006, 403, "You do not have permission to do this."


class AccountNotActivatedError(ServiceError):
    code, status_code, message = 7008, 403, "This account has not been activated yet."


class AccountDisabledError(ServiceError):
    code, status_code, message = 7009, 403, "This account is frozen, invalid or deleted."


class LoginNameTakenError(ServiceError):
    code, status_code, message = 8002, 409, "This login name is already taken."


class EmailTakenError(ServiceError):
    code, status_code, message = 8003, 409, "This e-mail address is already in use."


class WrongPasswordError(ServiceError):
    """400 by default; login passes status=401 (docs/errors.md)."""

    code, status_code, message = 8004, 400, "Wrong password."


class InvalidSecretError(ServiceError):
    code, status_code, message = 8005, 400, "This code is invalid, already used or expired."


class QuotaExistsError(ServiceError):
    code, status_code, message = 8006, 409, "This quota record already exists."


class InsufficientBalanceError(ServiceError):
    code, status_code, message = 8007, 402, "The wallet balance is too low."


class QuotaExceededError(ServiceError):
    code, status_code, message = 8008, 403, "Quota exceeded."


class MembershipChangeError(ServiceError):
    code, status_code, message = 8009, 409, "This membership change is not allowed."


class CostMismatchError(ServiceError):
    code, status_code, message = 8010, 409, "The quoted cost does not match the current price."


class RepositoryExistsError(ServiceError):
    code, status_code, message = 8011, 409, "A repository with this name already exists."


class IdempotencyKeyReusedError(ServiceError):
    code, status_code, message = 8012, 422, "This Idempotency-Key was already used with a different request."
