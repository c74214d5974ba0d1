"""Routes of CONTRACT section 4 (a trailing slash is optional, as seed 004 wrote some with one)."""

from django.urls import re_path

from quotas.views import DepositQuotaViewSet, PullnumQuotaViewSet, RepositoryQuotaViewSet

_RECORD = {"get": "retrieve", "post": "create", "put": "update"}
_USE = {"post": "use"}
_USER = r"^quota/(?P<loginname>[^/]+)"

urlpatterns = [
    re_path(_USER + r"/repository/?$", RepositoryQuotaViewSet.as_view(_RECORD), name="quota-repository"),
    re_path(_USER + r"/deposit/?$", DepositQuotaViewSet.as_view(_RECORD), name="quota-deposit"),
    re_path(_USER + r"/deposit/use/?$", DepositQuotaViewSet.as_view(_USE), name="quota-deposit-use"),
    re_path(_USER + r"/pullnum/?$", PullnumQuotaViewSet.as_view(_RECORD), name="quota-pullnum"),
    re_path(_USER + r"/pullnum/use/?$", PullnumQuotaViewSet.as_view(_USE), name="quota-pullnum-use"),
]
