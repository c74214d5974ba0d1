"""Counters for brute-force and abuse limits, kept in the shared cache so every worker and host agrees.

Each counter is a window that opens at its first hit: `count` is raised with the cache's atomic
increment (Redis INCR in production) and `start` remembers when the window opened, so a refusal can say
exactly when it ends (Retry-After).
"""

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from accountsite.errors import TooManyRequestsError


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

    def _keys(self, ident: str) -> tuple[str, str]:
        digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:40]
        return f"rl:{self.scope}:{digest}:n", f"rl:{self.scope}:{digest}:t"

    def hit(self, ident: str) -> int:
        """Count one hit and return the count in the current window."""
        count_key, start_key = self._keys(ident)
        # Inside an open window this is one round trip to the shared cache (a sign-in pays two hits).
        with contextlib.suppress(ValueError):  # no open window
            return cache.incr(count_key)
        cache.add(start_key, time.time(), self.window)
        if cache.add(count_key, 1, self.window):
            return 1
        try:
            return cache.incr(count_key)  # another worker opened the window meanwhile
        except ValueError:  # ...and it expired already
            cache.set(count_key, 1, self.window)
            return 1

    def retry_after(self, ident: str) -> int | None:
        """Seconds until the window ends if the limit is reached, else None."""
        count_key, start_key = self._keys(ident)
        values = cache.get_many([count_key, start_key])
        if values.get(count_key, 0) < self.allowed:
            return None
        started = values.get(start_key, time.time())
        return max(1, math.ceil(started + self.window - time.time()))

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

    def release(self, ident: str) -> None:
        count_key, _start_key = self._keys(ident)
        with contextlib.suppress(ValueError):  # the window expired meanwhile
            cache.decr(count_key)

    def clear(self, ident: str) -> None:
        cache.delete_many(list(self._keys(ident)))


LOGIN_FAILURES_PER_ACCOUNT = Limit(
    "login-account", "ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", "ACCOUNTS_LOGIN_FAILURE_WINDOW"
)
LOGIN_FAILURES_PER_IP = Limit("login-ip", "ACCOUNTS_LOGIN_FAILURES_PER_IP", "ACCOUNTS_LOGIN_FAILURE_WINDOW")
REGISTRATIONS_PER_IP = Limit("register-ip", "ACCOUNTS_REGISTRATIONS_PER_IP", "ACCOUNTS_REGISTRATION_WINDOW")
SECRET_MAILS_PER_ACCOUNT = Limit(
    "secret-mail-account", "ACCOUNTS_SECRET_MAILS_PER_ACCOUNT", "ACCOUNTS_SECRET_MAIL_WINDOW"
)
SECRET_MAILS_PER_IP = Limit("secret-mail-ip", "ACCOUNTS_SECRET_MAILS_PER_IP", "ACCOUNTS_SECRET_MAIL_WINDOW")
