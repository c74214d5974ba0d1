"""The tier table, cached whole in each process, so the hot paths read tiers without a query (issue 12).

The table is tiny and rarely changes. Each process keeps one copy of it, tagged with the version token it
was loaded under; a version token in the shared cache (`django.core.cache.cache`: Redis in production)
says which copy is current:

- every read asks the shared cache for the token (one round trip, no query) and reloads the whole table
  (one query) when it differs from the local copy's;
- a tier saved or deleted through the ORM (the back office included) puts a new token in the shared cache
  when its transaction commits, so every worker reloads on its next read. Not before the commit: a worker
  reloading earlier would read the old row and keep it under the new token;
- until then, the process that made the change reads its own transaction's table afresh each time and
  keeps none of it, so a rolled-back change never stays in memory;
- the token also expires after VERSION_SECONDS: a change made around the ORM's signals (SQL, a data
  migration, `QuerySet.update()`) and, with the per-process default cache (several workers without Redis),
  every change reaches every worker within that time;
- if the shared cache does not answer, the table is read from the database on each read and the copy is
  dropped: a change made then sends no token, so the old copy would match the old token again once the
  cache answers. A worker that read no tier during the outage keeps its copy until the token expires.

Tiers are prices and limits, not credentials: a worker serving the old ones for the moment between a
change's commit and its new token costs at most a refused purchase (8010, the quote moved) or a limit
applied late, never access. Sessions and their revocation never go through here.

The copy is replaced, never added to: it holds one table's rows whatever is asked of it, and the Tier
instances in it are shared by every request of the process, so they are read, never changed.
"""

import secrets
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import router, transaction

from accountsite.api import dependency_down
from membership.models import Tier

VERSION_KEY = "membership:tiers:version"
VERSION_SECONDS = 60


@dataclass(frozen=True)
class TierTable:
    """Every tier, in user_type order, found by primary key and by user_type."""

    version: str | None
    tiers: tuple[Tier, ...]
    by_pk: dict[int, Tier] = field(init=False)
    by_user_type: dict[int, Tier] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_pk", {tier.pk: tier for tier in self.tiers})
        object.__setattr__(self, "by_user_type", {tier.user_type: tier for tier in self.tiers})

    @classmethod
    def load(cls, version: str | None) -> "TierTable":
        return cls(version=version, tiers=tuple(Tier.objects.order_by("user_type")))


def _version_bump() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), VERSION_SECONDS)


def _changed_here() -> bool:
    """Has this thread's connection changed a tier in a transaction still open? Its new token is then
    waiting in the connection's commit hooks (Django drops them when the change is rolled back)."""
    connection = transaction.get_connection(router.db_for_write(Tier))
    return any(callback is _version_bump for _sids, callback, _robust in connection.run_on_commit)


def tier_changed(**kwargs) -> None:
    """post_save and post_delete of a Tier: every worker reloads once the change commits."""
    if not _changed_here():
        transaction.on_commit(_version_bump, using=kwargs["using"])


def _shared_version() -> str | None:
    """The current token (None: the shared cache does not answer). A missing one (first use, expired,
    evicted) is replaced by a new one, which every worker then reloads for."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            fresh = secrets.token_hex(8)
            version = fresh if cache.add(VERSION_KEY, fresh, VERSION_SECONDS) else cache.get(VERSION_KEY, fresh)
    except Exception as exc:
        if not dependency_down(exc):
            raise
        return None
    return version


class TierCache:
    def __init__(self) -> None:
        self._table: TierTable | None = None

    def table(self) -> TierTable:
        version = _shared_version()
        if version is None:
            # A change made now cannot send its token: a copy kept from before would match the old token
            # again once the cache answers (until it expires).
            self._table = None
            return TierTable.load(version)
        if _changed_here():
            return TierTable.load(version)
        table = self._table
        if table is None or table.version != version:
            table = self._table = TierTable.load(version)
        return table


tier_cache = TierCache()
