"""Routes of the repository API (the seed 000 aliases are in accountsite/legacy_urls.py)."""

from accountsite.routers import Router, SingletonRouter
from repos.views import DepositUseViewSet, RepositoriesViewSet, RepositoryUseViewSet, RepositoryViewSet

router = Router()
router.register("repos", RepositoriesViewSet, basename="repos")
router.register("repos/(?P<owner>[^/]+)", RepositoryViewSet, basename="repo")
# The repository and storage quotas' use is set against what exists, which repos measures (quotas keeps the
# counters).
quota = SingletonRouter()
quota.register("quota/(?P<loginname>[^/]+)/repository", RepositoryUseViewSet, basename="quota-repository")
quota.register("quota/(?P<loginname>[^/]+)/deposit", DepositUseViewSet, basename="quota-deposit")

urlpatterns = router.urls + quota.urls
