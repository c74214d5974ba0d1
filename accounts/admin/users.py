"""Users in the back office: the list, its filters and actions, and the whole account on one page (its
panels, accounts.user_page), with its history."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
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

from accounts.admin.base import HISTORY_PAGE, changelist_url
from accounts.admin.sessions import sign_ins_hidden
from accounts.models import AuditEvent, Passkey, RevokeReason, Role, Session, User, UserStatus
from accounts.permissions import authorize_fields
from accounts.plans import plans
from accounts.selectors import signed_in
from accounts.services import mfa, passwords, sessions, users
from accounts.user_page import UserPanel, audit_rows, user_panel_register, user_panels
from accountsite.admin import EstimatedCountPaginator, ServiceAdminMixin, WordedConstraintsMixin, operator, operator_may
from accountsite.policy import Op
from accountsite.requests import client_ip


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


def _status_action(status: int, verb: str, description: str):
    """An action moving the selected accounts to `status`. Deleted accounts among them are left as they are: only
    "Restore" brings one back, so that no other action undeletes an account in passing."""
    def action(modeladmin: "UserAdmin", request: HttpRequest, queryset: QuerySet) -> None:
        allowed = modeladmin.for_each_allowed(request, Op.STATUS_SET, queryset.exclude(status=UserStatus.DELETED))
        for user in allowed:
            users.user_status_set(user=user, status=status, actor=signed_in(request), reason=f"admin_{verb}")
        modeladmin.message_user(request, f"{verb}: {len(allowed)} user(s).", messages.SUCCESS)
        if deleted := queryset.filter(status=UserStatus.DELETED).count():
            modeladmin.message_user(request, f"{deleted} deleted user(s) left as they are: restore them first.",
                                    messages.WARNING)

    action.__name__ = f"{verb}_users"
    return admin.action(description=description, permissions=["change_status"])(action)


# Which operation an edit of each field of the change form needs (the rest are profile fields).
FORM_FIELDS = {"status": Op.STATUS_SET, "username": Op.USER_UPDATE, "email": Op.EMAIL_SET,
               "email_verified": Op.EMAIL_SET}


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
        context["may_read_history"] = obj is not None and operator_may(request, Op.AUDIT_VIEW, obj)
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
        events = (sign_ins_hidden(request, AuditEvent.objects.filter(user=user)).select_related("actor") if may_read
                  else AuditEvent.objects.none())
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

    def get_form(self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and obj.is_deleted and "status" in form.base_fields:
            # As the list's actions: a deleted account comes back only as Restore brings it (status 2), never
            # frozen, invalid or inactive in passing. A class made for this call by modelform_factory.
            field = form.base_fields["status"]
            field.choices = [(value, label) for value, label in field.choices
                             if value in (UserStatus.DELETED, UserStatus.ACTIVE)]
        return form

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
        # The form's one relation is the staff groups (a superuser's field): set by the service, with its row.
        if not self.refused(request) and "groups" in form.changed_data:
            self.run_service(request, partial(users.user_groups_set, user=form.instance,
                                              groups=form.cleaned_data["groups"], actor=signed_in(request),
                                              ip=client_ip(request)))

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
        self._role_set(request, queryset, Role.ADMIN)

    @admin.action(description="Give the common role (and tier 1)", permissions=["change_role"])
    def make_common(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._role_set(request, queryset, Role.COMMON)

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
        allowed = self.for_each_allowed(request, Op.PASSWORD_SET, queryset)
        sent = sum(passwords.password_reset_send(user=user) for user in allowed)
        self.message_user(request, f"reset e-mail sent to {sent} user(s): active accounts with an address.",
                          messages.SUCCESS)

    @admin.action(description="Turn off second factors (authenticator app, passkeys, recovery codes)",
                  permissions=["reset_mfa"])
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.MFA_RESET, queryset)
        reset = sum(mfa.mfa_reset(user=user, actor=signed_in(request)) for user in allowed)
        self.message_user(request, f"second factors turned off for {reset} user(s).", messages.SUCCESS)


def mfa_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    """Whether the account has second factors, never a secret."""
    if not operator_may(request, Op.USER_VIEW, user):
        return None
    return {"summary": mfa.mfa_summary(user), "passkeys": list(Passkey.objects.filter(user=user)),
            "may_reset": operator_may(request, Op.MFA_RESET, user)}


user_panel_register(UserPanel("mfa", "Second factors", 35, "accounts/admin/panel_mfa.html", mfa_panel))
