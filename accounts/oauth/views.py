"""The OAuth pages people see (sign-in and consent) and the seed 001 endpoints at /oauth/.

The sign-in page uses the same credential, lockout and status rules as POST /auth/login and opens a
Django session for the consent flow only (the API itself never accepts that cookie).
"""

import base64
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema
from oauth2_provider import views as dot
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import AccessToken, Application, Grant
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import OAuth2Error
from oauthlib.oauth2.rfc6749.errors import (
    InvalidClientIdError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidRequestFatalError,
    MissingRedirectURIError,
    UnsupportedGrantTypeError,
)
from oauthlib.openid.connect.core.exceptions import ConsentRequired, LoginRequired
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.browser import (
    browser_session,
    browser_sign_in,
    credentials_check,
    passkey_sign_in,
    second_factor_begin,
    second_factor_finish,
    second_factor_passkey_options,
    second_factor_pending,
)
from accounts.oauth import applications, consent, introspection, seed
from accounts.oauth.serializers import SeedAuthorizeInputSerializer, SeedExchangeInputSerializer, SeedUserSerializer
from accounts.selectors import signed_in
from accountsite.errors import NotAuthenticatedError, ServiceError, TooManyRequestsError
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op
from accountsite.requests import valid_input

OAUTH_PAGE_TERMINAL = "oauth-sign-in-page"
GENERIC_SIGN_IN_ERROR = "Wrong login name or password, or this account cannot sign in."


class SignInForm(forms.Form):
    login = forms.CharField(max_length=254, label="Login name or e-mail")
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput)
    next = forms.CharField(max_length=2048, required=False, widget=forms.HiddenInput)


@method_decorator([sensitive_post_parameters("password"), csrf_protect, never_cache], name="dispatch")
class SignInPageView(View):
    """GET shows the form; POST signs in (generic error message whatever the reason, 429 when locked)."""

    template_name = "accounts/oauth_login.html"

    def _next(self, request: HttpRequest, raw: str) -> str:
        safe = url_has_allowed_host_and_scheme(raw, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure())
        return raw if raw and safe else ""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = SignInForm(initial={"next": self._next(request, request.GET.get("next", ""))})
        return render(request, self.template_name, {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SignInForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "error": "Enter your login and password."},
                          status=400)
        target = self._next(request, form.cleaned_data.get("next", ""))
        try:
            user, methods = credentials_check(request, login=form.cleaned_data["login"],
                                              password=form.cleaned_data["password"])
            if second_factor_begin(request, user=user, methods=methods, terminal=OAUTH_PAGE_TERMINAL):
                return HttpResponseRedirect(f"{reverse('oauth-login-mfa')}?{urlencode({'next': target})}")
            browser_sign_in(request, user=user, terminal=OAUTH_PAGE_TERMINAL)
        except TooManyRequestsError as exc:
            return _throttled(request, self.template_name, {"form": form}, exc)
        except ServiceError:
            return render(request, self.template_name, {"form": form, "error": GENERIC_SIGN_IN_ERROR}, status=401)
        return _signed_in(request, user, target)


def _throttled(request: HttpRequest, template: str, context: dict, exc: TooManyRequestsError) -> HttpResponse:
    response = render(request, template, {**context, "error": "Too many failed attempts. Try again later."},
                      status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _signed_in(request: HttpRequest, user: Any, target: str) -> HttpResponse:
    if target:
        return HttpResponseRedirect(target)
    return render(request, SignInPageView.template_name, {"form": None, "signed_in_as": user.username})


@method_decorator([csrf_protect, never_cache], name="dispatch")
class PasskeySignInPageView(SignInPageView):
    """The sign-in page's "Sign in with a passkey": the page's script asks POST /auth/login/passkey/options,
    lets the browser's authenticator answer, and posts the answer here (checked like POST /auth/login/passkey)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        target = self._next(request, request.POST.get("next", ""))
        form = SignInForm(initial={"next": target})
        try:
            session = passkey_sign_in(request, token=request.POST.get("passkey_token", "")[:128],
                                      webauthn=request.POST.get("webauthn", ""), terminal=OAUTH_PAGE_TERMINAL)
        except TooManyRequestsError as exc:
            return _throttled(request, SignInPageView.template_name, {"form": form}, exc)
        except ServiceError:
            return render(request, SignInPageView.template_name,
                          {"form": form, "error": "This passkey cannot sign in here."}, status=401)
        return _signed_in(request, session.user, target)


@method_decorator([sensitive_post_parameters("code"), csrf_protect, never_cache], name="dispatch")
class SecondFactorPageView(SignInPageView):
    """The sign-in page's second step, for accounts with a second factor: a code of the authenticator app
    or a recovery code, checked like POST /auth/login/mfa."""

    template_name = "accounts/oauth_login_mfa.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if not second_factor_pending(request):
            return HttpResponseRedirect(reverse("oauth-login"))
        return render(request, self.template_name, {"next": self._next(request, request.GET.get("next", "")),
                                                    "webauthn_options": second_factor_passkey_options(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        target = self._next(request, request.POST.get("next", ""))
        context = {"next": target, "webauthn_options": second_factor_passkey_options(request)}
        try:
            session = second_factor_finish(request, code=request.POST.get("code", "")[:32],
                                           webauthn=request.POST.get("webauthn", ""))
        except TooManyRequestsError as exc:
            return _throttled(request, self.template_name, context, exc)
        except NotAuthenticatedError:  # expired or never started: begin again with the password
            return HttpResponseRedirect(f"{reverse('oauth-login')}?{urlencode({'next': target})}")
        except ServiceError:
            return render(request, self.template_name, {**context, "error": "This code is wrong or was already used."},
                          status=401)
        return _signed_in(request, session.user, target)


# How a confidential client authenticates; introspection (IntrospectView) knows no other.
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class OAuthMethodsMixin:
    """A method the endpoint does not take is 405 with an RFC 6749-shaped body, as its other errors are
    (Django's own 405 has an empty body), and the methods it takes in `Allow`."""

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed = self._allowed_methods()  # type: ignore[attr-defined]  # Django's View
        return JsonResponse({"error": "invalid_request", "error_description": f"Use {' or '.join(allowed)}."},
                            status=405, headers={"Allow": ", ".join(allowed)})


class UserInfoView(OAuthMethodsMixin, dot.UserInfoView):
    pass


class JwksView(OAuthMethodsMixin, dot.JwksInfoView):
    pass


class DiscoveryView(OAuthMethodsMixin, dot.ConnectDiscoveryInfoView):
    """OIDC discovery that promises only what the provider does. DOT leaves out fields whose defaults
    (OIDC Discovery 1.0 section 3) promise more: the implicit grant, the fragment response mode and
    request_uri; and it lists HS256, which no app here signs with. The revocation and introspection
    endpoints are added, as the RFC 8414 document has them."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = json.loads(super().get(request, *args, **kwargs).content)
        data.update(grant_types_supported=list(oauth2_settings.OAUTH2_GRANT_TYPES_SUPPORTED),
                    response_modes_supported=["query"], request_uri_parameter_supported=False,
                    id_token_signing_alg_values_supported=[Application.RS256_ALGORITHM],
                    # RFC 8414 names, as the metadata document has them, so one document is enough.
                    revocation_endpoint=self._get_endpoint_url(request, "revoke-token", required=True),
                    introspection_endpoint=self._get_endpoint_url(request, "introspect", required=True),
                    introspection_endpoint_auth_methods_supported=CONFIDENTIAL_AUTH_METHODS)
        return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


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


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """The client id and secret from HTTP Basic (RFC 6749 section 2.3.1, form-encoded parts) or the body."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return unquote_plus(client_id), unquote_plus(secret)
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def nul_refused(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The OAuth endpoints are plain Django views: a NUL character in a form field or the client's
    credentials (which PostgreSQL cannot store or compare) is invalid_request, not a 500. (The query
    string is checked for every view by accountsite.requests.ControlCharacterMiddleware.)"""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        values = [item for name, items in request.POST.lists() for item in (name, *items)]
        if any("\x00" in value for value in (*values, *_client_credentials(request))):
            return JsonResponse({"error": "invalid_request", "error_description": "NUL characters are not allowed."},
                                status=400)
        return view(request, *args, **kwargs)
    return checked


@method_decorator(nul_refused, name="dispatch")
class TokenView(OAuthMethodsMixin, dot.TokenView):
    """DOT's token endpoint for the grants we offer (OAUTH2_GRANT_TYPES_SUPPORTED, also what the metadata
    advertises); any other is unsupported_grant_type before oauthlib sees it (its device-code grant
    would look for a device grant that does not exist, a 500)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if grant_type and grant_type not in oauth2_settings.OAUTH2_GRANT_TYPES_SUPPORTED:
            return _token_error(UnsupportedGrantTypeError())
        try:
            return _client_challenged(self.authorization_flow_token_response(request))
        except AccessToken.DoesNotExist:
            # DOT reads back the access token it has just issued (for its app_authorized signal). A replay of
            # the code revokes it, while it was being made or since (accounts.oauth.codes): the grant is spent.
            return _token_error(InvalidGrantError())


def _token_error(error: OAuth2Error) -> HttpResponse:
    return HttpResponse(error.json, status=error.status_code, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


@method_decorator(nul_refused, name="dispatch")
class RevokeTokenView(OAuthMethodsMixin, dot.RevokeTokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _client_challenged(super().post(request, *args, **kwargs))


@method_decorator([csrf_exempt, nul_refused], name="dispatch")
class IntrospectView(OAuthMethodsMixin, View):
    """RFC 7662 token introspection, for confidential clients about their own tokens only. A request
    without valid client credentials is 401 with a Basic challenge (RFC 6749 section 5.2)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
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


PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
NONCE_MAX_LENGTH = Grant._meta.get_field("nonce").max_length


def _request_problem(credentials: Mapping[str, Any]) -> str | None:
    """What is wrong with an authorization request's PKCE challenge or nonce, or None. DOT refuses `plain`
    only when the code is saved, after the consent page (RFC 9700 2.1.1); the challenge's form is RFC 7636
    4.2's, and the nonce must fit where the code keeps it."""
    if credentials.get("code_challenge_method") != "S256" or \
            not PKCE_CHALLENGE.fullmatch(credentials.get("code_challenge") or ""):
        return "PKCE is required: a code_challenge of 43-128 characters, code_challenge_method=S256."
    if len(credentials.get("nonce") or "") > NONCE_MAX_LENGTH:
        return f"nonce is at most {NONCE_MAX_LENGTH} characters."
    return None


def _prompt(request: HttpRequest) -> set[str]:
    # A space-delimited, case-sensitive list (OIDC Core 3.1.2.1).
    return set(request.GET.get("prompt", "").split())


def _signed_in_at(request: HttpRequest) -> datetime | None:
    """When this browser signed in (its session row's start), if it is signed in."""
    session = browser_session(request) if request.user.is_authenticated else None
    return session.created_at if session is not None else None


def _sign_in_too_old(request: HttpRequest) -> bool:
    """max_age (OIDC Core 3.1.2.1): the sign-in must be at most this many seconds old. A value that is
    not a non-negative integer asks for a fresh sign-in, the safe reading."""
    raw = request.GET.get("max_age")
    if raw is None:
        return False
    signed_in_at = _signed_in_at(request)
    max_age = int(raw) if raw.isascii() and raw.isdigit() else 0
    return signed_in_at is None or (timezone.now() - signed_in_at).total_seconds() > max_age


@method_decorator(nul_refused, name="dispatch")
class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with our consent page (PKCE required, code flow only).

    A request is validated before anything is shown, the sign-in page included. prompt=none (OIDC Core
    3.1.2.6) never shows a page: signed out it answers login_required, without standing consent
    consent_required, otherwise a code at once. prompt=login and an exceeded max_age send the browser
    to the sign-in page again, and the ID token's auth_time is that new sign-in.
    """

    template_name = "accounts/oauth_authorize.html"

    def validate_authorization_request(self, request: HttpRequest) -> tuple[list[str], dict[str, Any]]:
        scopes, credentials = super().validate_authorization_request(request)
        if not request.GET.get("redirect_uri"):
            # OIDC Core 3.1.2.1 requires it, and the token request must then repeat it (RFC 6749 4.1.3).
            raise FatalClientError(error=MissingRedirectURIError())
        description = _request_problem(credentials)
        if request.GET.get("response_mode", "query") != "query":  # the one discovery announces
            description = "response_mode: only query is supported."
        if description is None:
            return scopes, credentials
        raise OAuthToolkitError(error=InvalidRequestError(description=description, state=credentials.get("state")),
                                redirect_uri=credentials["redirect_uri"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        prompt = _prompt(request)
        if "none" in prompt:
            return self._silent(request, scopes, credentials)
        if "login" in prompt or _sign_in_too_old(request):
            return self._sign_in_again(request)
        return super().get(request, *args, **kwargs)

    def handle_no_permission(self) -> HttpResponse:
        """Signed out: the request is validated first (a bad one never reaches the sign-in page)."""
        try:
            self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        if "none" in _prompt(self.request):
            return super().handle_no_permission()  # DOT's login_required redirect
        return self._sign_in_again(self.request)

    def create_authorization_response(self, request: HttpRequest, scopes: str, credentials: dict[str, Any],
                                      allow: bool) -> tuple[str, dict, str, int]:
        # The validator keeps it with the code: the ID token's auth_time.
        credentials = {**credentials, "auth_time": _signed_in_at(request)}
        return super().create_authorization_response(request, scopes, credentials, allow)

    def redirect(self, redirect_to: str, application: Application | None) -> HttpResponse:
        """To the client. oauthlib has matched the address against the app's registered ones by now; a
        public app's may use any scheme it registered (loopback http, a private-use scheme), which
        DOT's global list of schemes would refuse."""
        if application is None:  # an error found before DOT looked the app up
            application = Application.objects.filter(client_id=self.request.GET.get("client_id", "")).first()
        if application is None or application.client_type != Application.CLIENT_PUBLIC:
            return super().redirect(redirect_to, application)
        schemes = {urlsplit(uri).scheme for uri in application.redirect_uris.split()}
        return OAuth2ResponseRedirect(redirect_to, sorted(schemes))

    def _sign_in_again(self, request: HttpRequest) -> HttpResponse:
        """The sign-in page, coming back to this request without what asked for it (prompt=login,
        max_age): the fresh sign-in satisfies them, and asking again would loop."""
        query = request.GET.copy()
        query.pop("max_age", None)
        rest = [value for value in request.GET.get("prompt", "").split() if value != "login"]
        if rest:
            query["prompt"] = " ".join(rest)
        else:
            query.pop("prompt", None)
        return redirect_to_login(f"{request.path}?{query.urlencode()}", self.get_login_url(),
                                 self.get_redirect_field_name())

    def _silent(self, request: HttpRequest, scopes: list[str], credentials: dict[str, Any]) -> HttpResponse:
        application = Application.objects.get(client_id=credentials["client_id"])
        if _sign_in_too_old(request):
            return self._refuse(LoginRequired(state=credentials.get("state")), credentials, application)
        if not consent.consent_exists(user=signed_in(request), application=application, scopes=scopes):
            return self._refuse(ConsentRequired(state=credentials.get("state")), credentials, application)
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True)
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)

    def _refuse(self, error: OAuth2Error, credentials: dict[str, Any], application: Application | None) -> HttpResponse:
        """An error sent back to the client's (already validated) redirect URI."""
        return self.error_response(OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]),
                                   application)

    def form_valid(self, form: Any) -> HttpResponse:
        # The page's hidden fields come back from the browser: checked again as the GET checked them, and a
        # request the GET would have refused is refused on the page itself (its redirect_uri, unchecked
        # yet, is not one to send anything to).
        if not Application.objects.filter(client_id=form.cleaned_data.get("client_id")).exists():
            return self.error_response(FatalClientError(error=InvalidClientIdError()), application=None)
        description = _request_problem(form.cleaned_data)
        if description is not None:
            return self.error_response(FatalClientError(error=InvalidRequestFatalError(description=description)),
                                       application=None)
        response = super().form_valid(form)
        location = response.get("Location", "")
        if form.cleaned_data.get("allow") and "code=" in location and "error=" not in location:
            application = Application.objects.get(client_id=form.cleaned_data["client_id"])
            applications.authorization_record(user=signed_in(self.request), application=application,
                                              scopes=form.cleaned_data.get("scope", ""))
        return response


def _scope_descriptions(scopes: list[str]) -> list[str]:
    described = get_scopes_backend().get_all_scopes()
    return [described[scope] for scope in scopes if scope in described]


class SeedConsentForm(forms.Form):
    client_id = forms.CharField(max_length=255, widget=forms.HiddenInput)
    redirect_uri = forms.CharField(max_length=512, widget=forms.HiddenInput)
    state = forms.CharField(max_length=512, required=False, widget=forms.HiddenInput)


def _seed_redirect(target: seed.SeedTarget, **params: str) -> HttpResponse:
    uri = add_params_to_uri(target.redirect_uri, [(name, value) for name, value in params.items() if value])
    return OAuth2ResponseRedirect(uri, target.application.get_allowed_schemes())


@method_decorator([login_required, csrf_protect, never_cache], name="dispatch")
class SeedConsentView(View):
    """The seed 001 consent page (GET /oauth/ sends the browser here): approving redirects to the
    registered redirect_uri with a single-use `code` (the seed's authorization_code) and `state`."""

    template_name = "accounts/oauth_authorize.html"

    def _target(self, data: Any) -> tuple[SeedConsentForm, seed.SeedTarget | None, str]:
        form = SeedConsentForm(data)
        if not form.is_valid():
            return form, None, "This sign-in link is incomplete."
        try:
            target = seed.seed_target_resolve(client_id=form.cleaned_data["client_id"],
                                               redirect_uri=form.cleaned_data["redirect_uri"])
        except ServiceError as exc:
            return form, None, exc.message
        return form, target, ""

    def get(self, request: HttpRequest) -> HttpResponse:
        form, target, error = self._target(request.GET)
        if target is None:
            return render(request, self.template_name, {"error": {"error": "invalid_request", "description": error}},
                          status=400)
        return render(request, self.template_name, {
            "form": form, "application": target.application,
            "scopes_descriptions": _scope_descriptions(seed.SEED_SCOPES.split()),
        })

    def post(self, request: HttpRequest) -> HttpResponse:
        form, target, error = self._target(request.POST)
        if target is None:
            return render(request, self.template_name, {"error": {"error": "invalid_request", "description": error}},
                          status=400)
        state = form.cleaned_data.get("state", "")
        if not request.POST.get("allow"):
            return _seed_redirect(target, error="access_denied", state=state)
        grant = seed.seed_code_issue(user=signed_in(request), target=target)
        return _seed_redirect(target, code=grant.code, state=state)


class SeedOAuthView(PolicyMixin, APIView):
    """Seed 001's /oauth/: GET sends the browser to the consent page; POST is the client's server
    exchanging a code with its secret for the user's {username, email}."""

    authentication_classes = ()
    operations = {"get": Op.SIGN_IN, "post": Op.SIGN_IN}

    @extend_schema(parameters=[SeedAuthorizeInputSerializer], responses={302: None}, tags=["oauth"])
    def get(self, request: Request) -> HttpResponse:
        serializer = SeedAuthorizeInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = seed.seed_target_resolve(client_id=data.get("secret_id") or data["client_id"],
                                           redirect_uri=data["redirect_uri"])
        params = {"client_id": target.application.client_id, "redirect_uri": target.redirect_uri}
        if data.get("state"):
            params["state"] = data["state"]
        query = urlencode(params)
        return HttpResponseRedirect(f"{reverse('oauth-seed-consent')}?{query}")

    @extend_schema(request=SeedExchangeInputSerializer, responses=SeedUserSerializer, tags=["oauth"])
    def post(self, request: Request) -> Response:
        data = valid_input(SeedExchangeInputSerializer, request)
        user = seed.seed_code_exchange(client_id=data["client_id"], client_secret=data["client_secret"],
                                        code=data["code"])
        return Response(SeedUserSerializer(user).data)

