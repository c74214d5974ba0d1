"""The repository API (seed 000): repositories, commits and pulls, and seed 000's aliases."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import signed_in, user_visible_to
from accountsite.errors import NotFoundError
from accountsite.pagination import paginate
from accountsite.permissions import PolicyMixin
from accountsite.policy import Caller, Op
from accountsite.requests import client_ip, no_input, valid_input
from quotas.models import Quota, QuotaKind
from quotas.selectors import pulls_today
from quotas.serializers import (
    DepositQuotaSerializer,
    DepositUseInputSerializer,
    RepositoryQuotaSerializer,
    RepositoryUseInputSerializer,
)
from quotas.views import DepositQuotaViews, RepositoryQuotaViews, repository_kinds
from repos import selectors, services
from repos.models import Repository
from repos.permissions import assert_can, assert_can_pull, can_read
from repos.serializers import (
    CommitAddInputSerializer,
    CommitCreateInputSerializer,
    CommitSerializer,
    PullInputSerializer,
    PullSerializer,
    RepositoryCreateInputSerializer,
    RepositorySerializer,
    RepositoryUpdateInputSerializer,
)

_NOT_FOUND = "No such repository."


def _found(owner: str, name: str) -> Repository:
    repo = selectors.repository_find(owner, name)
    if repo is None:
        raise NotFoundError(_NOT_FOUND)
    return repo


def _readable(caller: Caller, owner: str, name: str) -> Repository:
    repo = _found(owner, name)
    if not can_read(caller, repo):
        raise NotFoundError(_NOT_FOUND)
    return repo


def _writable(caller: Caller, owner: str, name: str, op: Op = Op.REPO_WRITE) -> Repository:
    repo = _found(owner, name)
    assert_can(caller, op, repo)
    return repo


def _commit(request: Request, repo: Repository, data: dict) -> Response:
    commit = services.commit_create(repo=repo, author=signed_in(request), content=data["content"],
                                    size=data.get("size"))
    return Response(CommitSerializer(commit).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["repos"])
class RepositoriesViewSet(PolicyMixin, viewsets.GenericViewSet):
    """/repos/: the caller's repositories (or another user's they may read), and creating one."""

    operations = {"list": Op.REPO_READ, "create": Op.REPO_WRITE}

    @extend_schema(responses=RepositorySerializer(many=True))
    def list(self, request: Request) -> Response:
        """The caller's repositories, or with `?owner=name` those of that user the caller may read."""
        owner_name = request.query_params.get("owner")
        owner = user_visible_to(owner_name, self.caller()) if owner_name else signed_in(request)
        return paginate(self, selectors.repositories_of(owner, caller=self.caller()), RepositorySerializer)

    @extend_schema(request=RepositoryCreateInputSerializer, responses={201: RepositorySerializer})
    def create(self, request: Request) -> Response:
        data = valid_input(RepositoryCreateInputSerializer, request)
        repo = services.repository_create(owner=signed_in(request), **data)
        return Response(RepositorySerializer(repo).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["repos"])
class RepositoryViewSet(PolicyMixin, viewsets.GenericViewSet):
    """/repos/{owner}/{name}: reads of a public repository are open to anyone; everything else needs a
    signed-in caller."""

    lookup_field, lookup_value_regex = "name", "[^/]+"
    operations = {"retrieve": Op.PUBLIC_READ, "partial_update": Op.REPO_WRITE, "destroy": Op.REPO_DELETE,
                  "commits": Op.PUBLIC_READ, "commit": Op.REPO_WRITE, "pull": Op.REPO_PULL}

    @extend_schema(responses=RepositorySerializer)
    def retrieve(self, request: Request, owner: str, name: str) -> Response:
        return Response(RepositorySerializer(_readable(self.caller(), owner, name)).data)

    @extend_schema(request=RepositoryUpdateInputSerializer, responses=RepositorySerializer)
    def partial_update(self, request: Request, owner: str, name: str) -> Response:
        repo = _writable(self.caller(), owner, name)
        data = valid_input(RepositoryUpdateInputSerializer, request)
        return Response(RepositorySerializer(services.repository_update(repo=repo, **data)).data)

    @extend_schema(request=None, responses={200: None})
    def destroy(self, request: Request, owner: str, name: str) -> Response:
        no_input(request)
        services.repository_delete(repo=_writable(self.caller(), owner, name, Op.REPO_DELETE))
        return Response(None)

    @extend_schema(responses=CommitSerializer(many=True))
    @action(detail=True, methods=["get"])
    def commits(self, request: Request, owner: str, name: str) -> Response:
        return paginate(self, selectors.commits_of(_readable(self.caller(), owner, name)), CommitSerializer)

    @extend_schema(request=CommitCreateInputSerializer, responses={201: CommitSerializer})
    @commits.mapping.post
    def commit(self, request: Request, owner: str, name: str) -> Response:
        repo = _writable(self.caller(), owner, name)
        return _commit(request, repo, valid_input(CommitCreateInputSerializer, request))

    @extend_schema(request=PullInputSerializer, responses={201: PullSerializer})
    @action(detail=True, methods=["post"])
    def pull(self, request: Request, owner: str, name: str) -> Response:
        """Records a pull, paid with one of the caller's pulls of the day; `secret` opens a private one."""
        # An unknown name too goes to assert_can_pull, which answers it exactly as a hidden repository.
        repo = assert_can_pull(self.caller(), selectors.repository_find(owner, name),
                               valid_input(PullInputSerializer, request)["secret"], ip=client_ip(request))
        pull = services.repository_pull(repo=repo, user=signed_in(request))
        pulls = pulls_today(Quota.objects.get(user=signed_in(request), kind=QuotaKind.PULLS))
        return Response(PullSerializer(pull, context={"pulls": pulls}).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["repos"])
class OwnCommitViewSet(PolicyMixin, viewsets.GenericViewSet):
    """Seed 000's /commit aliases: the caller's own commits, and a commit to an own repository by name."""

    operations = {"list": Op.REPO_READ, "create": Op.REPO_WRITE}

    @extend_schema(responses=CommitSerializer(many=True))
    def list(self, request: Request) -> Response:
        return paginate(self, selectors.commits_by(signed_in(request), caller=self.caller()), CommitSerializer)

    @extend_schema(request=CommitAddInputSerializer, responses={201: CommitSerializer})
    def create(self, request: Request) -> Response:
        data = valid_input(CommitAddInputSerializer, request)
        return _commit(request, _writable(self.caller(), request.user.username, data["repo_name"]), data)


@extend_schema(tags=["quotas"], request=RepositoryUseInputSerializer, responses=RepositoryQuotaSerializer)
class RepositoryUseViewSet(RepositoryQuotaViews):
    """POST /quota/{loginname}/repository/use (seed 004): the counts are set no lower than the repositories
    that exist, which repos measures; the rest of the record is the quota API's."""

    operations = {"use": Op.QUOTA_USE_SET}

    @action(detail=False, methods=["post"])
    def use(self, request: Request, loginname: str) -> Response:
        user = self.holder(loginname)
        uses = repository_kinds(valid_input(RepositoryUseInputSerializer, request))
        services.repository_use_set(user=user, uses=uses, actor=signed_in(request))
        return self.reply(user)


@extend_schema(tags=["quotas"], request=DepositUseInputSerializer, responses=DepositQuotaSerializer)
class DepositUseViewSet(DepositQuotaViews):
    """POST /quota/{loginname}/deposit/use: storage use added, or freed no lower than what is stored, which
    repos measures; the rest of the record is the quota API's."""

    @action(detail=False, methods=["post"])
    def use(self, request: Request, loginname: str) -> Response:
        user = self.holder(loginname)
        amount = valid_input(DepositUseInputSerializer, request)["use"]
        services.storage_use_add(user=user, amount=amount, actor=signed_in(request))
        return self.reply(user)
