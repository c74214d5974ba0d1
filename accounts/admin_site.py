"""The back office's site: signing in, out and changing one's password through the same services as the API,
and the dashboard on its index page.

`/admin/login/` checks credentials with accounts.browser (the API's lockouts, status rules and audit
row) and opens a session row for the browser; logging out revokes it; a password change goes through
accounts.passwords.password_change, so it ends the operator's other sign-ins and voids mailed codes.

The dashboard's charts come from the apps (each app's admin module registers its own with
`dashboard_chart_register`, as membership does for revenue): their numbers are computed at most once per
`ADMIN_DASHBOARD_CACHE_SECONDS` and kept in the shared cache, so the index page stays fast on millions
of rows; each operator sees the charts of the lists they may see.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import update_wrapper
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts.browser import (
    browser_session,
    browser_sign_in,
    browser_sign_out,
    browser_terminal,
    credentials_check,
    enrolment_authorize,
    enrolment_authorized,
    enrolment_done,
    enrolment_required,
    second_factor_begin,
    second_factor_finish,
    second_factor_passkey_options,
    second_factor_pending,
)
from accounts.models import MfaMethod, User
from accounts.services import mfa, passwords
from accountsite.admin import BoundedListMixin
from accountsite.charts import Chart, chart_svg, legend
from accountsite.errors import NotAuthenticatedError, ServiceError, TooManyRequestsError
from accountsite.requests import client_ip

ADMIN_DOOR = "admin"  # the terminal of a back-office sign-in, with the browser's id (browser_terminal)
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class AdminSignInForm(AdminAuthenticationForm):
    """Login name or e-mail and password, checked by the credential service; staff accounts only."""

    username = forms.CharField(label="Login name or e-mail", max_length=254)
    mfa_methods: list[MfaMethod] = []  # the second factors the account still has to give (set by clean)
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many failed attempts. Try again later.",
    }

    def clean(self) -> dict:
        login, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if login is not None and password:
            assert self.request is not None  # the admin's login view always passes it
            try:
                self.user_cache, self.mfa_methods = credentials_check(self.request, login=login, password=password)
            except TooManyRequestsError:
                raise ValidationError(self.error_messages["throttled"], code="throttled") from None
            except ServiceError:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminLoginView(LoginView):
    next_page = "admin:index"  # where a sign-in lands without a safe `next` (Django's default: /accounts/profile/)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        methods = cast(AdminSignInForm, form).mfa_methods
        terminal = browser_terminal(self.request, ADMIN_DOOR)
        if second_factor_begin(self.request, user=user, methods=methods, terminal=terminal):
            return HttpResponseRedirect(f"{reverse('admin:login_mfa')}?{urlencode({'next': self.get_success_url()})}")
        browser_sign_in(self.request, user=user, terminal=terminal)
        if enrolment_required(user):
            return HttpResponseRedirect(reverse("admin:mfa_enrol"))
        return HttpResponseRedirect(self.get_success_url())


class AdminPasswordChangeForm(PasswordChangeForm):
    """The operator's own password: the current one (counted like a sign-in) and the new one twice,
    checked and changed by the credential service, not by the form."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        return self.cleaned_data["old_password"]  # judged in clean(), where it counts toward the lockout

    def clean_new_password2(self) -> str:
        return self.cleaned_data["new_password2"]  # validated by the service, with the account's validators

    def clean(self) -> dict:
        self.validate_passwords("new_password1", "new_password2")
        if self.errors:
            return self.cleaned_data
        try:
            passwords.password_change(
                user=self.user, old_password=self.cleaned_data["old_password"],
                new_password=self.cleaned_data["new_password1"], ip=client_ip(self.request),
                session=browser_session(self.request), tokens=False,
            )
        except ServiceError as exc:
            # Under the field it is about: the admin's page shows no error that belongs to no field (a
            # lockout said only "Please correct the error below.").
            self.add_error("new_password2" if exc.code == 1007 else "old_password", exc.message)
        return self.cleaned_data

    def save(self, commit: bool = True) -> Any:
        return self.user  # changed in clean(), by the service


class AdminPasswordChangeView(PasswordChangeView):
    form_class = AdminPasswordChangeForm

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "request": self.request}


@dataclass(frozen=True)
class DashboardChart:
    """A chart of the dashboard: `build(now)` counts (its result is cached), `visible(request)` says whether
    the operator may see the list behind it; charts are shown by `order`."""

    key: str
    order: int
    build: Callable[[datetime], Chart]
    visible: Callable[[HttpRequest], bool]


DASHBOARD: list[DashboardChart] = []


def dashboard_chart_register(chart: DashboardChart) -> None:
    DASHBOARD[:] = sorted([*(c for c in DASHBOARD if c.key != chart.key), chart], key=lambda c: c.order)


def dashboard_chart_data(chart: DashboardChart) -> Chart:
    """The chart's numbers, from the shared cache when they were counted recently."""
    key = f"admin-dashboard:{chart.key}"
    data = cache.get(key)
    if data is None:
        data = chart.build(timezone.now())
        cache.set(key, data, settings.ADMIN_DASHBOARD_CACHE_SECONDS)
    return data


class AccountsAdminSite(admin.AdminSite):
    # The header and title are settings (ADMIN_SITE_HEADER, ADMIN_SITE_TITLE), read in each_context.
    site_url = "/"  # "View site": the API's index
    index_template = "accounts/admin/index.html"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every ModelAdmin, django-oauth-toolkit's included, is registered with accountsite.admin's
        BoundedListMixin under it: lists without facet counts, and only lookups the database takes."""
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, BoundedListMixin):
            base = type(base.__name__, (BoundedListMixin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().each_context(request), "site_header": settings.ADMIN_SITE_HEADER,
                "site_title": settings.ADMIN_SITE_TITLE}

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        charts = []
        for chart in DASHBOARD:
            if chart.visible(request):
                data = dashboard_chart_data(chart)
                charts.append({"key": chart.key, "data": data, "svg": chart_svg(data),
                               "legend": legend(data.series) if len(data.series) > 1 else ""})
        return super().index(request, {"dashboard": charts, **(extra_context or {})})

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Django's AdminSite.login, with the credential service's form and view.
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {**self.each_context(request), "title": "Log in", "subtitle": None,
                   "app_path": request.get_full_path(), "username": request.user.get_username()}
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return cast(HttpResponse, AdminLoginView.as_view(
            extra_context=context, authentication_form=AdminSignInForm,
            template_name=self.login_template or "admin/login.html")(request))

    def logout(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        if request.method == "POST":
            browser_sign_out(request)  # the session row too, not only the cookie
        return super().logout(request, extra_context)

    def get_urls(self) -> list:
        return [
            path("login/mfa/", self.login_mfa, name="login_mfa"),
            path("mfa/enrol/", self.admin_view(self.mfa_enrol), name="mfa_enrol"),
            # Before Django's own pattern for the same address, which it replaces.
            path("r/<path:content_type_id>/<path:object_id>/", self.admin_view(self.view_on_site), name="view_on_site"),
            *super().get_urls(),
        ]

    def view_on_site(self, request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
        """ "View on site" (Django's contenttypes shortcut), answering 404 for an id the model's primary key
        cannot take: Django's lookup raised ValidationError for a malformed UUID (a session's), a 500. Only
        for the lists that show the button (their ModelAdmin's `view_on_site`): a model whose
        get_absolute_url cannot work here (DOT's Application names a URL we do not serve) is a 404 too."""
        try:
            model = ContentType.objects.get_for_id(int(content_type_id)).model_class()
        except (ContentType.DoesNotExist, ValueError) as exc:
            raise Http404("No such content type.") from exc
        model_admin = self._registry.get(model) if model is not None else None
        if model_admin is None or not model_admin.view_on_site:
            raise Http404("These objects have no page on the site.")
        try:
            return contenttype_views.shortcut(request, content_type_id, object_id)
        except (ValidationError, ValueError) as exc:
            raise Http404("No such object.") from exc

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        # Staff who must enrol a second factor (STAFF_MFA_REQUIRED) see nothing else until they have.
        inner = super().admin_view(view, cacheable)

        def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if view.__name__ not in ("mfa_enrol", "logout") and enrolment_required(request.user):
                return HttpResponseRedirect(reverse("admin:mfa_enrol", current_app=self.name))
            return inner(request, *args, **kwargs)

        return cast(_View, update_wrapper(gate, inner))

    @method_decorator([never_cache, csrf_protect])
    def login_mfa(self, request: HttpRequest) -> HttpResponse:
        """The admin login's second step, for accounts with a second factor."""
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = ""
        if not second_factor_pending(request):
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        error = ""
        if request.method == "POST":
            try:
                second_factor_finish(request, code=request.POST.get("code", ""),
                                     webauthn=request.POST.get("webauthn", ""))
            except TooManyRequestsError:
                error = "Too many failed attempts. Try again later."
            except NotAuthenticatedError:  # expired: start again with the password
                return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
            except ServiceError:
                error = "This code is wrong or was already used."
            else:
                return HttpResponseRedirect(next_url or reverse("admin:index", current_app=self.name))
        context = {**self.each_context(request), "title": "Second factor", "error": error, "next": next_url,
                   "webauthn_options": second_factor_passkey_options(request)}
        return TemplateResponse(request, "accounts/admin/login_mfa.html", context, status=400 if error else 200)

    def mfa_enrol(self, request: HttpRequest) -> HttpResponse:
        """Enrolling an authenticator app, for staff signed in without a second factor (STAFF_MFA_REQUIRED):
        every other back-office page sends them here (admin_view). The password comes first, as through the
        API (accounts.browser.enrolment_authorize); then the secret, and the code that confirms it."""
        user = cast(User, request.user)
        if not enrolment_required(user):  # a factor already, or none asked for: nothing to do here
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context: dict[str, Any] = {**self.each_context(request), "title": "Turn on a second factor"}
        authorized = enrolment_authorized(request)
        if request.method == "POST":
            try:
                if not authorized:
                    enrolment_authorize(request, user=user, password=request.POST.get("password", ""))
                    authorized = True
                else:
                    context["recovery_codes"] = mfa.totp_confirm(user=user, code=request.POST.get("code", ""),
                                                                 ip=client_ip(request))
                    enrolment_done(request)
                    return TemplateResponse(request, "accounts/admin/mfa_enrol.html", context)
            except ServiceError as exc:
                context["error"] = exc.message
        if authorized:
            enrolment = (mfa.totp_enrolment_pending(user=user) if "error" in context else None) or (
                mfa.totp_enrol_start(user=user))
            context.update(qr_svg=mark_safe(enrolment.qr_svg), secret=enrolment.secret)  # noqa: S308 (segno's SVG)
        return TemplateResponse(request, "accounts/admin/mfa_enrol.html", context)

    # django-stubs promise a TemplateResponse, but the admin's own view answers a redirect after a change too.
    def password_change(  # type: ignore[override]
            self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponseBase:
        request.current_app = self.name
        return AdminPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
