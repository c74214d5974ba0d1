"""Every change to quotas: limits from tiers and per-user overrides, and use consumed or released.

Every path that spends quota (repositories, commits, pulls, the operators' `use` endpoints) goes
through `quota_consume`/`quota_release`: one conditional UPDATE per quota inside the caller's
transaction, so use never passes the limit and no increment is lost, whatever the concurrency.

Every writer takes a user's quota rows in the order of their kind (deposit, pullnum, repo_private,
repo_public), so two transactions touching the same rows queue instead of deadlocking.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from django.db import IntegrityError, connections, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.db.models.lookups import Exact, LessThanOrEqual
from django.utils import timezone

from accounts.models import User
from accountsite.audit import AuditAction, audit_record
from accountsite.errors import InvalidParametersError, NotFoundError, QuotaExceededError, QuotaExistsError
from quotas.models import UNLIMITED, Quota, QuotaKind, limit_in_force
from quotas.selectors import local_day, use_at
from quotas.units import BIGINT_MAX

# The repository record's kinds under their seed 004 input names, and the names of their use counts, under
# which the API reads them (and names them in errors, whichever spelling a client sent).
REPOSITORY_FIELDS: dict[str, str] = {QuotaKind.REPO_PUBLIC: "public", QuotaKind.REPO_PRIVATE: "private"}
USE_FIELDS: dict[str, str] = {QuotaKind.REPO_PUBLIC: "usePublic", QuotaKind.REPO_PRIVATE: "usePrivate"}


@transaction.atomic
def quota_limits_apply(*, user: User, limits: Mapping[str, int], until: datetime | None = None,
                       fallback: Mapping[str, int] | None = None, now: datetime | None = None,
                       keep_overrides: bool = False, lapsed: bool = False) -> None:
    """Sets the user's limits (a tier's, pushed here by membership), creating missing rows; use is kept
    (over-limit use blocks new use, deletes nothing). With `until`, `fallback` takes over at that instant.
    With `keep_overrides` (the same plan again: a renewal, a new end), a limit an operator set for this user,
    one that differs from the plan's, stays: it holds until the plan changes (quota_limits_set). So it does
    when a paid plan's end is written down (`lapsed`): there the operator's limits are the rows without the
    plan's end (quota_until), which reads kept past it."""
    now = now or timezone.now()
    # Read under the rows' locks (in kind order): an operator's limit committed between a plain read and the
    # writes below was taken for the plan's and overwritten.
    current = {kind: (row.quota, row.quota_until) for kind, row in
               quota_rows_lock(user_id=user.pk, kinds=limits).items()} if keep_overrides or lapsed else {}
    for kind, limit in sorted(limits.items()):  # each row locked in kind order, as every quota writer does
        found = current.get(kind)
        if found is not None and ((keep_overrides and found[0] != limit) or (lapsed and found[1] is None)):
            continue
        Quota.objects.update_or_create(user=user, kind=kind, defaults={
            "quota": limit, "quota_until": until, "fallback_quota": fallback[kind] if until and fallback else None,
            "updated_at": now,
        })


def quota_limits_follow(*, holders: Any, changes: Mapping[str, tuple[int, int]], fallback: bool = False,
                        now: datetime | None = None) -> int:
    """A plan's limits changed ({kind: (old, new)}): the rows of `holders` (a user queryset) still at the
    old limit move to the new one, and with `fallback` the limits due at a paid plan's expiry too. A limit
    an operator set for one user differs from the plan's and stays. Answers how many rows changed."""
    now = now or timezone.now()
    changed = 0
    for kind, (old, new) in sorted(changes.items()):  # rows locked in kind order, as every quota writer does
        rows = Quota.objects.filter(kind=kind)
        # The holders as a correlated EXISTS where they stand beside the fallbacks: under an OR, PostgreSQL cannot
        # make `user_id IN (holders)` a join, and scanned the whole list of holders for each row (an edit of tier
        # 1 at a million members ran for hours, holding tier 1 against every sign-up and purchase).
        follows = (Q(Exists(holders.filter(pk=OuterRef("user_id"))), quota=old) | Q(fallback_quota=old) if fallback
                   else Q(user__in=holders, quota=old))
        # Locked first, in the order of their keys: an UPDATE locks rows in the order its plan meets them, and
        # two edits (a tier's members, tier 1's fallbacks: the same paid members' rows) deadlocked.
        _rows_lock(rows.filter(follows))
        changed += rows.filter(user__in=holders, quota=old).update(quota=new, updated_at=now)
        if fallback:
            changed += rows.filter(fallback_quota=old).update(fallback_quota=new, updated_at=now)
    return changed


def _rows_lock(rows: QuerySet[Quota]) -> None:
    """Locks `rows` FOR UPDATE in the order of their keys, in one statement that answers only their number (a
    tier's members are up to millions of rows, whose ids are not brought over)."""
    locking = rows.select_for_update().order_by("pk").values("pk")
    sql, params = locking.query.get_compiler(using=locking.db).as_sql()
    with connections[locking.db].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS locked", params)  # noqa: S608 - Django's own SQL


def _exceeded(*, user: User, kind: str, amount: int, now: datetime) -> QuotaExceededError:
    """8008, naming the quota, its limit and use, the user's tier, and the cheapest tier that would allow
    the request (as the plans provider knows it), so a client can offer the upgrade."""
    row = Quota.objects.filter(user=user, kind=kind).first()
    limit, use = (row.limit_at(now), use_at(row, now)) if row else (0, 0)
    message = (f"{use} used of no limit, but {amount} more would pass the largest count kept ({BIGINT_MAX})"
               if limit == UNLIMITED else f"{use} of {limit} used, {amount} more requested")
    return _over_limit(user=user, kind=kind, limit=limit, use=use, requested=amount, wanted=use + amount, now=now,
                       message=message)


def _over_limit(*, user: User, kind: str, limit: int, use: int, requested: int, wanted: int, now: datetime,
                message: str) -> QuotaExceededError:
    """8008 with the fields every quota refusal carries (docs/errors.md): the tier, and the cheapest tier
    whose limit allows `wanted`, if any."""
    error: dict[str, Any] = {"quota": kind, "limit": limit, "use": use, "requested": requested,
                             "userType": user.tier_at(now)[0]}
    upgrade = _plans.tier_allowing(user=user, kind=kind, limit=wanted) if _plans is not None else None
    if upgrade is not None:
        error["upgrade"] = upgrade
    return QuotaExceededError(f"Quota exceeded: {QuotaKind(kind).label}: {message}.", error=error)


def quota_consume(*, user: User, kind: str, amount: int = 1, now: datetime | None = None) -> None:
    """Spends `amount` of the user's `kind` quota, or raises QuotaExceededError and changes nothing.

    One conditional UPDATE, in the caller's transaction so the spend commits or rolls back with the
    write it pays for. PostgreSQL (READ COMMITTED) re-evaluates the WHERE on the newest row version
    once a concurrent writer commits, so concurrent consumers can never together pass the limit.
    Pulls count per local day: a row last used on an earlier day counts as 0 used, and the same
    statement moves it to today, so the first pulls of a day cannot race each other into a double reset.
    """
    if amount < 0:
        raise ValueError("amount must not be negative; use quota_release")
    now = now or timezone.now()
    if amount > BIGINT_MAX:  # more than any counter can hold, whatever the limit
        raise _exceeded(user=user, kind=kind, amount=amount, now=now)
    changes: dict = {"use": F("use") + amount, "updated_at": now}
    used: Any = F("use")
    if kind == QuotaKind.PULLS:
        today = local_day(now)
        current = Q(day__gte=today)  # a later day only if another host's clock is ahead: keep its count
        used = Case(When(current, then=F("use")), default=Value(0))
        changes.update(use=used + amount, day=Case(When(current, then=F("day")), default=Value(today)))
    # The limit in force (an expired paid period counts at its base limit at once), compared as
    # `used <= limit - amount` and `used <= BIGINT_MAX - amount`: no term can overflow a 64-bit integer,
    # so a huge amount is refused (8008) rather than crashing the statement.
    limit = limit_in_force(now)
    within = (Q(LessThanOrEqual(used, Value(BIGINT_MAX - amount)))
              & (Q(Exact(limit, UNLIMITED)) | Q(LessThanOrEqual(used, limit - amount))))
    if Quota.objects.filter(user=user, kind=kind).filter(within).update(**changes) != 1:
        raise _exceeded(user=user, kind=kind, amount=amount, now=now)


def quota_release(*, user: User, kind: str, amount: int = 1, now: datetime | None = None) -> None:
    """Gives back `amount` of use (a deleted repository, freed storage); use never goes below 0."""
    if amount < 0:
        raise ValueError("amount must not be negative; use quota_consume")
    Quota.objects.filter(user=user, kind=kind).update(
        use=Greatest(F("use") - amount, 0), updated_at=now or timezone.now()
    )


def _assert_limits(limits: Mapping[str, int]) -> None:
    if not limits:
        raise InvalidParametersError("Invalid parameters: give at least one limit.",
                                     error={"quota": ["Give at least one limit."]})
    bad = {kind: ["-1 (unlimited) or a number of 0 or more."] for kind, limit in limits.items() if limit < UNLIMITED}
    if bad:
        raise InvalidParametersError("Invalid parameters: a limit is below -1.", error=bad)


class QuotaPlans(Protocol):
    """What the app that sells plans tells quotas (membership registers itself at startup; quotas never
    reads a tier)."""

    def default_limits(self, user: User) -> Mapping[str, int]:
        """The limits a user's new quota record holds unless an operator says otherwise."""

    def tier_allowing(self, *, user: User, kind: str, limit: int) -> int | None:
        """The cheapest tier (`userType`) `user` could buy whose `kind` limit is at least `limit`, if any."""


_plans: QuotaPlans | None = None


def quota_plans_register(plans: QuotaPlans) -> None:
    global _plans
    _plans = plans


@transaction.atomic
def quota_record_create(*, user: User, kinds: tuple[str, ...], limits: Mapping[str, int], actor: User | None,
                        now: datetime | None = None) -> None:
    """Creates the user's quota rows of these kinds (one record), each limit defaulting to what the user's
    plan gives (QuotaPlans), else 0; QuotaExistsError if the record already exists. A record left partial
    (a row removed outside the services: neither the API nor the back office deletes one) is completed: its
    missing rows are created, the others kept."""
    now = now or timezone.now()
    defaults = _plans.default_limits(user) if _plans is not None else {}
    limits = {kind: limits.get(kind, defaults.get(kind, 0)) for kind in kinds}
    _assert_limits(limits)
    exists = QuotaExistsError(f"{user.username} already has this quota record; change it with PUT.")
    present = set(Quota.objects.filter(user=user, kind__in=kinds).values_list("kind", flat=True))
    limits = {kind: limit for kind, limit in limits.items() if kind not in present}
    if not limits:
        raise exists
    try:
        with transaction.atomic():
            for kind, limit in sorted(limits.items()):
                Quota.objects.create(user=user, kind=kind, quota=limit, use=0, updated_at=now)
    except IntegrityError:  # created concurrently between the check and the insert
        raise exists from None
    audit_record(action=AuditAction.QUOTA_CREATE, user=user, actor=actor, limits=limits)


@transaction.atomic
def quota_limits_set(*, user: User, limits: Mapping[str, int], actor: User | None, record: Iterable[str] = (),
                     now: datetime | None = None) -> None:
    """An operator's per-user limits; use is kept, and use over a lowered limit only blocks new use. The
    limit holds from now until the next tier change sets the tier's again: it replaces a paid tier's limit
    and the one that tier falls back to at its expiry (otherwise an override on a lapsed member read as the
    fallback at once, and one on a paying member vanished at the expiry).

    `record` names the kinds of the record the limits belong to (the repository record is two rows): each
    must exist, else NotFoundError and nothing changes, even for a limit sent alone."""
    _assert_limits(limits)
    now = now or timezone.now()
    kinds = sorted({*record, *limits})
    rows = quota_rows_lock(user_id=user.pk, kinds=kinds)
    for kind in kinds:
        if kind not in rows:
            raise NotFoundError(f"{user.username} has no {QuotaKind(kind).label} quota record.")
    for kind, limit in sorted(limits.items()):
        Quota.objects.filter(pk=rows[kind].pk).update(quota=limit, quota_until=None, fallback_quota=None,
                                                      updated_at=now)
    audit_record(action=AuditAction.QUOTA_LIMITS, user=user, actor=actor, limits=dict(limits))


@transaction.atomic
def quota_rows_lock(*, user_id: int, kinds: Iterable[str]) -> dict[str, Quota]:
    """The user's rows of these kinds, locked until the transaction ends (in one order, so two lockers
    queue rather than deadlock)."""
    return {row.kind: row for row in
            Quota.objects.select_for_update().filter(user_id=user_id, kind__in=list(kinds)).order_by("kind")}


@transaction.atomic
def quota_use_set(*, user: User, uses: Mapping[str, int], floors: Mapping[str, int], actor: User | None,
                  now: datetime | None = None) -> None:
    """Sets use counts (seed 004's `repository/use`) between `floors` and the limit.

    The caller locked the rows (quota_rows_lock) and then measured the floors: what really exists (repos
    does, in repository_use_set). A creation that has already paid holds that lock until it commits, so it
    is counted; one still in flight has not paid yet (it pays last) and adds its unit on top of what is set
    here. Either way use stays at least the real count; setting it lower would let the owner create past
    the limit, so that is refused.
    """
    if not uses:
        raise InvalidParametersError("Invalid parameters: give usePublic and/or usePrivate.",
                                     error={"usePublic": ["Give usePublic and/or usePrivate."]})
    now = now or timezone.now()
    rows = quota_rows_lock(user_id=user.pk, kinds=uses)
    errors: dict[str, list[str]] = {}
    for kind, use in uses.items():
        row = rows.get(kind)
        if row is None:
            raise NotFoundError(f"{user.username} has no {QuotaKind(kind).label} quota record.")
        floor = floors.get(kind, 0)
        if use < floor:
            errors[USE_FIELDS.get(kind, kind)] = [
                f"{floor} {QuotaKind(kind).label} exist; use cannot be set below that."
            ]
        elif row.limit_at(now) != UNLIMITED and use > row.limit_at(now):
            raise _over_limit(user=user, kind=kind, limit=row.limit_at(now), use=row.use, requested=use, wanted=use,
                              now=now, message=f"use {use} is over the limit {row.limit_at(now)}")
    if errors:
        field, messages = next(iter(errors.items()))
        raise InvalidParametersError(f"Invalid parameters: {field}: {messages[0]}", error=errors)
    for kind, use in sorted(uses.items()):
        Quota.objects.filter(pk=rows[kind].pk).update(use=use, updated_at=now)
    audit_record(action=AuditAction.QUOTA_USE_SET, user=user, actor=actor, uses=dict(uses))


def quota_use_correct(*, row: Quota, use: int, now: datetime | None = None) -> None:
    """Sets use to what was measured (a recount), on a row the caller holds locked; the audit row keeps the use
    it replaced (no actor: the recount), as every other change of use has one."""
    Quota.objects.filter(pk=row.pk).update(use=use, updated_at=now or timezone.now())
    audit_record(action=AuditAction.QUOTA_RECOUNT, user=row.user, kind=row.kind, previous=row.use, use=use)


@transaction.atomic
def quota_use_add(*, user: User, kind: str, amount: int, actor: User | None, now: datetime | None = None) -> None:
    """An operator adds use (storage, pulls) through the same consume rule; a negative amount frees."""
    if not Quota.objects.filter(user=user, kind=kind).exists():
        raise NotFoundError(f"{user.username} has no {QuotaKind(kind).label} quota record.")
    # The audit row first: the UPDATE then holds the quota row only until COMMIT (a refusal rolls both back).
    audit_record(action=AuditAction.QUOTA_USE_ADD, user=user, actor=actor, kind=kind, amount=amount)
    if amount > 0:
        quota_consume(user=user, kind=kind, amount=amount, now=now)
    elif amount < 0:
        quota_release(user=user, kind=kind, amount=-amount, now=now)
