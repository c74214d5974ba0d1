"""`Idempotency-Key` for money requests: the first successful reply is stored with its charge and replayed.

The record is inserted before the work, in the same transaction: a concurrent twin's insert blocks on the
unique (user, key) index until the first transaction ends, then fails, retries and replays the stored reply.
Only successes are stored (a refusal rolls its record back), so a refused request may be retried with its key.

A key lives IDEMPOTENCY_KEY_TTL_HOURS (24, as Stripe's do): past that its record is gone to every read, before
prune_idempotency_keys deletes it, and a request with the key is a new request, charged again. A client
retries within minutes; a key that replayed forever would keep every record forever.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accountsite.errors import IdempotencyKeyReusedError, InvalidParametersError
from membership.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
# A twin can lose the insert race only once per committed first request; a few tries are plenty.
ATTEMPTS = 3
PRUNE_BATCH = 1000  # records deleted per statement, so that no prune holds a long transaction


def _expired_before(now: datetime) -> datetime:
    """Records created at or before this instant are past the window: gone."""
    return now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


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


def _attempt(*, user: User, key: str, fingerprint: str, produce: Callable[[], tuple[int, Any]],
             now: datetime) -> tuple[int, Any]:
    with transaction.atomic():
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is not None and record.created_at <= _expired_before(now):
            # Gone, pruned or not: deleted here (with this transaction) to free the unique (user, key) for this
            # new request's record. A twin that read the same expired record waits on this delete's row lock,
            # then loses the insert race and replays this request's reply: one charge still.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            record = None
        if record is not None:
            return _replay(record, fingerprint)
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(user=user, key=key, request_hash=fingerprint, created_at=now)
        status, body = produce()
        record.response_status, record.response_body = status, json.dumps(body)
        record.save(update_fields=["response_status", "response_body"])
        return status, body


def idempotent_reply(*, user: User, key: str, fingerprint: str, produce: Callable[[], tuple[int, Any]],
                     now: datetime | None = None) -> tuple[int, Any]:
    """Runs `produce` (which returns the reply's status and data) once per (user, key) within the key's
    window; a key past it is a new request."""
    if not key:
        return produce()
    now = now or timezone.now()
    for _ in range(ATTEMPTS - 1):
        try:
            return _attempt(user=user, key=key, fingerprint=fingerprint, produce=produce, now=now)
        except IntegrityError:
            continue  # a twin committed this key first: the next attempt reads its record and replays it
    return _attempt(user=user, key=key, fingerprint=fingerprint, produce=produce, now=now)


def idempotency_keys_prune(*, now: datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Deletes the records past the window, `batch` per statement, each committed on its own; answers how
    many went. Running it again deletes nothing more (until more keys age)."""
    before = _expired_before(now or timezone.now())
    pruned = 0
    while ids := list(IdempotencyRecord.objects.filter(created_at__lte=before).order_by()
                      .values_list("pk", flat=True)[:batch]):
        pruned += IdempotencyRecord.objects.filter(pk__in=ids, created_at__lte=before).delete()[0]
    return pruned
