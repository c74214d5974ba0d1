"""`Idempotency-Key` for money requests: the first successful reply is stored with its charge and replayed.

The record is inserted before the work, in the same transaction: a concurrent twin's insert blocks on the
unique (user, key) index until the first transaction ends, then fails, retries and replays the stored reply.
Only successes are stored (a refusal rolls its record back), so a refused request may be retried with its key.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from accountsite.errors import IdempotencyKeyReusedError, InvalidParametersError
from membership.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
# A twin can lose the insert race only once per committed first request; a few tries are plenty.
ATTEMPTS = 3


def request_fingerprint(*, operation: str, data: dict[str, Any]) -> str:
    """One hash per distinct request: the same operation on the same target (`operation`), with the same
    validated values."""
    canonical = json.dumps({"operation": operation, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_valid(raw: str | None) -> str:
    """The header's key, or "" when absent; 1007 when it is blank, too long or not printable ASCII."""
    if raw is None:
        return ""
    if not raw.strip() or len(raw) > MAX_KEY_LENGTH or not raw.isascii() or not raw.isprintable():
        raise InvalidParametersError(
            "Invalid parameters: Idempotency-Key: 1 to 255 printable ASCII characters.",
            error={"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} printable ASCII characters."]},
        )
    return raw


def _replay(record: IdempotencyRecord, fingerprint: str) -> tuple[int, Any]:
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReusedError(error={"Idempotency-Key": ["Already used with a different request."]})
    return record.response_status, json.loads(record.response_body)


def _attempt(*, user: User, key: str, fingerprint: str, produce: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    with transaction.atomic():
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is not None:
            return _replay(record, fingerprint)
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(user=user, key=key, request_hash=fingerprint)
        status, body = produce()
        record.response_status, record.response_body = status, json.dumps(body)
        record.save(update_fields=["response_status", "response_body"])
        return status, body


def idempotent_reply(*, user: User, key: str, fingerprint: str,
                     produce: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """Runs `produce` (which returns the reply's status and data) once per (user, key)."""
    if not key:
        return produce()
    for _ in range(ATTEMPTS - 1):
        try:
            return _attempt(user=user, key=key, fingerprint=fingerprint, produce=produce)
        except IntegrityError:
            continue  # a twin committed this key first: the next attempt reads its record and replays it
    return _attempt(user=user, key=key, fingerprint=fingerprint, produce=produce)
