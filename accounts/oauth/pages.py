"""The OAuth sign-in pages people see (password, passkey, second factor).

They use the same credential, lockout and status rules as POST /auth/login and open a Django session for
the consent flow only (the API itself never accepts that cookie)."""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from accounts.browser import (
    browser_sign_in,
    browser_sign_out,
    browser_terminal,
    credentials_check,
    passkey_sign_in,
    second_factor_begin,
    second_factor_finish,
    second_factor_passkey_options,
    second_factor_pending,
)
from accountsite.errors import NotAuthenticatedError, ServiceError, TooManyRequestsError

OAUTH_PAGE_DOOR = "oauth-sign-in-page"  # with the browser's id (browser_terminal)
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
            terminal = browser_terminal(request, OAUTH_PAGE_DOOR)
            if second_factor_begin(request, user=user, methods=methods, terminal=terminal):
                return HttpResponseRedirect(f"{reverse('oauth-login-mfa')}?{urlencode({'next': target})}")
            browser_sign_in(request, user=user, terminal=terminal)
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
class SignOutPageView(SignInPageView):
    """The consent page's "Not you? Sign out": ends this browser's sign-in, its session row included, so a
    shared computer does not stay able to approve apps. POST only (a link or an image cannot sign anyone
    out); back to the sign-in page, which returns to `next` (a local address) once someone signs in."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        target = self._next(request, request.POST.get("next", ""))
        browser_sign_out(request)
        query = f"?{urlencode({'next': target})}" if target else ""
        return HttpResponseRedirect(f"{reverse('oauth-login')}{query}")


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
                                      webauthn=request.POST.get("webauthn", ""),
                                      terminal=browser_terminal(request, OAUTH_PAGE_DOOR))
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
