"""GET /healthz: is the database answering, and the cache?"""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountsite.errors import DependencyDownError
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op

logger = logging.getLogger("accountsite")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health: database check failed")
        return False


def _cache_ok() -> bool:
    key, token = "healthz:probe", uuid.uuid4().hex
    try:
        cache.set(key, token, 10)
        return cache.get(key) == token
    except Exception:
        logger.exception("health: cache check failed")
        return False


class HealthView(PolicyMixin, APIView):
    authentication_classes = ()
    operations = {"get": Op.PUBLIC_READ}

    @extend_schema(tags=["operations"], responses={200: dict})
    def get(self, request: Request) -> Response:
        checks = {"database": "ok" if _database_ok() else "down", "cache": "ok" if _cache_ok() else "down"}
        if all(value == "ok" for value in checks.values()):
            return Response(checks)
        raise DependencyDownError(error=checks)
