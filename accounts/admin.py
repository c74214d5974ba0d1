"""The operators' back office for accounts: users (the whole account on one page, and its history),
sessions and the audit trail, and the dashboard's charts about them.

Every change goes through the same services as the API, and every action and edit asks the same policy
(accountsite.policy): an operator may act on another account only with the Django permission the
operation names, and on an administrator's account only as a superuser.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as StockGroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Case, Count, F, Q, QuerySet, When
from django.db.models.functions import TruncDate, TruncHour
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from accounts.admin_site import DashboardChart, dashboard_chart_register
from accounts.models import AuditEvent, Passkey, RevokeReason, Session, User, UserStatus
from accounts.permissions import authorize_fields
from accounts.plans import plans
from accounts.selectors import live_sessions_of, signed_in
from accounts.services import mfa, passwords, sessions, users
from accounts.user_page import UserPanel, audit_rows, user_panel_register, user_panels
from accountsite.admin import (
    EstimatedCountPaginator,
    ServiceAdminMixin,
    WordedConstraintsMixin,
    may_view,
    operator,
    operator_may,
)
from accountsite.audit import AuditAction
from accountsite.charts import Bar, Chart
from accountsite.policy import Op
from accountsite.requests import client_ip

RECENT = 20  # rows of each kind the user page shows; the rest are a link away
HISTORY_PAGE = 100


def changelist_url(model: type[models.Model], **query: Any) -> str:
    """The back-office list of `model`, filtered by `query` (the list's own filter parameters)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


class UserTypeFilter(admin.SimpleListFilter):
    title = "userType"
    parameter_name = "user_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(user_type), f"{user_type} {name}") for user_type, name in plans().tier_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value not in {choice for choice, _label in self.lookup_choices}:
            raise IncorrectLookupParameters(f"userType: no tier {value!r}")  # the list shows its error (?e=1)
        return queryset.filter(User.with_tier(int(value), timezone.now()))


def _status_action(status: int, verb: str, description: str, op: Op = Op.STATUS_SET):
    def action(modeladmin: "UserAdmin", request: HttpRequest, queryset: QuerySet) -> None:
        allowed = modeladmin.for_each_allowed(request, op, queryset)
        for user in allowed:
            users.user_status_set(user=user, status=status, actor=signed_in(request), reason=f"admin_{verb}")
        modeladmin.message_user(request, f"{verb}: {len(allowed)} user(s).", messages.SUCCESS)

    action.__name__ = f"{verb}_users"
    return admin.action(description=description, permissions=["change_status"])(action)


# Which operation an edit of each field of the change form needs (the rest are profile fields).
FORM_FIELDS = {"status": Op.STATUS_SET, "username": Op.USER_UPDATE, "email": Op.USER_UPDATE,
               "email_verified": Op.USER_UPDATE}


@admin.register(User)
class UserAdmin(WordedConstraintsMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("username", "email", "nickname", "real_name", "status", "role_display", "user_type_in_force",
                    "is_developer", "registered_at", "last_login")
    list_filter = ("status", "is_staff", UserTypeFilter, "is_developer", "registered_at")
    search_fields = ("username", "email", "nickname", "real_name")
    # Millions of rows: the list is ordered by the primary key, counted by estimate when unfiltered
    # (EstimatedCountPaginator), and never counted twice; each filter has an index (accounts.models).
    ordering = ("id",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "accounts/admin/user_change_form.html"
    constraint_words = {
        "accounts_user_username_ci_unique": "Another account already has this login name (login names are "
                                            "unique whatever their case).",
        "accounts_user_email_ci_unique": "Another account already has this e-mail address.",
        "accounts_user_status_valid": "Choose one of the statuses listed.",
        "accounts_user_email_null_not_blank": "Enter an e-mail address, or leave the field empty.",
    }
    # The password (even its hash) is never shown; operators send a reset e-mail instead.
    fields = ("username", "email", "email_verified", "nickname", "real_name", "intro", "github", "school",
              "website", "status", "is_staff", "is_superuser", "is_developer", "registered_at", "last_login",
              "status_changed_at", "password_changed_at")
    # The role moves the tier too, so it changes only through the actions (the same service as the API);
    # developer mode belongs to its user.
    readonly_fields = ("is_staff", "is_superuser", "is_developer", "registered_at", "last_login",
                       "status_changed_at", "password_changed_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [
        _status_action(UserStatus.ACTIVE, "activate", "Activate (status 2)"),
        _status_action(UserStatus.FROZEN, "freeze", "Freeze (status 5) and end their sessions"),
        _status_action(UserStatus.INVALID, "invalidate", "Invalidate (status 3) and end their sessions"),
        "restore_users", "delete_users", "revoke_sessions", "send_password_reset", "make_admin", "make_common",
        "reset_mfa",
    ]

    @admin.display(description="role", ordering="is_staff")
    def role_display(self, user: User) -> str:
        return user.role

    @admin.display(description="userType", ordering="user_type")
    def user_type_in_force(self, user: User) -> int:
        return user.tier_at(timezone.now())[0]

    # What the actions need (accountsite.policy): Django calls has_<name>_permission for each.
    def has_change_status_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.STATUS_SET)

    def has_revoke_sessions_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.SESSIONS)

    def has_send_reset_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.PASSWORD_SET)

    def has_change_role_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.ROLE_SET)

    def has_reset_mfa_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.MFA_RESET)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created through the API or createsuperuser, which open membership and quotas

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # An administrator's record is a superuser's to edit; others see it read-only.
        return super().has_change_permission(request, obj) and (
            obj is None or operator_may(request, Op.PROFILE_UPDATE, obj))

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deletion is soft (status 7): use the "Delete" action

    def get_urls(self) -> list[URLPattern]:
        revoke = path("<path:object_id>/sessions/<uuid:session_id>/revoke/",
                      self.admin_site.admin_view(self.session_revoke_view), name="accounts_user_session_revoke")
        return [revoke, *super().get_urls()]

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: User | None = None) -> HttpResponse:
        # The whole account under the form: each panel that this operator may see (accounts.user_page).
        context["account_panels"] = user_panels(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def session_revoke_view(self, request: HttpRequest, object_id: str, session_id: Any) -> HttpResponseBase:
        """Ends one of the user's sessions from the user page (POST), as the Sessions list's action does."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        user = self.get_object(request, unquote(object_id))
        if user is None or not self.has_view_or_change_permission(request, user):
            raise PermissionDenied
        page = reverse("admin:accounts_user_change", args=[user.pk]) + "#panel-sessions"
        session = Session.objects.filter(user=user, pk=session_id, revoked_at__isnull=True).first()
        if session is None:
            self.message_user(request, "That session has already ended.", messages.WARNING)
            return HttpResponseRedirect(page)
        session.user = user
        for allowed in self.for_each_allowed(request, Op.SESSIONS, [session], account=lambda s: s.user):
            if sessions.session_revoke(session=allowed, reason=RevokeReason.ADMIN, actor=signed_in(request)):
                self.message_user(request, f"Ended {user}'s session on {allowed.terminal}.", messages.SUCCESS)
        return HttpResponseRedirect(page)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        """The account's audit trail, newest first: who did what, the value before and after, from where."""
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404("No such user.")
        if not self.has_view_or_change_permission(request, user):
            raise PermissionDenied
        may_read = operator_may(request, Op.AUDIT_VIEW, user)
        events = AuditEvent.objects.filter(user=user).select_related("actor") if may_read else AuditEvent.objects.none()
        page = Paginator(events, HISTORY_PAGE).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"History of {user}", "subtitle": None, "object": user, "opts": self.opts,
            "module_name": str(self.opts.verbose_name_plural), "may_read": may_read, "page": page,
            "rows": audit_rows(page.object_list), "audit_list": changelist_url(AuditEvent, user__id__exact=user.pk),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "accounts/admin/user_history.html", context)

    def get_fields(self, request: HttpRequest, obj: User | None = None) -> tuple:
        # Group membership grants operator powers: only superusers assign it.
        return (*self.fields, "groups") if request.user.is_superuser else self.fields

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "groups"}
        current = User.objects.get(pk=obj.pk)

        def edit() -> None:
            authorize_fields(operator(request), changes, None, target=current, fields=FORM_FIELDS)
            users.user_admin_update(user=current, actor=signed_in(request), ip=client_ip(request), **changes)

        self.run_service(request, edit)
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if not self.refused(request):
            super().save_related(request, form, formsets, change)

    @admin.action(description="Restore deleted users (status 2)", permissions=["change_status"])
    def restore_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        deleted = self.for_each_allowed(request, Op.STATUS_SET, queryset.filter(status=UserStatus.DELETED))
        for user in deleted:
            users.user_status_set(user=user, status=UserStatus.ACTIVE, actor=signed_in(request), reason="admin_restore")
        self.message_user(request, f"restore: {len(deleted)} deleted user(s).", messages.SUCCESS)

    def _role_set(self, request: HttpRequest, queryset: QuerySet, role: str) -> None:
        allowed = self.for_each_allowed(request, Op.ROLE_SET, queryset)
        for user in allowed:
            users.user_admin_update(user=user, actor=signed_in(request), role=role, ip=client_ip(request))
        self.message_user(request, f"{role} role: {len(allowed)} user(s).", messages.SUCCESS)

    @admin.action(description="Give the admin role (and the admin tier)", permissions=["change_role"])
    def make_admin(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._role_set(request, queryset, "admin")

    @admin.action(description="Give the common role (and tier 1)", permissions=["change_role"])
    def make_common(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._role_set(request, queryset, "common")

    @admin.action(description="Delete (status 7, soft) and end their sessions", permissions=["change_status"])
    def delete_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.ACCOUNT_DELETE, queryset)
        for user in allowed:
            users.user_delete(user=user, actor=signed_in(request))
        self.message_user(request, f"deleted: {len(allowed)} user(s).", messages.SUCCESS)

    @admin.action(description="End all their sessions", permissions=["revoke_sessions"])
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.SESSIONS, queryset)
        ended = sum(sessions.user_credentials_revoke(user=user, reason=RevokeReason.ADMIN, actor=signed_in(request))
                    for user in allowed)
        self.message_user(request, f"{ended} session(s) ended.", messages.SUCCESS)

    @admin.action(description="Send a password reset e-mail", permissions=["send_reset"])
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.PASSWORD_SET, queryset.filter(email__isnull=False))
        for user in allowed:
            passwords.password_reset_send(user=user)
        self.message_user(request, f"reset e-mail sent to {len(allowed)} user(s) with an address.", messages.SUCCESS)

    @admin.action(description="Turn off second factors (authenticator app, passkeys, recovery codes)",
                  permissions=["reset_mfa"])
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.MFA_RESET, queryset)
        reset = sum(mfa.mfa_reset(user=user, actor=signed_in(request)) for user in allowed)
        self.message_user(request, f"second factors turned off for {reset} user(s).", messages.SUCCESS)


# Django's own Group admin (registered when django.contrib.auth.admin is imported, above) let anyone with
# `auth.change_group` give their own group every permission.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(StockGroupAdmin):
    """Staff groups: read with `auth.view_group`; added, changed and deleted by superusers only (a group's
    permissions are its members' powers, as its membership is: see UserAdmin.get_fields)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.GROUP_MANAGE)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return operator_may(request, Op.GROUP_MANAGE)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return operator_may(request, Op.GROUP_MANAGE)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("live", "live"), ("ended", "ended or expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        live = Q(revoked_at__isnull=True, expires_at__gt=timezone.now())
        if self.value() == "live":
            return queryset.filter(live)
        if self.value() == "ended":
            return queryset.exclude(live)
        return queryset


class _AnAdministrator:
    """Stands for "some other staff or superuser account" when asking the policy about a whole list."""

    pk = None
    is_admin = True


def may_see_sessions_of(request: HttpRequest, user: User) -> bool:
    """An administrator's sessions (where and how they sign in) are shown only to operators the policy lets
    manage them (Op.SESSIONS is protected: superusers, and the administrator themselves), as the API refuses
    listing them; an ordinary account's to whoever may view sessions."""
    return may_view(request, Session) and (not user.is_admin or operator_may(request, Op.SESSIONS, user))


@admin.register(Session)
class SessionAdmin(ServiceAdminMixin, ReadOnlyAdmin):
    list_display = ("user", "terminal", "created_at", "last_seen_at", "ip", "user_agent", "revoked_at",
                    "revoke_reason")
    list_filter = (SessionStateFilter, "revoke_reason", "created_at", "last_seen_at")
    search_fields = ("user__username", "terminal", "ip")
    list_select_related = ("user",)
    # The refresh token id is a credential-in-waiting: not shown.
    exclude = ("refresh_jti",)
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Without the power over administrators' sessions (may_see_sessions_of), theirs are not listed, nor
        # opened one by one; the operator's own are.
        queryset = super().get_queryset(request)
        if operator_may(request, Op.SESSIONS, _AnAdministrator()):
            return queryset
        others = User.objects.filter(Q(is_staff=True) | Q(is_superuser=True)).exclude(pk=signed_in(request).pk)
        return queryset.exclude(user__in=others)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.SESSIONS)

    @admin.action(description="Revoke the selected sessions", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.SESSIONS, queryset.select_related("user"),
                                        account=lambda session: session.user)
        ended = sum(sessions.session_revoke(session=session, reason=RevokeReason.ADMIN, actor=signed_in(request))
                    for session in allowed)
        self.message_user(request, f"{ended} session(s) revoked.", messages.SUCCESS)


class AuditActionFilter(admin.SimpleListFilter):
    """The audit actions by their labels (accountsite.audit.AuditAction)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return sorted(AuditAction.choices, key=lambda choice: choice[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action_display", "user", "actor", "change_display", "ip")
    list_filter = (AuditActionFilter, "created_at")
    search_fields = ("user__username", "actor__username", "action")
    list_select_related = ("user", "actor")

    @admin.display(description="action", ordering="action")
    def action_display(self, event: AuditEvent) -> str:
        return event.action_label

    @admin.display(description="before → after")
    def change_display(self, event: AuditEvent) -> str:
        change = audit_rows([event])[0].change
        arrow = f"{change.before} → {change.after}" if change.before else change.after
        return "; ".join(part for part in (arrow, change.details) if part)


# --- The user page: the account's sessions and audit trail (accounts.user_page) ----------------------------

def sessions_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not may_see_sessions_of(request, user):
        return None
    return {"sessions": list(live_sessions_of(user)), "may_revoke": operator_may(request, Op.SESSIONS, user),
            "user_obj": user, "list_url": changelist_url(Session, user__id__exact=user.pk, state="live")}


def audit_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not operator_may(request, Op.AUDIT_VIEW, user):
        return None
    events = AuditEvent.objects.filter(user=user).select_related("actor")[:RECENT]
    return {"rows": audit_rows(events), "recent": RECENT,
            "history_url": reverse("admin:accounts_user_history", args=[user.pk]),
            "list_url": changelist_url(AuditEvent, user__id__exact=user.pk)}


def mfa_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    """Whether the account has second factors, never a secret."""
    if not operator_may(request, Op.USER_VIEW, user):
        return None
    return {"summary": mfa.mfa_summary(user), "passkeys": list(Passkey.objects.filter(user=user)),
            "may_reset": operator_may(request, Op.MFA_RESET, user)}


user_panel_register(UserPanel("mfa", "Second factors", 35, "accounts/admin/panel_mfa.html", mfa_panel))
user_panel_register(UserPanel("sessions", "Signed in", 40, "accounts/admin/panel_sessions.html", sessions_panel))
user_panel_register(UserPanel("audit", "Last events", 60, "accounts/admin/panel_audit.html", audit_panel))


# --- The dashboard (accounts.admin_site) ------------------------------------------------------------------

DAYS, HOURS = 30, 24


def local_days(now: datetime, count: int) -> list[datetime]:
    """The starts (local midnight) of the last `count` days, today last."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=count - 1 - n) for n in range(count)]


def local_hours(now: datetime, count: int) -> list[datetime]:
    """The starts of the last `count` hours, the current one last."""
    hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    return [hour - timedelta(hours=count - 1 - n) for n in range(count)]


def period(field: str, start: datetime, length: timedelta) -> dict[str, str]:
    """A list filter for [start, start + length) on a date-time field, as the lists' date filters write it."""
    return {f"{field}__gte": str(start), f"{field}__lt": str(start + length)}


def signups_chart(now: datetime) -> Chart:
    days = local_days(now, DAYS)
    counts = dict(User.objects.filter(registered_at__gte=days[0])
                  .annotate(day=TruncDate("registered_at", tzinfo=timezone.get_current_timezone()))
                  .values_list("day").annotate(n=Count("id")).values_list("day", "n"))
    bars = tuple(Bar(f"{day:%m-%d}", (counts.get(day.date(), 0),), title=f"{day:%Y-%m-%d}",
                     href=changelist_url(User, **period("registered_at", day, timedelta(days=1)))) for day in days)
    return Chart("Sign-ups per day", changelist_url(User, **period("registered_at", days[0], timedelta(days=DAYS))),
                 ("sign-ups",), bars, summary=f"{sum(counts.values())} in {DAYS} days")


def sessions_chart(now: datetime) -> Chart:
    hours = local_hours(now, HOURS)
    live = Session.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    counts = dict(live.filter(last_seen_at__gte=hours[0])
                  .annotate(hour=TruncHour("last_seen_at", tzinfo=timezone.get_current_timezone()))
                  .values_list("hour").annotate(n=Count("id")).values_list("hour", "n"))
    bars = tuple(Bar(f"{hour:%H}h", (counts.get(hour, 0),), title=f"last seen {hour:%Y-%m-%d %H}:00",
                     href=changelist_url(Session, state="live", **period("last_seen_at", hour, timedelta(hours=1))))
                 for hour in hours)
    return Chart("Active sessions, by last use", changelist_url(Session, state="live"), ("live sessions",), bars,
                 summary=f"{live.count()} live, {sum(counts.values())} used in {HOURS} h")


def tiers_chart(now: datetime) -> Chart:
    in_force = Case(When(invalid_at__lte=now, then=F("user_type_after")), default=F("user_type"))
    counts = dict(User.objects.annotate(tier=in_force).values_list("tier").annotate(n=Count("*"))
                  .values_list("tier", "n").order_by())
    bars = tuple(Bar(name, (counts.get(user_type, 0),), title=f"{name} (userType {user_type})",
                     href=changelist_url(User, user_type=user_type)) for user_type, name in plans().tier_choices())
    return Chart("Users per tier", changelist_url(User), ("users",), bars, summary=f"{sum(counts.values())} users")


SIGN_IN_FAILURES = (AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT)


def failures_chart(now: datetime) -> Chart:
    hours = local_hours(now, HOURS)
    rows = (AuditEvent.objects.filter(action__in=SIGN_IN_FAILURES, created_at__gte=hours[0])
            .annotate(hour=TruncHour("created_at", tzinfo=timezone.get_current_timezone()))
            .values_list("hour", "action").annotate(n=Count("id")).order_by())
    failed: dict[datetime, int] = {}
    lockouts: dict[datetime, int] = {}
    for hour, action, n in rows:
        failed[hour] = failed.get(hour, 0) + n  # a lockout row is a failed sign-in too
        if action == AuditAction.LOGIN_LOCKOUT:
            lockouts[hour] = n

    def audit_list(start: datetime, length: timedelta) -> str:
        return changelist_url(AuditEvent, action__in=",".join(SIGN_IN_FAILURES), **period("created_at", start, length))

    bars = tuple(Bar(f"{hour:%H}h", (failed.get(hour, 0), lockouts.get(hour, 0)), title=f"{hour:%Y-%m-%d %H}:00",
                     href=audit_list(hour, timedelta(hours=1))) for hour in hours)
    return Chart("Failed sign-ins and lockouts per hour", audit_list(hours[0], timedelta(hours=HOURS)),
                 ("failed sign-ins", "lockouts"), bars,
                 summary=f"{sum(failed.values())} failed, {sum(lockouts.values())} lockouts in {HOURS} h")


dashboard_chart_register(DashboardChart("signups", 10, signups_chart, lambda request: may_view(request, User)))
dashboard_chart_register(DashboardChart("sessions", 20, sessions_chart, lambda request: may_view(request, Session)))
dashboard_chart_register(DashboardChart("tiers", 40, tiers_chart, lambda request: may_view(request, User)))
dashboard_chart_register(DashboardChart("sign-in-failures", 60, failures_chart,
                                        lambda request: may_view(request, AuditEvent)))
