"""The standard OAuth2 / OpenID Connect endpoints clients call: discovery and metadata, the keys, userinfo,
token, revocation and introspection. They answer in OAuth's error shape, never the API's envelope."""

import base64
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot
from oauth2_provider.models import AccessToken, Application
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2 import OAuth2Error
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, UnsupportedGrantTypeError

from accounts.oauth import applications, codes, introspection, revocation
from accountsite.errors import ServiceError
from accountsite.requests import repeated_names

# A PKCE code_verifier and code_challenge alike (RFC 7636 4.1, 4.2): 43-128 unreserved characters.
PKCE_VALUE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
# How a confidential client authenticates; introspection (IntrospectView) knows no other.
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class OAuthMethodsMixin:
    """A method the endpoint does not take is 405 with an RFC 6749-shaped body, as its other errors are
    (Django's own 405 has an empty body), and the methods it takes in `Allow`."""

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed = self._allowed_methods()  # type: ignore[attr-defined]  # Django's View
        return JsonResponse({"error": "invalid_request", "error_description": f"Use {' or '.join(allowed)}."},
                            status=405, headers={"Allow": ", ".join(allowed)})


def _json_typed(response: HttpResponse) -> HttpResponse:
    """oauthlib's JSON bodies (userinfo's claims, its errors, some token errors) come without a media type,
    which Django's default makes text/html: OIDC Core 5.3.2 and RFC 6749 5.1 and 5.2 say application/json."""
    if response.content[:1] == b"{" and response["Content-Type"].startswith("text/html"):
        response["Content-Type"] = "application/json"
    return response


def _valid_without_openid(request: HttpRequest) -> bool:
    """Whether the request's bearer token is a live access token that lacks the `openid` scope."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return False
    token = AccessToken.objects.filter(token_checksum=codes.code_hash(raw.strip())).first()
    return token is not None and token.is_valid() and not token.allow_scopes(["openid"])


class UserInfoView(OAuthMethodsMixin, dot.UserInfoView):
    def _create_userinfo_response(self, request: HttpRequest) -> HttpResponse:
        if "access_token" in request.GET:
            # RFC 9700 4.3.2, RFC 6750 5.3: never in the URL (logs, Referer). DOT refuses it only on the
            # resource-server path (COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT); oauthlib's userinfo takes it.
            return JsonResponse(
                {"error": "invalid_request", "error_description": "Send the access token in the Authorization header."},
                status=400, headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})
        response = _json_typed(super()._create_userinfo_response(request))
        if response.status_code == 401 and _valid_without_openid(request):
            # oauthlib calls a good token without the scope invalid (which tells a client to drop it); RFC 6750
            # 3.1 and OIDC Core 5.3.3: 403 insufficient_scope.
            return JsonResponse(
                {"error": "insufficient_scope", "error_description": "The token lacks the openid scope."},
                status=403, headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'})
        return response


@method_decorator(csrf_exempt, name="dispatch")  # a document: a POST changes nothing, and is 405
class JwksView(OAuthMethodsMixin, dot.JwksInfoView):
    pass


@method_decorator(csrf_exempt, name="dispatch")  # a document: a POST changes nothing, and is 405
class DiscoveryView(OAuthMethodsMixin, dot.ConnectDiscoveryInfoView):
    """OIDC discovery that promises only what the provider does. DOT leaves out fields whose defaults
    (OIDC Discovery 1.0 section 3) promise more: the implicit grant, the fragment response mode and
    request_uri; and it lists HS256, which no app here signs with. The revocation and introspection
    endpoints are added, as the RFC 8414 document has them."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = json.loads(super().get(request, *args, **kwargs).content)
        data.update(grant_types_supported=list(oauth2_settings.OAUTH2_GRANT_TYPES_SUPPORTED),
                    response_modes_supported=["query"], request_uri_parameter_supported=False,
                    prompt_values_supported=["none", "login", "consent"],
                    id_token_signing_alg_values_supported=[Application.RS256_ALGORITHM],
                    # RFC 8414 names, as the metadata document has them, so one document is enough.
                    revocation_endpoint=self._get_endpoint_url(request, "revoke-token", required=True),
                    introspection_endpoint=self._get_endpoint_url(request, "introspect", required=True),
                    introspection_endpoint_auth_methods_supported=CONFIDENTIAL_AUTH_METHODS)
        return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


@method_decorator(csrf_exempt, name="dispatch")  # a document: a POST changes nothing, and is 405
class MetadataView(OAuthMethodsMixin, dot.OAuthServerMetadataView):
    """RFC 8414 metadata. DOT gives introspection the token endpoint's client authentication methods,
    but only a confidential client may introspect (no "none")."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = json.loads(super().get(request, *args, **kwargs).content)
        data["introspection_endpoint_auth_methods_supported"] = CONFIDENTIAL_AUTH_METHODS
        return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


# RFC 6749 section 5.2: a client that fails to authenticate gets 401 and a challenge in the scheme clients
# authenticate with here. (oauthlib sends RFC 6750's Bearer challenge, which is for resource servers.)
CLIENT_CHALLENGE = 'Basic realm="oauth"'


def _client_challenged(response: HttpResponse) -> HttpResponse:
    if response.status_code == 401:
        response["WWW-Authenticate"] = CLIENT_CHALLENGE
    return response


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """The client id and secret of an HTTP Basic header (RFC 6749 section 2.3.1, form-encoded parts): ("", "")
    without one, None for one that is not base64 of UTF-8 text."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """The client id and secret from HTTP Basic or the body ("", "" for Basic credentials that do not decode)."""
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0]
    if scheme.lower() == "basic":
        return _basic_credentials(request) or ("", "")
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _client_named_twice(request: HttpRequest) -> str | None:
    """What is wrong when a request names its client more than one way, or None. RFC 6749 2.3: a client
    authenticates one way per request, and which of two counts would be a guess: oauthlib answers a body
    client_id other than the Basic header's with server_error, and the revocation and introspection
    endpoints would act for the header's client whatever the body says."""
    if "HTTP_AUTHORIZATION" not in request.META:
        return None
    if "client_secret" in request.POST:
        return "Authenticate the client one way: the Authorization header or client_secret."
    scheme = request.META["HTTP_AUTHORIZATION"].partition(" ")[0]
    header_id, named = _client_credentials(request)[0], request.POST.get("client_id")
    if scheme.lower() == "basic" and header_id and named is not None and named != header_id:
        return "client_id names another client than the Authorization header."
    return None


def nul_refused(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The OAuth endpoints are plain Django views: a NUL character in a form field or the client's
    credentials (which PostgreSQL cannot store or compare) is invalid_request, not a 500. (The query
    string is checked for every view by accountsite.requests.RequestLineMiddleware.)"""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        values = [item for name, items in request.POST.lists() for item in (name, *items)]
        if any("\x00" in value for value in (*values, *_client_credentials(request))):
            return JsonResponse({"error": "invalid_request", "error_description": "NUL characters are not allowed."},
                                status=400)
        return view(request, *args, **kwargs)
    return checked


def client_form_checked(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The client endpoints (token, revocation, introspection) refuse a parameter given twice (RFC 6749 3.2,
    which RFC 7009 and 7662 build on): Django reads the last value, so `token=A&token=B` revoked B and
    answered 200 to a client that meant A. Basic credentials that do not decode are invalid_client (DOT's own
    decoding raised on non-ASCII text, a 500)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if repeated_names(request.POST):
            return _oauth_error(InvalidRequestError(description="A parameter is given more than once."))
        if _basic_credentials(request) is None:
            return _client_challenged(JsonResponse({"error": "invalid_client"}, status=401))
        return view(request, *args, **kwargs)
    return checked


@method_decorator([nul_refused, client_form_checked], name="dispatch")
class TokenView(OAuthMethodsMixin, dot.TokenView):
    """DOT's token endpoint for the grants we offer (OAUTH2_GRANT_TYPES_SUPPORTED, also what the metadata
    advertises); any other is unsupported_grant_type before oauthlib sees it (its device-code grant
    would look for a device grant that does not exist, a 500)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if problem := _client_named_twice(request):
            return _oauth_error(InvalidRequestError(description=problem))
        grant_type = request.POST.get("grant_type")
        if not grant_type:  # RFC 6749 5.2: a required parameter missing (oauthlib calls it unsupported)
            return _oauth_error(InvalidRequestError(description="grant_type is required."))
        if grant_type not in oauth2_settings.OAUTH2_GRANT_TYPES_SUPPORTED:
            return _oauth_error(UnsupportedGrantTypeError())
        if "code_verifier" in request.POST and not PKCE_VALUE.fullmatch(request.POST["code_verifier"]):
            # oauthlib compares its hash only: a verifier of another form matched a challenge made of it.
            return _oauth_error(InvalidRequestError(
                description="code_verifier: 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)."))
        try:
            return _json_typed(_client_challenged(self.authorization_flow_token_response(request)))
        except (AccessToken.DoesNotExist, revocation.CredentialEnded):
            # CredentialEnded: the refresh token or code ended while the request was checked (the validator's
            # issuing_hold), and no token was made. AccessToken.DoesNotExist: DOT reads back the access token
            # it has just issued (for its app_authorized signal), and a replay of the code or refresh token
            # revoked it since (accounts.oauth.codes). Either way the grant is spent; a refresh token used
            # twice is a reuse, which ends its family, whatever the first use made included (RFC 9700 4.14.2).
            if grant_type == "refresh_token":
                codes.refresh_replay_revoke(refresh_token=request.POST.get("refresh_token", ""),
                                            client_id=_client_credentials(request)[0])
            return _oauth_error(InvalidGrantError())


def _oauth_error(error: OAuth2Error) -> HttpResponse:
    return HttpResponse(error.json, status=error.status_code, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


@method_decorator([nul_refused, client_form_checked], name="dispatch")
class RevokeTokenView(OAuthMethodsMixin, dot.RevokeTokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if problem := _client_named_twice(request):
            return _oauth_error(InvalidRequestError(description=problem))
        return _client_challenged(super().post(request, *args, **kwargs))


@method_decorator([csrf_exempt, nul_refused, client_form_checked], name="dispatch")
class IntrospectView(OAuthMethodsMixin, View):
    """RFC 7662 token introspection, for confidential clients about their own tokens only. A request
    without valid client credentials is 401 with a Basic challenge (RFC 6749 section 5.2)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if problem := _client_named_twice(request):
            return _oauth_error(InvalidRequestError(description=problem))
        client_id, secret = _client_credentials(request)
        try:
            application = applications.application_authenticate(client_id=client_id, client_secret=secret)
        except ServiceError:
            return _client_challenged(JsonResponse({"error": "invalid_client"}, status=401))
        token = request.POST.get("token", "")
        if not token:
            return JsonResponse({"error": "invalid_request", "error_description": "token is required."}, status=400)
        return JsonResponse(introspection.token_introspect(application=application, raw=token),
                            headers={"Cache-Control": "no-store"})
