"""The outbox: work a request leaves for later (e-mail above all), durable and retried until done.

A task is a row written in the transaction of the change it belongs to, so a rolled-back change leaves
nothing to do, and a committed one cannot lose its mail when SMTP is down or a process dies. A worker
(`manage.py run_outbox`, any number of them on any host) claims due rows with SKIP LOCKED and a lease,
calls the task's function, deletes the row on success, and on failure keeps it with the error and the
next attempt due after a backoff (30 s doubling to an hour, for as long as it takes). Delivery is at
least once: a worker killed after sending and before deleting sends again after the lease.

In development (`OUTBOX_INLINE`) the request runs its own tasks right after its commit, so nothing else
needs to run; a failure leaves the row for the worker, as in production.
"""

import contextlib
import logging
import threading
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from accountsite.models import OutboxTask
from accountsite.sealing import unseal

logger = logging.getLogger("accountsite.outbox")

LEASE = timedelta(minutes=5)  # a claimed task whose worker died is due again after this
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def outbox_enqueue(task: str, **arguments: Any) -> OutboxTask:
    """Leaves `task` (the dotted path of a function taking `arguments`, JSON values) to be run once the
    current transaction commits."""
    row = OutboxTask.objects.create(task=task, arguments=arguments)
    if settings.OUTBOX_INLINE:
        transaction.on_commit(partial(outbox_run, ids=[row.pk]), robust=True)
    return row


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 30 s, 1 min, 2 min ... at most an hour."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 16), LAST_RETRY)


def _claim(*, now: datetime, due_by: datetime, ids: list[int] | None, seen: Collection[int]) -> OutboxTask | None:
    """Leases the oldest task due by `due_by` (of `ids` if given, but none of those `seen`) from `now` on."""
    with transaction.atomic():
        due = OutboxTask.objects.select_for_update(skip_locked=True).filter(due_at__lte=due_by).exclude(pk__in=seen)
        if ids is not None:
            due = due.filter(pk__in=ids)
        row = due.order_by("due_at", "pk").first()
        if row is not None:
            OutboxTask.objects.filter(pk=row.pk).update(due_at=now + LEASE, attempts=F("attempts") + 1)
    return row


@contextlib.contextmanager
def _lease_kept(pk: int) -> Iterator[None]:
    """Renews the lease of task `pk` every third of a lease while the block runs. EMAIL_TIMEOUT bounds each
    wait on the SMTP server, not a whole attempt: a server that answers slowly, line after line, held one mail
    past its lease, and another worker sent it again. A worker that dies stops renewing, so its tasks still
    run again when the lease ends."""
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(LEASE.total_seconds() / 3):
                OutboxTask.objects.filter(pk=pk).update(due_at=timezone.now() + LEASE)
        except Exception:  # the lease then ends as if the worker had died: the task may run again
            logger.warning("outbox: could not renew the lease of #%s", pk, exc_info=True)
        finally:
            connection.close()  # this thread's own

    renewer = threading.Thread(target=renew, name=f"outbox-lease-{pk}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()


def outbox_run(*, ids: list[int] | None = None, limit: int = 50, now: datetime | None = None) -> tuple[int, int]:
    """Runs up to `limit` tasks due when it starts (only those of `ids` if given), oldest first, each once;
    returns (done, failed).

    Each task is claimed right before it runs, so its lease covers it alone: claimed as a batch, the last
    tasks of one waiting behind a slow SMTP server (50 at 10 s each) outlived their lease, and another worker
    sent them again. Each runs outside any transaction (an SMTP conversation must not hold the database's
    write lock); a task that writes opens its own."""
    done = failed = 0
    seen: set[int] = set()
    started = now or timezone.now()
    for _ in range(limit):
        row = _claim(now=now or timezone.now(), due_by=started, ids=ids, seen=seen)
        if row is None:
            break
        seen.add(row.pk)
        try:
            with _lease_kept(row.pk):
                import_string(row.task)(**row.arguments)
        except Exception as exc:
            attempts = row.attempts + 1
            OutboxTask.objects.filter(pk=row.pk).update(
                due_at=timezone.now() + retry_delay(attempts), last_error=f"{type(exc).__name__}: {exc}"[:2000])
            logger.warning("outbox: %s #%s failed (attempt %s), retried in %s", row.task, row.pk, attempts,
                           retry_delay(attempts), exc_info=exc)
            failed += 1
        else:
            OutboxTask.objects.filter(pk=row.pk).delete()
            done += 1
    return done, failed


def mail_deliver(*, subject: str, to: str, from_email: str, sealed_text: str = "", sealed_html: str = "",
                 text: str = "", html: str = "") -> None:
    """The outbox task of every e-mail: one message, plain text with an HTML alternative. The bodies come
    sealed (accountsite.sealing); `text` and `html` are the open bodies of tasks a release before left."""
    text, html = (unseal(sealed_text), unseal(sealed_html)) if sealed_text else (text, html)
    message = EmailMultiAlternatives(subject, text, from_email, [to])
    message.attach_alternative(html, "text/html")
    message.send()
