"""The service errors: one class per error code of CONTRACT.md section 1, raised by services."""

from typing import Any


class ServiceError(Exception):
    """A rule said no. The exception handler turns it into the error envelope."""

    code: int = 1001
    status: int = 500
    message: str = "Internal error."

    def __init__(self, message: str | None = None, *, error: Any = None, status: int | None = None) -> None:
        self.message = message or self.message
        self.error = error
        if status is not None:
            self.status = status
        super().__init__(self.message)


class InvalidParametersError(ServiceError):
    code, status, message = 1007, 400, "Invalid parameters."


class NotFoundError(ServiceError):
    code, status, message = 1009, 404, "Not found."


class MethodNotAllowedError(ServiceError):
    code, status, message = 1010, 405, "Method not allowed."


class RequestTooLargeError(ServiceError):
    code, status, message = 1013, 413, "Request body too large."


class TooManyRequestsError(ServiceError):
    code, status, message = 1029, 429, "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)


class NotAuthenticatedError(ServiceError):
    code, status, message = 7005, 401, "Authentication credentials were not provided or are no longer valid."


class PermissionDeniedError(ServiceError):
    code, status, message = 7006, 403, "You do not have permission to do this."


class AccountNotActivatedError(ServiceError):
    code, status, message = 7008, 403, "This account has not been activated yet."


class AccountDisabledError(ServiceError):
    code, status, message = 7009, 403, "This account is frozen, invalid or deleted."


class LoginNameTakenError(ServiceError):
    code, status, message = 8002, 409, "This login name is already taken."


class EmailTakenError(ServiceError):
    code, status, message = 8003, 409, "This e-mail address is already in use."


class WrongPasswordError(ServiceError):
    """400 by default; login passes status=401 (CONTRACT section 1)."""

    code, status, message = 8004, 400, "Wrong password."


class InvalidSecretError(ServiceError):
    code, status, message = 8005, 400, "This code is invalid, already used or expired."


class QuotaExistsError(ServiceError):
    code, status, message = 8006, 409, "This quota record already exists."


class InsufficientBalanceError(ServiceError):
    code, status, message = 8007, 402, "The wallet balance is too low."


class QuotaExceededError(ServiceError):
    code, status, message = 8008, 403, "Quota exceeded."


class MembershipChangeError(ServiceError):
    code, status, message = 8009, 409, "This membership change is not allowed."


class CostMismatchError(ServiceError):
    code, status, message = 8010, 409, "The quoted cost does not match the current price."


class RepositoryExistsError(ServiceError):
    code, status, message = 8011, 409, "A repository with this name already exists."


class IdempotencyKeyReusedError(ServiceError):
    code, status, message = 8012, 422, "This Idempotency-Key was already used with a different request."
