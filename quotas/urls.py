"""Routes of the quota API: one record per user and kind of quota, and the operators' use counters (the
repository record's use is set in repos, which measures what exists)."""

from accountsite.routers import SingletonRouter
from quotas.views import DepositQuotaViewSet, PullnumQuotaViewSet, RepositoryQuotaViewSet

USER = "quota/(?P<loginname>[^/]+)"

router = SingletonRouter()
router.register(f"{USER}/repository", RepositoryQuotaViewSet, basename="quota-repository")
router.register(f"{USER}/deposit", DepositQuotaViewSet, basename="quota-deposit")
router.register(f"{USER}/pullnum", PullnumQuotaViewSet, basename="quota-pullnum")

urlpatterns = router.urls
