"""/developer/apps/: a developer's own OAuth applications (list, create, read, update, rotate, delete)."""

from drf_spectacular.utils import extend_schema
from oauth2_provider.models import Application
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.oauth import applications
from accounts.oauth.serializers import (
    ApplicationCreateInputSerializer,
    ApplicationInputSerializer,
    ApplicationSerializer,
    IssuedSecretSerializer,
)
from accounts.selectors import signed_in
from accountsite.errors import NotFoundError
from accountsite.pagination import paginate
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op
from accountsite.requests import no_input, valid_input


class DeveloperAppViewSet(PolicyMixin, viewsets.GenericViewSet):
    """Only the owner sees an app (anyone else gets 404). Managing apps needs the user's own sign-in:
    an app's OAuth token (a third party acting for the user) may not create apps or read secrets (7006)."""

    serializer_class = ApplicationSerializer
    operations = dict.fromkeys(
        ("list", "create", "retrieve", "update", "partial_update", "rotate_secret", "destroy"), Op.DEVELOPER)
    lookup_value_regex = "[0-9]+"

    def _own(self, request: Request, pk: str) -> Application:
        application = Application.objects.filter(user=signed_in(request), pk=pk).first()
        if application is None:
            raise NotFoundError("No such application.")
        return application

    @extend_schema(responses=ApplicationSerializer(many=True), tags=["developer"])
    def list(self, request: Request) -> Response:
        return paginate(self, Application.objects.filter(user=signed_in(request)).order_by("created", "pk"),
                        ApplicationSerializer)

    @extend_schema(request=ApplicationCreateInputSerializer, responses={201: IssuedSecretSerializer},
                   tags=["developer"])
    def create(self, request: Request) -> Response:
        data = valid_input(ApplicationCreateInputSerializer, request)
        issued = applications.application_create(owner=signed_in(request), **data)
        return Response(IssuedSecretSerializer(issued).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ApplicationSerializer, tags=["developer"])
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ApplicationSerializer(self._own(request, pk)).data)

    @extend_schema(request=ApplicationInputSerializer, responses=ApplicationSerializer, tags=["developer"])
    def partial_update(self, request: Request, pk: str) -> Response:
        application = self._own(request, pk)
        data = valid_input(ApplicationInputSerializer, request)
        application = applications.application_update(application=application, actor=signed_in(request), **data)
        return Response(ApplicationSerializer(application).data)

    update = partial_update  # every field may come alone, PUT or PATCH

    @extend_schema(request=None, responses=IssuedSecretSerializer, tags=["developer"])
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request: Request, pk: str) -> Response:
        no_input(request)
        issued = applications.application_secret_rotate(application=self._own(request, pk), actor=signed_in(request))
        return Response(IssuedSecretSerializer(issued).data)

    @extend_schema(request=None, responses={200: None}, tags=["developer"])
    def destroy(self, request: Request, pk: str) -> Response:
        no_input(request)
        applications.application_delete(application=self._own(request, pk), actor=signed_in(request))
        return Response(None)
