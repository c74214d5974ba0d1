"""Routes of CONTRACT section 2, with the older clients' aliases (a trailing slash is optional)."""

from django.urls import re_path

from accounts.views import AuthViewSet, SessionViewSet, SignInViewSet

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
