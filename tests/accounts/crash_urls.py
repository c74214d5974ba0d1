"""A test-only urlconf: the real routes plus views that fail in ways no real view should."""

from django.db import connection, transaction
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

handler404 = "accountsite.api.handler404"
handler500 = "accountsite.api.handler500"


class CrashView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request):
        # A broken query: the SQL text and table names must not reach the client. The savepoint keeps
        # the test's own transaction usable on PostgreSQL after the error.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT secret_column FROM no_such_table_xyz")
        return Response(None)


def plain_crash(request):
    raise RuntimeError("plain Django view crashed with secret detail xyz")


urlpatterns = [
    path("crash/api", CrashView.as_view()),
    path("crash/plain", plain_crash),
    path("", include("accountsite.urls")),
]
