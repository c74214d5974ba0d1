"""Shared reads of repositories and commits, scoped to the caller, and use measured from the real rows."""

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import User, may_name_an_account
from accountsite.policy import Caller
from quotas.models import QuotaKind
from repos.models import Commit, Repository, Visibility
from repos.permissions import readable_by

VISIBILITY_KIND: dict[str, str] = {Visibility.PUBLIC: QuotaKind.REPO_PUBLIC, Visibility.PRIVATE: QuotaKind.REPO_PRIVATE}


def repositories_of(owner: User, *, caller: Caller) -> QuerySet[Repository]:
    """The owner's repositories the caller may read, owner loaded (one query per page)."""
    return Repository.objects.filter(owner=owner).filter(readable_by(caller)).select_related("owner")


def repository_find(owner_name: str, name: str) -> Repository | None:
    """The named repository with its owner, whoever may see it (callers check repos.permissions). Names are
    ASCII, and so is the owner's (accounts.models.may_name_an_account)."""
    if not (may_name_an_account(owner_name) and name.isascii()):
        return None
    return (
        Repository.objects.filter(owner__username__iexact=owner_name, name__iexact=name)
        .select_related("owner")
        .first()
    )


def commits_of(repo: Repository) -> QuerySet[Commit]:
    return Commit.objects.filter(repo=repo).select_related("repo__owner", "author")


def commits_by(author: User, *, caller: Caller) -> QuerySet[Commit]:
    """The author's commits to repositories the caller may read: an author who lost access to a private
    repository (an operator whose permission was taken back) no longer learns its name or contents."""
    readable = Repository.objects.filter(readable_by(caller))
    return Commit.objects.filter(author=author, repo__in=readable).select_related("repo__owner", "author")


def usage_measured(user_ids: Iterable[int] | None = None) -> dict[tuple[int, str], int]:
    """What each owner really uses, from the rows: repositories per visibility and storage in bytes."""
    repositories = Repository.objects.all()
    commits = Commit.objects.all()
    if user_ids is not None:
        ids = list(user_ids)
        repositories, commits = repositories.filter(owner_id__in=ids), commits.filter(repo__owner_id__in=ids)
    usage: dict[tuple[int, str], int] = {}
    for counted in repositories.order_by().values("owner_id", "visibility").annotate(n=Count("id")):
        usage[(counted["owner_id"], VISIBILITY_KIND[counted["visibility"]])] = counted["n"]
    for stored in commits.order_by().values("repo__owner_id").annotate(total=Sum("size")).filter(~Q(total=0)):
        usage[(stored["repo__owner_id"], QuotaKind.DEPOSIT)] = stored["total"]
    return usage
