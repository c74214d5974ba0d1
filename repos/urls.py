"""Routes of CONTRACT section 7 with seed 000's aliases (a trailing slash is optional)."""

from django.urls import re_path

from repos.views import OwnCommitViewSet, RepositoryUseViewSet, RepositoryViewSet

_REPO = r"^repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
repositories = RepositoryViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    re_path(r"^repos/?$", repositories, name="repos"),
    re_path(r"^repo/?$", RepositoryViewSet.as_view({"get": "list"}), name="repo-alias"),
    re_path(r"^repo/add/?$", RepositoryViewSet.as_view({"post": "create"}), name="repo-add-alias"),
    re_path(_REPO + r"/?$",
            RepositoryViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
            name="repo-detail"),
    re_path(_REPO + r"/commits/?$", RepositoryViewSet.as_view({"get": "commits", "post": "commit"}),
            name="repo-commits"),
    re_path(_REPO + r"/pull/?$", RepositoryViewSet.as_view({"post": "pull"}), name="repo-pull"),
    re_path(r"^commit/?$", OwnCommitViewSet.as_view({"get": "list"}), name="commit-alias"),
    re_path(r"^commit/add/?$", OwnCommitViewSet.as_view({"post": "create"}), name="commit-add-alias"),
    # The repository quota's use is set against what exists, which repos measures (quotas keeps counters).
    re_path(r"^quota/(?P<loginname>[^/]+)/repository/use/?$", RepositoryUseViewSet.as_view({"post": "use"}),
            name="quota-repository-use"),
]
