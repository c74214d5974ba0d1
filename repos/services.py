"""Every change to repositories, commits and pulls, each paying its quota in the same transaction.

Lock order, to keep concurrent writers free of deadlocks: the repository row first, then quota rows
in the order of their kind (deposit, pullnum, repo_private, repo_public).
"""

from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accountsite.errors import InvalidParametersError, NotFoundError, RepositoryExistsError
from quotas.models import QuotaKind
from quotas.services import quota_consume, quota_release
from repos.models import REPOSITORY_NAME_VALIDATOR, Commit, Pull, Repository, Visibility
from repos.selectors import VISIBILITY_KIND


def _exists(owner, name: str) -> RepositoryExistsError:
    return RepositoryExistsError(f"{owner.username} already has a repository named {name!r}.",
                                 error={"name": [f"{owner.username}/{name} already exists."]})


def _locked(repo: Repository, *, no_key: bool = False) -> Repository:
    """The repository row locked for this transaction, or 404 if it was deleted meanwhile.

    Commits and pulls take FOR NO KEY UPDATE, which a delete's FOR UPDATE waits for (and the other way
    round): a commit never lands in a repository whose storage a concurrent delete has already freed.
    """
    locked = (Repository.objects.select_for_update(no_key=no_key, of=("self",))
              .select_related("owner").filter(pk=repo.pk).first())
    if locked is None:
        raise NotFoundError("No such repository.")
    return locked


@transaction.atomic
def repository_create(*, owner, name: str, visibility: str = Visibility.PUBLIC, description: str = "",
                      url: str = "", secret: str = "", now: datetime | None = None) -> Repository:
    """A new repository for `owner`, paid with one public or private repository quota (8008 if none left)."""
    REPOSITORY_NAME_VALIDATOR(name)
    now = now or timezone.now()
    # A duplicate is 8011 even when the quota is spent: the name is the first thing wrong.
    if Repository.objects.filter(owner=owner, name__iexact=name).exists():
        raise _exists(owner, name)
    quota_consume(user=owner, kind=VISIBILITY_KIND[Visibility(visibility)], amount=1, now=now)
    try:
        with transaction.atomic():
            return Repository.objects.create(
                owner=owner, name=name, visibility=visibility, description=description, url=url,
                secret_hash=make_password(secret) if secret else "", created_at=now, updated_at=now,
            )
    except IntegrityError:  # the same name inserted concurrently; the quota spent above rolls back
        raise _exists(owner, name) from None


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
def commit_create(*, repo: Repository, author, content: str, size: int | None = None,
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
    repo = _locked(repo, no_key=True)
    quota_consume(user=repo.owner, kind=QuotaKind.DEPOSIT, amount=size, now=now)
    return Commit.objects.create(repo=repo, author=author, content=content, size=size, created_at=now)


@transaction.atomic
def repository_pull(*, repo: Repository, user, now: datetime | None = None) -> Pull:
    """Records a pull by `user`, paid with one of the user's pulls of the day (8008 when they are spent)."""
    now = now or timezone.now()
    repo = _locked(repo, no_key=True)
    quota_consume(user=user, kind=QuotaKind.PULLS, amount=1, now=now)
    return Pull.objects.create(repo=repo, user=user, created_at=now)
