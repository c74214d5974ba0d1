"""The /quota API (seed 004): read, create and change a user's quotas and their use."""

from abc import ABCMeta, abstractmethod
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import signed_in, user_acted_on
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op
from accountsite.requests import valid_input
from quotas import selectors, services
from quotas.models import QuotaKind
from quotas.serializers import (
    DepositQuotaInputSerializer,
    DepositQuotaSerializer,
    PullnumQuotaInputSerializer,
    PullnumQuotaSerializer,
    PullnumUseInputSerializer,
    RepositoryQuotaInputSerializer,
    RepositoryQuotaSerializer,
)

_REPOSITORY_KINDS = {name: kind for kind, name in services.REPOSITORY_FIELDS.items()}


def repository_kinds(data: dict) -> dict[str, int]:
    """{"public": 3, "private": 1} as {repo_public: 3, repo_private: 1}."""
    return {_REPOSITORY_KINDS[name]: value for name, value in data.items()}


class QuotaViews(PolicyMixin, viewsets.ViewSet, metaclass=ABCMeta):
    """A quota record of the user the path names: `kinds` (the rows it is made of) and `reply(user)`."""

    kinds: tuple[str, ...] = ()
    operations = {"retrieve": Op.QUOTA_READ, "create": Op.QUOTA_CREATE, "update": Op.QUOTA_MANAGE,
                  "use": Op.QUOTA_MANAGE}

    def holder(self, loginname: str) -> Any:
        return user_acted_on(loginname, self.caller(), op=self.operations[self.action], seen_with=Op.QUOTA_READ)

    @abstractmethod
    def reply(self, user: Any) -> Response:
        """How the record's rows read."""


class _RecordViewSet(QuotaViews):
    """GET reads (holder or operator), POST creates the record and PUT changes limits (operator); each
    record's view supplies `limits(request)`, its input as {kind: limit}."""

    create_status = status.HTTP_201_CREATED

    @abstractmethod
    def limits(self, request: Request) -> dict[str, int]:
        """The request's limits, as {kind: limit}."""

    def retrieve(self, request: Request, loginname: str) -> Response:
        return self.reply(self.holder(loginname))

    def create(self, request: Request, loginname: str) -> Response:
        user = self.holder(loginname)
        services.quota_record_create(user=user, kinds=self.kinds, limits=self.limits(request), actor=signed_in(request))
        response = self.reply(user)
        response.status_code = self.create_status
        return response

    def update(self, request: Request, loginname: str) -> Response:
        user = self.holder(loginname)
        services.quota_limits_set(user=user, limits=self.limits(request), actor=signed_in(request), record=self.kinds)
        return self.reply(user)


class RepositoryQuotaViews(QuotaViews):
    kinds = tuple(services.REPOSITORY_FIELDS)

    def reply(self, user: Any) -> Response:
        rows = selectors.quota_rows(user, self.kinds)
        instance = {"public": rows[QuotaKind.REPO_PUBLIC], "private": rows[QuotaKind.REPO_PRIVATE]}
        return Response(RepositoryQuotaSerializer(instance).data)


@extend_schema(tags=["quotas"], request=RepositoryQuotaInputSerializer, responses=RepositoryQuotaSerializer)
class RepositoryQuotaViewSet(_RecordViewSet, RepositoryQuotaViews):
    def limits(self, request: Request) -> dict[str, int]:
        return repository_kinds(valid_input(RepositoryQuotaInputSerializer, request))


class DepositQuotaViews(QuotaViews):
    kinds = (QuotaKind.DEPOSIT,)

    def reply(self, user: Any) -> Response:
        row = selectors.quota_rows(user, self.kinds)[QuotaKind.DEPOSIT]
        return Response(DepositQuotaSerializer(row).data)


@extend_schema(tags=["quotas"], request=DepositQuotaInputSerializer, responses=DepositQuotaSerializer)
class DepositQuotaViewSet(_RecordViewSet, DepositQuotaViews):
    """The storage record; its `use` (freeing no lower than what is stored) is repos' (repos.views)."""

    def limits(self, request: Request) -> dict[str, int]:
        data = valid_input(DepositQuotaInputSerializer, request)
        return {QuotaKind.DEPOSIT: data["quota"]} if "quota" in data else {}


@extend_schema(tags=["quotas"], request=PullnumQuotaInputSerializer, responses=PullnumQuotaSerializer)
class PullnumQuotaViewSet(_RecordViewSet):
    kinds = (QuotaKind.PULLS,)

    def limits(self, request: Request) -> dict[str, int]:
        data = valid_input(PullnumQuotaInputSerializer, request)
        return {QuotaKind.PULLS: data["quota"]} if "quota" in data else {}

    def reply(self, user: Any) -> Response:
        row = selectors.quota_rows(user, self.kinds)[QuotaKind.PULLS]
        return Response(PullnumQuotaSerializer(selectors.pulls_today(row)).data)

    @extend_schema(request=PullnumUseInputSerializer)
    @action(detail=False, methods=["post"])
    def use(self, request: Request, loginname: str) -> Response:
        user = self.holder(loginname)
        amount = valid_input(PullnumUseInputSerializer, request)["use"]
        services.quota_use_add(user=user, kind=QuotaKind.PULLS, amount=amount, actor=signed_in(request))
        return self.reply(user)
