"""The OAuth consent page (the authorization endpoint) and the seed 001 endpoints at /oauth/."""

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from drf_spectacular.utils import extend_schema
from jwcrypto import jwt
from jwcrypto.common import JWException
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import Application, Grant
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import OAuth2Error
from oauthlib.oauth2.rfc6749.errors import (
    InvalidClientIdError,
    InvalidRequestError,
    InvalidRequestFatalError,
    MismatchingRedirectURIError,
    MissingRedirectURIError,
    UnsupportedResponseTypeError,
)
from oauthlib.openid.connect.core.exceptions import (
    ConsentRequired,
    LoginRequired,
    RequestNotSupported,
    RequestURINotSupported,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.browser import browser_session
from accounts.oauth import applications, consent, seed
from accounts.oauth.endpoints import PKCE_VALUE, nul_refused
from accounts.oauth.serializers import SeedAuthorizeInputSerializer, SeedExchangeInputSerializer, SeedUserSerializer
from accounts.selectors import signed_in
from accountsite.errors import ServiceError
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op
from accountsite.requests import repeated_names, valid_input

NONCE_MAX_LENGTH = Grant._meta.get_field("nonce").max_length


def _request_problem(credentials: Mapping[str, Any]) -> str | None:
    """What is wrong with an authorization request's flow, PKCE challenge or nonce, or None. DOT refuses `plain`
    only when the code is saved, after the consent page (RFC 9700 2.1.1); the challenge's form is RFC 7636
    4.2's, and the nonce must fit where the code keeps it."""
    if credentials.get("response_type") != "code":  # the GET converts any other (validate_authorization_request)
        return "response_type: only code is offered."
    if credentials.get("code_challenge_method") != "S256" or \
            not PKCE_VALUE.fullmatch(credentials.get("code_challenge") or ""):
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


# When this browser was last sent to sign in again (prompt=login, max_age): until it has, no authorization is
# answered, whatever address it comes back by.
REAUTH_KEY = "_accounts_oauth_sign_in_again"


def _sign_in_pending(request: HttpRequest) -> bool:
    """Whether this browser still owes the fresh sign-in an authorization request asked of it. The request
    it comes back with no longer says so (_sign_in_again removes what asked), and the browser could open it
    without signing in; so the session keeps when it was asked, and a sign-in since then settles it."""
    asked_at = request.session.get(REAUTH_KEY)
    if asked_at is None:
        return False
    signed_in_at = _signed_in_at(request)
    if signed_in_at is not None and signed_in_at.timestamp() >= asked_at:
        del request.session[REAUTH_KEY]
        return False
    return True


def _hint_names_another(request: HttpRequest, application: Application) -> bool:
    """Whether the request's id_token_hint (OIDC Core 3.1.2.1) names someone other than the user signed in:
    a token this provider did not sign for this client reads as someone else. An expired one still names its
    user (the spec lets a client send the last one it had)."""
    hint = request.GET.get("id_token_hint")
    if not hint:
        return False
    try:
        token = jwt.JWT(jwt=hint, key=application.jwk_key, algs=[Application.RS256_ALGORITHM], check_claims=False)
        claims = json.loads(token.claims)
    except (JWException, ValueError, TypeError, ImproperlyConfigured):  # the last: an app that signs no tokens
        return True
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    return application.client_id not in audiences or claims.get("sub") != str(request.user.pk)


def _claimable_redirect(application: Application, redirect_uri: str) -> bool:
    """RFC 8252 8.6: a public client's loopback or private-use-scheme address can be claimed by any program on
    the user's machine, so its client_id proves nothing. Such a request is never answered without the page,
    whatever the user approved before (an https address is the browser's to guard)."""
    return application.client_type == Application.CLIENT_PUBLIC and urlsplit(redirect_uri).scheme != "https"


def _sign_in_too_old(request: HttpRequest) -> bool:
    """max_age (OIDC Core 3.1.2.1): the sign-in must be at most this many seconds old. A value that is
    not a non-negative integer asks for a fresh sign-in, the safe reading."""
    raw = request.GET.get("max_age")
    if raw is None:
        return False
    signed_in_at = _signed_in_at(request)
    digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else "0"
    max_age = int(digits or "0") if len(digits) <= 18 else math.inf  # past any sign-in's age (and int()'s limit)
    return signed_in_at is None or (timezone.now() - signed_in_at).total_seconds() > max_age


@method_decorator(nul_refused, name="dispatch")
class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with our consent page (PKCE required, code flow only).

    A request is validated before anything is shown, the sign-in page included. prompt=none (OIDC Core
    3.1.2.6) never shows a page: signed out it answers login_required, without standing consent
    consent_required, otherwise a code at once (login_required when its id_token_hint names someone else).
    prompt=login and an exceeded max_age send the browser to the sign-in page again, and the ID token's
    auth_time is that new sign-in; nothing is authorized in that browser until it has signed in again. A
    public client at an address any local program could claim (_claimable_redirect) always gets the page.
    """

    template_name = "accounts/oauth_authorize.html"

    def validate_authorization_request(self, request: HttpRequest) -> tuple[list[str], dict[str, Any]]:
        try:
            scopes, credentials = super().validate_authorization_request(request)
        except FatalClientError:
            raise
        except OAuthToolkitError as error:
            oauthlib_error = error.oauthlib_error
            if oauthlib_error.redirect_uri is None:
                # oauthlib raises some errors (a malformed `claims`) without the request, so without the
                # redirect URI it has checked by then (only fatal errors come before): DOT would redirect
                # to "?error=...". The error goes back to the client, with its state (RFC 6749 4.1.2.1).
                if not request.GET.get("redirect_uri"):
                    raise FatalClientError(error=MissingRedirectURIError()) from None
                oauthlib_error.redirect_uri = request.GET["redirect_uri"]
                oauthlib_error.state = request.GET.get("state")
            if request.GET.get("response_type") == "code":
                raise
            # oauthlib knows the implicit and hybrid flows and calls them this client's mistake
            # (unauthorized_client); the provider offers none of them (RFC 6749 4.1.2.1).
            unsupported = UnsupportedResponseTypeError(state=request.GET.get("state"))
            raise OAuthToolkitError(error=unsupported, redirect_uri=error.oauthlib_error.redirect_uri) from None
        if not request.GET.get("redirect_uri"):
            # OIDC Core 3.1.2.1 requires it, and the token request must then repeat it (RFC 6749 4.1.3).
            raise FatalClientError(error=MissingRedirectURIError())
        for name, unsupported_error in (("request", RequestNotSupported), ("request_uri", RequestURINotSupported)):
            if name in request.GET:
                # OIDC Core 6.1, 6.2: discovery offers no request objects; one sent may carry parameters the
                # client relies on, so it is refused rather than ignored.
                raise OAuthToolkitError(error=unsupported_error(state=credentials.get("state")),
                                        redirect_uri=credentials["redirect_uri"])
        description = _request_problem(credentials)
        if request.GET.get("response_mode", "query") != "query":  # the one discovery announces
            description = "response_mode: only query is supported."
        if repeated_names(request.GET):
            description = "A parameter is given more than once."
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
        if "create" in prompt:
            return self._create_refused()
        if "none" in prompt:
            return self._silent(request, scopes, credentials)
        if "login" in prompt or _sign_in_too_old(request) or _sign_in_pending(request):
            return self._sign_in_again(request)
        application = Application.objects.get(client_id=credentials["client_id"])
        if "consent" in prompt or _claimable_redirect(application, credentials["redirect_uri"]):
            # DOT's approval_prompt=auto (asked for, or its default) skips the page when an earlier grant covers
            # the scopes; prompt=consent asks for the page (OIDC Core 3.1.2.1), and so does a claimable address.
            query = request.GET.copy()
            query["approval_prompt"] = "force"
            request.GET = QueryDict(query.urlencode())
        return super().get(request, *args, **kwargs)

    def handle_no_permission(self) -> HttpResponse:
        """Signed out: the request is validated first (a bad one never reaches the sign-in page)."""
        try:
            self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        prompt = _prompt(self.request)
        if "create" in prompt:
            return self._create_refused()
        if "none" in prompt:
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
        DOT's global list of schemes would refuse. An error carries RFC 9207's `iss` as a code does (DOT
        adds it to codes only): discovery announces it, and a client that read that refuses a response
        without it, so a prompt=none error would never reach it."""
        has_issuer = "iss" in parse_qs(urlsplit(redirect_to).query)
        if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS and not has_issuer:
            issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
            redirect_to = add_params_to_uri(redirect_to, [("iss", issuer)])
        if application is None:  # an error found before DOT looked the app up
            application = Application.objects.filter(client_id=self.request.GET.get("client_id", "")).first()
        if application is None or application.client_type != Application.CLIENT_PUBLIC:
            return super().redirect(redirect_to, application)
        schemes = {urlsplit(uri).scheme for uri in application.redirect_uris.split()}
        return OAuth2ResponseRedirect(redirect_to, sorted(schemes))

    def _create_refused(self) -> HttpResponse:
        """prompt=create (OIDC Prompt Create 1.0) asks for a registration page, which this provider does not have
        and discovery does not offer (prompt_values_supported): DOT's 400 invalid_request (its 4.1.1), signed in or
        not, before any page (OIDC_RP_INITIATED_REGISTRATION_ENABLED stays off). Handled first, as DOT does: signed
        out, it came after the sign-in page."""
        return self.handle_prompt_create()

    def _sign_in_again(self, request: HttpRequest) -> HttpResponse:
        """The sign-in page, coming back to this request without what asked for it (prompt=login,
        max_age): the fresh sign-in satisfies them, and asking again would loop. The session keeps that it
        was asked (_sign_in_pending)."""
        request.session[REAUTH_KEY] = timezone.now().timestamp()  # the latest ask: a sign-in before it is no answer
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
        if _sign_in_too_old(request) or _sign_in_pending(request) or _hint_names_another(request, application):
            return self._refuse(LoginRequired(state=credentials.get("state")), credentials, application)
        if _claimable_redirect(application, credentials["redirect_uri"]) or \
                not consent.consent_exists(user=signed_in(request), application=application, scopes=scopes):
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
        application = Application.objects.filter(client_id=form.cleaned_data.get("client_id")).first()
        if application is None:
            return self.error_response(FatalClientError(error=InvalidClientIdError()), application=None)
        if not applications.redirect_uri_allowed(application, form.cleaned_data.get("redirect_uri") or ""):
            # DOT sends a denial to the posted address unchecked: an open redirect.
            return self.error_response(FatalClientError(error=MismatchingRedirectURIError()), application=None)
        if _sign_in_pending(self.request):
            return self._sign_in_again(self.request)
        description = _request_problem(form.cleaned_data)
        if description is not None:
            return self.error_response(FatalClientError(error=InvalidRequestFatalError(description=description)),
                                       application=None)
        response = super().form_valid(form)
        location = response.get("Location", "")
        if form.cleaned_data.get("allow") and "code=" in location and "error=" not in location:
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
