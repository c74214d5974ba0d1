"""Counters for brute-force and abuse limits, in one store every worker process and host shares.

Each counter is a window that opens at its first hit and remembers when it ends, so a refusal can say
exactly when (Retry-After). The store is the cache when it is shared and increments atomically (Redis
INCR in production), else the database: one upsert per hit (accountsite.models.RateCounter), so two
gunicorn workers on SQLite count one sequence of attempts, not two (settings.ACCOUNTS_RATELIMIT_STORE).
"""

import contextlib
import hashlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F

from accountsite.errors import TooManyRequestsError
from accountsite.models import RateCounter


class CacheWindows:
    """Windows in the shared cache: `n` counts with the cache's atomic increment, `t` is the opening time."""

    def hit(self, key: str, window: int) -> int:
        count_key, start_key = f"{key}:n", f"{key}:t"
        cache.add(start_key, time.time(), window)
        cache.add(count_key, 0, window)
        try:
            return cache.incr(count_key)
        except ValueError:  # the window expired between add and incr
            cache.set(count_key, 1, window)
            return 1

    def state(self, key: str, window: int) -> tuple[int, float]:
        """The count in the current window and when the window ends."""
        values = cache.get_many([f"{key}:n", f"{key}:t"])
        return values.get(f"{key}:n", 0), values.get(f"{key}:t", time.time()) + window

    def release(self, key: str) -> None:
        with contextlib.suppress(ValueError):  # the window expired meanwhile
            cache.decr(f"{key}:n")

    def clear(self, key: str) -> None:
        cache.delete_many([f"{key}:n", f"{key}:t"])


class DatabaseWindows:
    """Windows in the database: one INSERT ... ON CONFLICT DO UPDATE per hit (PostgreSQL and SQLite 3.35+),
    atomic however many processes hit the same key. An expired window restarts at 1 in the same statement;
    other expired windows are deleted as hits come."""

    table = RateCounter._meta.db_table

    def hit(self, key: str, window: int) -> int:
        now = time.time()
        t = self.table
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {t} WHERE expires <= %s", [now])  # noqa: S608 - the table's own name
            cursor.execute(
                f"INSERT INTO {t} (key, hits, started, expires) VALUES (%s, 1, %s, %s) "  # noqa: S608
                f"ON CONFLICT (key) DO UPDATE SET "
                f"hits = CASE WHEN {t}.expires <= excluded.started THEN 1 ELSE {t}.hits + 1 END, "
                f"started = CASE WHEN {t}.expires <= excluded.started THEN excluded.started ELSE {t}.started END, "
                f"expires = CASE WHEN {t}.expires <= excluded.started THEN excluded.expires ELSE {t}.expires END "
                f"RETURNING hits",
                [key, now, now + window],
            )
            return cursor.fetchone()[0]

    def state(self, key: str, window: int) -> tuple[int, float]:
        now = time.time()
        row = RateCounter.objects.filter(key=key, expires__gt=now).values_list("hits", "expires").first()
        return row if row is not None else (0, now + window)

    def release(self, key: str) -> None:
        RateCounter.objects.filter(key=key, hits__gt=0).update(hits=F("hits") - 1)

    def clear(self, key: str) -> None:
        RateCounter.objects.filter(key=key).delete()


def windows() -> CacheWindows | DatabaseWindows:
    return DatabaseWindows() if settings.ACCOUNTS_RATELIMIT_STORE == "database" else CacheWindows()


@dataclass(frozen=True)
class Limit:
    scope: str
    setting: str  # the name of the setting holding the number of hits allowed per window
    window_setting: str

    @property
    def allowed(self) -> int:
        return getattr(settings, self.setting)

    @property
    def window(self) -> int:
        return getattr(settings, self.window_setting)

    def _key(self, ident: str) -> str:
        digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:40]
        return f"rl:{self.scope}:{digest}"

    def hit(self, ident: str) -> int:
        """Count one hit and return the count in the current window."""
        return windows().hit(self._key(ident), self.window)

    def retry_after(self, ident: str) -> int | None:
        """Seconds until the window ends if the limit is reached, else None."""
        count, ends = windows().state(self._key(ident), self.window)
        if count < self.allowed:
            return None
        return max(1, math.ceil(ends - time.time()))

    def check(self, ident: str) -> None:
        wait = self.retry_after(ident)
        if wait is not None:
            raise TooManyRequestsError(retry_after=wait)

    def consume(self, ident: str) -> int:
        """Count a hit and refuse it if it goes past the limit; returns the count."""
        count = self.hit(ident)
        if count > self.allowed:
            self.check(ident)
        return count

    def reserve(self, ident: str) -> int:
        """Count an attempt before it is judged and refuse it past the limit, so attempts made in parallel
        cannot all pass a check before any of them is counted; `release` returns the slot after a success.
        Returns the count: the attempt that reaches `allowed` is the last one let through, so if it fails,
        the limit is now reached."""
        return self.consume(ident)

    @contextlib.contextmanager
    def attempt(self, ident: str, *, counted: tuple[type[Exception], ...] = ()) -> Iterator[None]:
        """Counts the attempt in the block (reserved first, so parallel ones cannot overshoot) if it
        succeeds or fails with one of `counted`; any other failure gives its slot back."""
        self.reserve(ident)
        try:
            yield
        except Exception as exc:
            if not isinstance(exc, counted):
                self.release(ident)
            raise

    def release(self, ident: str) -> None:
        windows().release(self._key(ident))

    def clear(self, ident: str) -> None:
        windows().clear(self._key(ident))


LOGIN_FAILURES_PER_ACCOUNT = Limit(
    "login-account", "ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", "ACCOUNTS_LOGIN_FAILURE_WINDOW"
)
LOGIN_FAILURES_PER_IP = Limit("login-ip", "ACCOUNTS_LOGIN_FAILURES_PER_IP", "ACCOUNTS_LOGIN_FAILURE_WINDOW")
REGISTRATIONS_PER_IP = Limit("register-ip", "ACCOUNTS_REGISTRATIONS_PER_IP", "ACCOUNTS_REGISTRATION_WINDOW")
SECRET_MAILS_PER_ACCOUNT = Limit(
    "secret-mail-account", "ACCOUNTS_SECRET_MAILS_PER_ACCOUNT", "ACCOUNTS_SECRET_MAIL_WINDOW"
)
SECRET_MAILS_PER_IP = Limit("secret-mail-ip", "ACCOUNTS_SECRET_MAILS_PER_IP", "ACCOUNTS_SECRET_MAIL_WINDOW")
