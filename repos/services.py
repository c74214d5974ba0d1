"""Every change to repositories, commits and pulls, each paying its quota in the same transaction.

Lock order, to keep concurrent writers free of deadlocks: the repository row first, then quota rows
in the order of their kind (deposit, pullnum, repo_private, repo_public). The quota UPDATE comes last
in each transaction: it holds that user's quota row until COMMIT, so whatever runs after it would
lengthen the time every other consumer of that quota waits.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from accountsite.errors import InvalidParametersError, NotFoundError, RepositoryExistsError
from quotas.models import Quota, QuotaKind
from quotas.services import (
    quota_consume,
    quota_release,
    quota_rows_lock,
    quota_use_add,
    quota_use_correct,
    quota_use_set,
)
from repos.models import REPOSITORY_NAME_VALIDATOR, Commit, Pull, Repository, Visibility
from repos.selectors import VISIBILITY_KIND, usage_measured


def _exists(owner: User, name: str) -> RepositoryExistsError:
    return RepositoryExistsError(f"{owner.username} already has a repository named {name!r}.",
                                 error={"name": [f"{owner.username}/{name} already exists."]})


def _locked(repo: Repository) -> Repository:
    """The repository row locked FOR UPDATE for this transaction, or 404 if it was deleted meanwhile."""
    locked = Repository.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=repo.pk).first()
    if locked is None:
        raise NotFoundError("No such repository.")
    return locked


def _held(repo: Repository) -> None:
    """Holds the repository row against deletion until this transaction ends; 404 if it is gone already.

    FOR KEY SHARE lets commits and pulls of one repository run side by side, while a delete's FOR UPDATE
    waits for them (and they for it): no commit lands in a repository whose storage a delete has
    already given back, and no insert fails on a vanished foreign key at COMMIT (Django defers those
    checks). SQLite runs one writer at a time, so a plain read is enough there.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Repository._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [repo.pk])  # noqa: S608
            found = cursor.fetchone() is not None
    else:
        found = Repository.objects.filter(pk=repo.pk).exists()
    if not found:
        raise NotFoundError("No such repository.")


@transaction.atomic
def repository_create(*, owner: User, name: str, visibility: str = Visibility.PUBLIC, description: str = "",
                      url: str = "", secret: str = "", now: datetime | None = None) -> Repository:
    """A new repository for `owner`, paid with one public or private repository quota (8008 if none left).
    A deleted account gets none (an operator names the owner in the back office)."""
    if owner.is_deleted:
        raise NotFoundError("No such user.")
    REPOSITORY_NAME_VALIDATOR(name)
    now = now or timezone.now()
    # A duplicate is 8011 even when the quota is spent: the name is the first thing wrong.
    if Repository.objects.filter(owner=owner, name__iexact=name).exists():
        raise _exists(owner, name)
    try:
        with transaction.atomic():
            repo = Repository.objects.create(
                owner=owner, name=name, visibility=visibility, description=description, url=url,
                secret_hash=make_password(secret) if secret else "", created_at=now, updated_at=now,
            )
    except IntegrityError:  # the same name inserted concurrently
        raise _exists(owner, name) from None
    quota_consume(user=owner, kind=VISIBILITY_KIND[Visibility(visibility)], amount=1, now=now)
    return repo


def _visibility_move(repo: Repository, visibility: str, now: datetime) -> None:
    """One unit moves from the old visibility's quota to the new one's, or 8008 and nothing moves."""
    old, new = VISIBILITY_KIND[Visibility(repo.visibility)], VISIBILITY_KIND[Visibility(visibility)]
    # Quota rows in kind order (module docstring); a failed consume rolls the release back.
    if old < new:
        quota_release(user=repo.owner, kind=old, amount=1, now=now)
        quota_consume(user=repo.owner, kind=new, amount=1, now=now)
    else:
        quota_consume(user=repo.owner, kind=new, amount=1, now=now)
        quota_release(user=repo.owner, kind=old, amount=1, now=now)


@transaction.atomic
def repository_update(*, repo: Repository, name: str | None = None, visibility: str | None = None,
                      description: str | None = None, url: str | None = None, secret: str | None = None,
                      now: datetime | None = None) -> Repository:
    """Changes what is given (None leaves a field alone; secret "" removes it). A visibility switch
    moves one repository quota unit between public and private, or fails with 8008."""
    now = now or timezone.now()
    repo = _locked(repo)
    if name is not None and name != repo.name:
        REPOSITORY_NAME_VALIDATOR(name)
        if Repository.objects.filter(owner_id=repo.owner_id, name__iexact=name).exclude(pk=repo.pk).exists():
            raise _exists(repo.owner, name)
        repo.name = name
    if visibility is not None and visibility != repo.visibility:
        _visibility_move(repo, visibility, now)
        repo.visibility = visibility
    if secret is not None:
        repo.secret_hash = make_password(secret) if secret else ""
    if description is not None:
        repo.description = description
    if url is not None:
        repo.url = url
    repo.updated_at = now
    try:
        with transaction.atomic():
            repo.save()
    except IntegrityError:  # renamed concurrently to the same name
        raise _exists(repo.owner, repo.name) from None
    return repo


@transaction.atomic
def repository_delete(*, repo: Repository, now: datetime | None = None) -> None:
    """Deletes the repository with its commits and pulls, giving back its repository quota and storage."""
    now = now or timezone.now()
    repo = _locked(repo)
    stored = Commit.objects.filter(repo=repo).aggregate(total=Sum("size"))["total"] or 0
    owner, kind = repo.owner, VISIBILITY_KIND[Visibility(repo.visibility)]
    repo.delete()
    quota_release(user=owner, kind=QuotaKind.DEPOSIT, amount=stored, now=now)
    quota_release(user=owner, kind=kind, amount=1, now=now)


@transaction.atomic
def commit_create(*, repo: Repository, author: User, content: str, size: int | None = None,
                  now: datetime | None = None) -> Commit:
    """A commit, paid from the repository owner's storage quota by `size` bytes (8008 if it does not fit).

    `size` defaults to the content's UTF-8 length and may declare more (data stored elsewhere), never less.
    """
    now = now or timezone.now()
    length = len(content.encode("utf-8"))
    if size is None:
        size = length
    elif size < length:
        raise InvalidParametersError(
            f"Invalid parameters: size: the content alone is {length} bytes.",
            error={"size": [f"At least the content's {length} bytes."]},
        )
    _held(repo)
    commit = Commit.objects.create(repo=repo, author=author, content=content, size=size, created_at=now)
    quota_consume(user=repo.owner, kind=QuotaKind.DEPOSIT, amount=size, now=now)
    return commit


@transaction.atomic
def repository_pull(*, repo: Repository, user: User, now: datetime | None = None) -> Pull:
    """Records a pull by `user`, paid with one of the user's pulls of the day (8008 when they are spent)."""
    now = now or timezone.now()
    _held(repo)
    pull = Pull.objects.create(repo=repo, user=user, created_at=now)
    quota_consume(user=user, kind=QuotaKind.PULLS, amount=1, now=now)
    return pull


# --- Quota use measured from the real rows ------------------------------------------------------------------
# quotas keeps counters; only repos knows what the counters count. Each correction below locks the owner's
# quota rows first and measures under that lock, so a repository or commit made meanwhile (which pays
# last, on those rows) is neither lost nor counted twice.

MEASURED_KINDS = (QuotaKind.DEPOSIT, QuotaKind.REPO_PRIVATE, QuotaKind.REPO_PUBLIC)


@transaction.atomic
def repository_use_set(*, user: User, uses: Mapping[str, int], actor: User | None, now: datetime | None = None) -> None:
    """POST /quota/{loginname}/repository/use (seed 004): repository counts set between what exists and
    the limit."""
    quota_rows_lock(user_id=user.pk, kinds=uses)
    measured = usage_measured(user_ids=[user.pk])
    floors = {kind: measured.get((user.pk, kind), 0) for kind in uses}
    quota_use_set(user=user, uses=uses, floors=floors, actor=actor, now=now)


@transaction.atomic
def storage_use_add(*, user: User, amount: int, actor: User | None, now: datetime | None = None) -> None:
    """POST /quota/{loginname}/deposit/use: an operator adds storage use, or frees it (a negative amount)
    down to what the user's commits really store and no lower (it stopped at 0 before), or the owner could
    store past the limit."""
    rows = quota_rows_lock(user_id=user.pk, kinds=[QuotaKind.DEPOSIT])
    if amount < 0 and QuotaKind.DEPOSIT in rows:
        stored = usage_measured(user_ids=[user.pk]).get((user.pk, QuotaKind.DEPOSIT), 0)
        amount = max(amount, min(0, stored - rows[QuotaKind.DEPOSIT].use))
    quota_use_add(user=user, kind=QuotaKind.DEPOSIT, amount=amount, actor=actor, now=now)


@dataclass(frozen=True)
class QuotaDifference:
    user_id: int
    username: str
    kind: str
    recorded: int
    actual: int


def _differences(rows: Iterable[Quota], measured: Mapping[tuple[int, str], int]) -> list[QuotaDifference]:
    return [
        QuotaDifference(row.user_id, row.user.username, row.kind, row.use, measured.get((row.user_id, row.kind), 0))
        for row in rows
        if row.use != measured.get((row.user_id, row.kind), 0)
    ]


def quota_recount(*, fix: bool, user_ids: Iterable[int] | None = None,
                  now: datetime | None = None) -> list[QuotaDifference]:
    """`manage.py recount_quotas`: repository and storage use recomputed from the real rows; every
    difference, repaired if `fix`. The report is one pass over aggregates; each repair measures again
    under the lock of that user's rows."""
    rows = Quota.objects.filter(kind__in=MEASURED_KINDS).select_related("user").order_by("user_id", "kind")
    if user_ids is not None:
        user_ids = list(user_ids)
        rows = rows.filter(user_id__in=user_ids)
    found = _differences(rows, usage_measured(user_ids=user_ids))
    if fix:
        for user_id in sorted({difference.user_id for difference in found}):
            with transaction.atomic():
                locked = quota_rows_lock(user_id=user_id, kinds=MEASURED_KINDS)
                measured = usage_measured(user_ids=[user_id])
                for kind, row in locked.items():
                    actual = measured.get((user_id, kind), 0)
                    if row.use != actual:
                        quota_use_correct(row=row, use=actual, now=now)
    return found
