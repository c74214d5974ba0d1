"""The older clients' addresses: each an alias of an endpoint of today's API, named by the seed it serves.

Only the address differs; the alias runs the very same view (same rules, same replies).
"""

from django.urls import re_path

from accounts.views.auth import MeViewSet, SignInViewSet
from accounts.views.users import UserViewSet
from repos.views import OwnCommitViewSet, RepositoriesViewSet

urlpatterns = [
    # seed 001 (and 002): registration and sign-in at the root, the profile at /auth/.
    re_path(r"^register/?$", SignInViewSet.as_view({"post": "register"}), name="register-alias"),
    re_path(r"^login/?$", SignInViewSet.as_view({"post": "login"}), name="login-alias"),
    re_path(r"^auth/?$", MeViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
            name="auth-me-alias"),
    # seed 004: the operators' user search.
    re_path(r"^users/search/user/?$", UserViewSet.as_view({"get": "list"}), name="users-search"),
    # seed 000: the caller's repositories and commits.
    re_path(r"^repo/?$", RepositoriesViewSet.as_view({"get": "list"}), name="repo-alias"),
    re_path(r"^repo/add/?$", RepositoriesViewSet.as_view({"post": "create"}), name="repo-add-alias"),
    re_path(r"^commit/?$", OwnCommitViewSet.as_view({"get": "list"}), name="commit-alias"),
    re_path(r"^commit/add/?$", OwnCommitViewSet.as_view({"post": "create"}), name="commit-add-alias"),
]
