"""Routes of the OAuth provider: the OAuth2 / OIDC endpoints, the seed 001 /oauth/, the sign-in and
consent pages, OIDC discovery and /developer/apps/."""

from django.urls import include, path, re_path
from django.views import View

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
from accounts.oauth.pages import PasskeySignInPageView, SecondFactorPageView, SignInPageView, SignOutPageView
from accounts.oauth.views import ConsentView, SeedConsentView, SeedOAuthView
from accountsite.routers import Router

# The endpoints clients call, by their address (with the trailing slash) and DOT's name for it.
ENDPOINTS: list[tuple[str, type[View], str]] = [
    ("authorize/", ConsentView, "authorize"), ("token/", TokenView, "token"),
    ("revoke_token/", RevokeTokenView, "revoke-token"), ("introspect/", IntrospectView, "introspect"),
    ("userinfo/", UserInfoView, "user-info"),
]

# DOT reverses these names in its own namespace (discovery, issuer); only the endpoints we offer. Each
# endpoint answers without its trailing slash too: APPEND_SLASH would redirect a POST, which comes back as
# a GET. The /.well-known/ addresses are written without one, and take one too.
dot_patterns = ([
    *(path(address, view.as_view(), name=name) for address, view, name in ENDPOINTS),
    *(path(address.rstrip("/"), view.as_view()) for address, view, _name in ENDPOINTS),
    re_path(r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(),
            name="oidc-connect-discovery-info"),
    re_path(r"^\.well-known/jwks\.json/?$", JwksView.as_view(), name="jwks-info"),
    # RFC 8414 metadata; its address also makes the RFC 9207 `iss` equal the OIDC issuer (<host>/oauth).
    re_path(r"^\.well-known/oauth-authorization-server/?$", MetadataView.as_view(),
            name="oauth-server-metadata"),
], "oauth2_provider")

developer = Router()
developer.register("developer/apps", DeveloperAppViewSet, basename="developer-app")

urlpatterns = [
    *developer.urls,
    re_path(r"^oauth/?$", SeedOAuthView.as_view(), name="oauth-seed"),
    path("oauth/login/", SignInPageView.as_view(), name="oauth-login"),
    path("oauth/logout/", SignOutPageView.as_view(), name="oauth-logout"),
    path("oauth/login/mfa/", SecondFactorPageView.as_view(), name="oauth-login-mfa"),
    path("oauth/login/passkey/", PasskeySignInPageView.as_view(), name="oauth-login-passkey"),
    path("oauth/consent/", SeedConsentView.as_view(), name="oauth-seed-consent"),
    path("oauth/", include(dot_patterns)),
    # The contract's root discovery address (the issuer itself is <host>/oauth).
    re_path(r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(), name="oidc-discovery-root"),
    # RFC 8414 section 3.1: the metadata of issuer <host>/oauth, in the path form.
    re_path(r"^\.well-known/oauth-authorization-server/oauth/?$", MetadataView.as_view(),
            name="oauth-server-metadata-root"),
]
