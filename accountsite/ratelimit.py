"""Counters for brute-force and abuse limits, in one store every worker process and host shares.

Each counter is a window that opens at its first hit and remembers when it ends, so a refusal can say
exactly when (Retry-After). The store is the cache when it is shared and increments atomically (Redis
in production: one Lua script per step, however many windows it touches), else the database: one upsert
per hit (accountsite.models.RateCounter), so two gunicorn workers on SQLite count one sequence of
attempts, not two (settings.ACCOUNTS_RATELIMIT_STORE).
"""

import abc
import contextlib
import hashlib
import ipaddress
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django_redis.client import DefaultClient, ShardClient

from accountsite.errors import TooManyRequestsError
from accountsite.models import RateCounter

# A slot to reserve: the window's key, its length in seconds and the hits it allows (None: no limit).
Slot = tuple[str, int, int | None]


def _wait(ends: float) -> int:
    """Seconds until a window ending at `ends`, for Retry-After."""
    return max(1, math.ceil(ends - time.time()))


class Windows(abc.ABC):
    """A store of fixed windows. `reserve` and `settle` are made of the single window operations below, for
    the stores that have no way to make each of them one step (RedisWindows does it in one script)."""

    @abc.abstractmethod
    def hit(self, key: str, window: int) -> int:
        """Counts one more in the key's current window (opened for `window` seconds); answers the count."""

    @abc.abstractmethod
    def state(self, key: str, window: int) -> tuple[int, float]:
        """(count, when the window ends) of the key's current window."""

    @abc.abstractmethod
    def release(self, key: str) -> None:
        """Takes one back from the key's count (an attempt that turned out not to count)."""

    @abc.abstractmethod
    def clear(self, key: str) -> None:
        """Forgets the key's window."""

    def reserve(self, slots: Sequence[Slot]) -> list[int]:
        """Counts a hit in each window in turn and returns the counts; the first that goes past its limit is
        refused (its hit stays counted), after the windows before it are given their slots back."""
        counts: list[int] = []
        for index, (key, window, allowed) in enumerate(slots):
            count = self.hit(key, window)
            if allowed is not None and count > allowed:
                for taken, _window, _allowed in slots[:index]:
                    self.release(taken)
                raise TooManyRequestsError(retry_after=_wait(self.state(key, window)[1]))
            counts.append(count)
        return counts

    def settle(self, *, release: Sequence[str] = (), clear: Sequence[str] = ()) -> None:
        """Gives back one slot of each window in `release` and empties those in `clear`."""
        for key in release:
            self.release(key)
        for key in clear:
            self.clear(key)


class CacheWindows(Windows):
    """Windows in the shared cache: `n` counts with the cache's atomic increment, `t` is the opening time."""

    def hit(self, key: str, window: int) -> int:
        count_key, start_key = f"{key}:n", f"{key}:t"
        # Inside an open window this is one round trip to the shared cache (a sign-in pays two hits).
        with contextlib.suppress(ValueError):  # no open window
            return cache.incr(count_key)
        cache.add(start_key, time.time(), window)
        if cache.add(count_key, 1, window):
            return 1
        try:
            return cache.incr(count_key)  # another worker opened the window meanwhile
        except ValueError:  # ...and it expired already
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


class DatabaseWindows(Windows):
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


class RedisWindows(Windows):
    """Windows in Redis through django-redis's own connection: each a hash holding the count (`n`) and the
    opening time (`t`), which expires with the window. Every step is one Lua script, so one round trip and
    atomic, however many windows it touches: a sign-in reserves its IP's and its account's slots in one,
    and settles both in another. A window opens in the same script as its first hit, so clearing one
    (a delete) costs nothing at the next hit, and a slot is given back only from a count above zero."""

    # KEYS: the windows; ARGV: the time now, then each window's length and hits allowed (-1: no limit).
    # Returns 0 and the counts, or the number of the window that refused and its opening time.
    _RESERVE = """
        local counts = {0}
        for i, key in ipairs(KEYS) do
            local count = redis.call('HINCRBY', key, 'n', 1)
            if redis.call('HSETNX', key, 't', ARGV[1]) == 1 then
                redis.call('EXPIRE', key, ARGV[2 * i])
            end
            local allowed = tonumber(ARGV[2 * i + 1])
            if allowed >= 0 and count > allowed then
                for j = 1, i - 1 do
                    redis.call('HINCRBY', KEYS[j], 'n', -1)
                end
                return {i, redis.call('HGET', key, 't')}
            end
            counts[i + 1] = count
        end
        return counts
    """
    # KEYS: the windows to give a slot back to, then those to empty; ARGV[1]: how many are given a slot back.
    _SETTLE = """
        local released = tonumber(ARGV[1])
        for i, key in ipairs(KEYS) do
            if i > released then
                redis.call('DEL', key)
            elseif tonumber(redis.call('HGET', key, 'n') or '0') > 0 then
                redis.call('HINCRBY', key, 'n', -1)
            end
        end
    """

    def __init__(self, client: DefaultClient) -> None:
        self.client = client.get_client(write=True)

    def _run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        # EVALSHA, and the script's text only the first time a Redis server is asked to run it.
        return self.client.register_script(script)([cache.make_key(key) for key in keys], args)

    def reserve(self, slots: Sequence[Slot]) -> list[int]:
        args: list[Any] = [repr(time.time())]
        for _key, window, allowed in slots:
            args += [window, -1 if allowed is None else allowed]
        refused, *rest = self._run(self._RESERVE, [key for key, _window, _allowed in slots], args)
        if refused:
            raise TooManyRequestsError(retry_after=_wait(float(rest[0]) + slots[refused - 1][1]))
        return [int(count) for count in rest]

    def settle(self, *, release: Sequence[str] = (), clear: Sequence[str] = ()) -> None:
        if release or clear:
            self._run(self._SETTLE, [*release, *clear], [len(release)])

    def hit(self, key: str, window: int) -> int:
        return self.reserve([(key, window, None)])[0]

    def state(self, key: str, window: int) -> tuple[int, float]:
        count, start = self.client.hmget(cache.make_key(key), ["n", "t"])
        return (0, time.time() + window) if start is None else (int(count), float(start) + window)

    def release(self, key: str) -> None:
        self.settle(release=[key])

    def clear(self, key: str) -> None:
        self.settle(clear=[key])


def windows() -> Windows:
    if settings.ACCOUNTS_RATELIMIT_STORE == "database":
        return DatabaseWindows()
    # django-redis's client reaches one server, where a script may touch several keys (not its ShardClient).
    client = getattr(cache, "client", None)
    one_server = isinstance(client, DefaultClient) and not isinstance(client, ShardClient)
    return RedisWindows(client) if one_server else CacheWindows()


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

    def slot(self, ident: str) -> Slot:
        return self._key(ident), self.window, self.allowed

    def retry_after(self, ident: str) -> int | None:
        """Seconds until the window ends if the limit is reached, else None."""
        count, ends = windows().state(self._key(ident), self.window)
        if count < self.allowed:
            return None
        return _wait(ends)

    def reserve(self, ident: str) -> int:
        """Count an attempt before it is judged and refuse it past the limit, so attempts made in parallel
        cannot all pass a check before any of them is counted; `release` returns the slot after a success.
        Returns the count: the attempt that reaches `allowed` is the last one let through, so if it fails,
        the limit is now reached."""
        return windows().reserve([self.slot(ident)])[0]

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


def reserve_together(*attempts: tuple[Limit, str]) -> list[int]:
    """`Limit.reserve` under several limits as one step (one round trip to Redis): refused at the first
    limit the attempt goes past, the slots taken under the limits before it given back. Returns the counts."""
    return windows().reserve([limit.slot(ident) for limit, ident in attempts])


def settle(*, release: Sequence[tuple[Limit, str]] = (), clear: Sequence[tuple[Limit, str]] = ()) -> None:
    """The end of a judged attempt, as one step: `release` gives back its slots, `clear` empties windows."""
    windows().settle(release=[limit._key(ident) for limit, ident in release],
                     clear=[limit._key(ident) for limit, ident in clear])


@dataclass(frozen=True)
class AddressLimit(Limit):
    """A limit per client address, where an IPv6 client counts by its /64: one host (one home, one cloud
    server) is given a whole /64 and may pick any address in it, so counting each address would give it
    2^64 budgets. IPv4 addresses, and anything that is no address ("unknown"), count as they are."""

    def _key(self, ident: str) -> str:
        return super()._key(address_block(ident))


def address_block(ident: str) -> str:
    """`ident`, or the /64 network an IPv6 address belongs to (IPv4 inside IPv6 counts as IPv4)."""
    try:
        address = ipaddress.ip_address(ident.strip())
    except ValueError:
        return ident
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


LOGIN_FAILURES_PER_ACCOUNT = Limit(
    "login-account", "ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", "ACCOUNTS_LOGIN_FAILURE_WINDOW"
)
LOGIN_FAILURES_PER_IP = AddressLimit("login-ip", "ACCOUNTS_LOGIN_FAILURES_PER_IP", "ACCOUNTS_LOGIN_FAILURE_WINDOW")
REGISTRATIONS_PER_IP = AddressLimit("register-ip", "ACCOUNTS_REGISTRATIONS_PER_IP", "ACCOUNTS_REGISTRATION_WINDOW")
SECRET_MAILS_PER_ACCOUNT = Limit(
    "secret-mail-account", "ACCOUNTS_SECRET_MAILS_PER_ACCOUNT", "ACCOUNTS_SECRET_MAIL_WINDOW"
)
# The mailbox a code or notice goes to, whichever account asked: an e-mail change names any address, so the
# per-name cap alone let many accounts (each under its own cap) flood one inbox.
SECRET_MAILS_PER_ADDRESS = Limit(
    "secret-mail-address", "ACCOUNTS_SECRET_MAILS_PER_ACCOUNT", "ACCOUNTS_SECRET_MAIL_WINDOW"
)
SECRET_MAILS_PER_IP = AddressLimit("secret-mail-ip", "ACCOUNTS_SECRET_MAILS_PER_IP", "ACCOUNTS_SECRET_MAIL_WINDOW")
