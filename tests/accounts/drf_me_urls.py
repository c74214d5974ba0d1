"""The project's routes with GET /auth/me routed to MeViewSet by DRF alone, without accountsite.fastpath:
the reference the fast path's replies are compared with (tests/accounts/test_hot_path.py)."""

from django.urls import include, re_path
from rest_framework import viewsets

from accounts.views.auth import MeViewSet

handler400 = "accountsite.api.handler400"
handler403 = "accountsite.api.handler403"
handler404 = "accountsite.api.handler404"
handler500 = "accountsite.api.handler500"

drf_only = viewsets.ViewSet.as_view.__func__(MeViewSet, {"get": "retrieve", "put": "update", "patch": "partial_update"})

urlpatterns = [
    re_path(r"^auth/me/?$", drf_only),
    re_path(r"", include("accountsite.urls")),
]
