"""Routes of the OAuth provider: the OAuth2 / OIDC endpoints, the seed 001 /oauth/, the sign-in and
consent pages, OIDC discovery and /developer/apps/."""

from django.urls import include, path, re_path

from accounts.oauth.developer import DeveloperAppViewSet
from accounts.oauth.endpoints import (
    DiscoveryView,
    IntrospectView,
    JwksView,
    MetadataView,
    RevokeTokenView,
    TokenView,
    UserInfoView,
)
from accounts.oauth.pages import PasskeySignInPageView, SecondFactorPageView, SignInPageView
from accounts.oauth.views import ConsentView, SeedConsentView, SeedOAuthView
from accountsite.routers import Router

# DOT reverses these names in its own namespace (discovery, issuer); only the endpoints we offer.
dot_patterns = ([
    path("authorize/", ConsentView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    path("revoke_token/", RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", IntrospectView.as_view(), name="introspect"),
    path("userinfo/", UserInfoView.as_view(), name="user-info"),
    re_path(r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(),
            name="oidc-connect-discovery-info"),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks-info"),
    # RFC 8414 metadata; its address also makes the RFC 9207 `iss` equal the OIDC issuer (<host>/oauth).
    path(".well-known/oauth-authorization-server", MetadataView.as_view(),
         name="oauth-server-metadata"),
], "oauth2_provider")

developer = Router()
developer.register("developer/apps", DeveloperAppViewSet, basename="developer-app")

urlpatterns = [
    *developer.urls,
    re_path(r"^oauth/?$", SeedOAuthView.as_view(), name="oauth-seed"),
    path("oauth/login/", SignInPageView.as_view(), name="oauth-login"),
    path("oauth/login/mfa/", SecondFactorPageView.as_view(), name="oauth-login-mfa"),
    path("oauth/login/passkey/", PasskeySignInPageView.as_view(), name="oauth-login-passkey"),
    path("oauth/consent/", SeedConsentView.as_view(), name="oauth-seed-consent"),
    path("oauth/", include(dot_patterns)),
    # The contract's root discovery address (the issuer itself is <host>/oauth).
    path(".well-known/openid-configuration", DiscoveryView.as_view(), name="oidc-discovery-root"),
    # RFC 8414 section 3.1: the metadata of issuer <host>/oauth, in the path form.
    path(".well-known/oauth-authorization-server/oauth", MetadataView.as_view(),
         name="oauth-server-metadata-root"),
]
