"""The OAuth pages people see (sign-in and consent) and the seed 001 endpoints at /oauth/.

The sign-in page uses the same credential, lockout and status rules as POST /auth/login and opens a
Django session for the consent flow only (the API itself never accepts that cookie).
"""

import base64
from typing import Any
from urllib.parse import unquote_plus, urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import Application
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.views import AuthorizationView
from oauthlib.common import add_params_to_uri
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.browser import (
    browser_sign_in,
    credentials_check,
    passkey_sign_in,
    second_factor_begin,
    second_factor_finish,
    second_factor_passkey_options,
    second_factor_pending,
)
from accounts.oauth import applications, introspection, seed
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


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(View):
    """RFC 7662 token introspection, for confidential clients about their own tokens only. A request
    without valid client credentials is 401 with a Basic challenge (RFC 6749 section 5.2)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        client_id, secret = _client_credentials(request)
        try:
            application = applications.application_authenticate(client_id=client_id, client_secret=secret)
        except ServiceError:
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        token = request.POST.get("token", "")
        if not token:
            return JsonResponse({"error": "invalid_request", "error_description": "token is required."}, status=400)
        return JsonResponse(introspection.token_introspect(application=application, raw=token),
                            headers={"Cache-Control": "no-store"})


class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with our consent page (PKCE required, code flow only)."""

    template_name = "accounts/oauth_authorize.html"

    def form_valid(self, form: Any) -> HttpResponse:
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

