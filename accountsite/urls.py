"""Top-level routes: each app's API, the admin, the OpenAPI schema and docs, and the health check."""

from django.contrib import admin
from django.urls import include, path, re_path

from accountsite.health import HealthView
from accountsite.index import IndexView
from accountsite.reference import DocsView, SchemaView

handler400 = "accountsite.api.handler400"
handler403 = "accountsite.api.handler403"
handler404 = "accountsite.api.handler404"
handler500 = "accountsite.api.handler500"

urlpatterns = [
    path("", IndexView.as_view(), name="index"),
    path("", include("accountsite.legacy_urls")),
    path("", include("accounts.urls")),
    path("", include("quotas.urls")),
    path("", include("repos.urls")),
    path("", include("membership.urls")),
    path("", include("accounts.oauth.urls")),
    path("admin/", admin.site.urls),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="schema"), name="docs"),
    re_path(r"^healthz/?$", HealthView.as_view(), name="healthz"),
]
