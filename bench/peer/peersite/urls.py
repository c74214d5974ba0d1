"""djoser's routes: /auth/users/, /auth/users/me/ and the JWT ones (/auth/jwt/create/ ...)."""

from django.urls import include, path

urlpatterns = [
    path("auth/", include("djoser.urls")),
    path("auth/", include("djoser.urls.jwt")),
]
