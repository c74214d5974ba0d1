"""Routes of CONTRACT sections 2 and 3, with the older clients' aliases (a trailing slash is optional)."""

from django.urls import re_path

from accounts.views import AuthViewSet, SessionViewSet, SignInViewSet, UserSecretViewSet, UserViewSet

register = SignInViewSet.as_view({"post": "register"})
login = SignInViewSet.as_view({"post": "login"})
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
session = SessionViewSet.as_view({"delete": "destroy"})
me = AuthViewSet.as_view({"get": "me", "patch": "update_me", "put": "update_me"})

urlpatterns = [
    re_path(r"^auth/register/?$", register, name="auth-register"),
    re_path(r"^register/?$", register, name="register-alias"),
    re_path(r"^auth/login/?$", login, name="auth-login"),
    re_path(r"^login/?$", login, name="login-alias"),
    re_path(r"^auth/refresh/?$", SignInViewSet.as_view({"post": "refresh"}), name="auth-refresh"),
    re_path(r"^auth/logout/?$", AuthViewSet.as_view({"post": "logout"}), name="auth-logout"),
    re_path(r"^auth/password/?$", AuthViewSet.as_view({"post": "password"}), name="auth-password"),
    re_path(r"^auth/unregister/?$", AuthViewSet.as_view({"post": "unregister"}), name="auth-unregister"),
    re_path(r"^auth/me/?$", me, name="auth-me"),
    re_path(r"^auth/?$", me, name="auth-me-alias"),
    re_path(r"^auth/sessions/?$", SessionViewSet.as_view({"get": "list"}), name="auth-sessions"),
    re_path(rf"^auth/sessions/(?P<pk>{UUID})/?$", session, name="auth-session"),
]


def user_path(suffix: str, view, name: str):
    """`users/<loginname><suffix>`, a trailing slash optional; like `<str:>`, the name is anything but a
    slash (the view validates it), so an invalid name gets the envelope, not a bare 404."""
    return re_path(rf"^users/(?P<loginname>[^/]+){suffix}/?$", view, name=name)


user_search = UserViewSet.as_view({"get": "list"})
urlpatterns += [
    re_path(r"^users/?$", user_search, name="users"),
    re_path(r"^users/search/user/?$", user_search, name="users-search"),
    user_path("", UserViewSet.as_view({"get": "retrieve", "post": "create", "put": "update", "patch": "update",
                                        "delete": "destroy"}), "user"),
    user_path("/active", UserSecretViewSet.as_view({"put": "activate"}), "user-activate"),
    user_path("/active/resend", UserSecretViewSet.as_view({"post": "activate_resend"}), "user-activate-resend"),
    user_path("/pwd", UserViewSet.as_view({"put": "password"}), "user-password"),
    user_path("/forget/pwd", UserSecretViewSet.as_view({"put": "forget_password"}), "user-forget-password"),
    user_path("/pwd/reset", UserSecretViewSet.as_view({"put": "reset_password"}), "user-reset-password"),
    user_path("/pwd/validate", UserSecretViewSet.as_view({"get": "validate_password", "post": "validate_password"}),
               "user-validate-password"),
    user_path("/email", UserViewSet.as_view({"put": "email"}), "user-email"),
    user_path("/email/verify", UserViewSet.as_view({"post": "email_verify"}), "user-email-verify"),
]
