"""The operators' back office for accounts: users, sessions and the audit trail.

Every change goes through the same services as the API, and every action and edit asks the same policy
(accountsite.policy): an operator may act on another account only with the Django permission the
operation names, and on an administrator's account only as a superuser.
"""

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEvent, RevokeReason, Session, User, UserStatus
from accounts.permissions import authorize_fields
from accounts.plans import plans
from accounts.selectors import signed_in
from accounts.services import passwords, sessions, users
from accountsite.admin import ServiceAdminMixin, operator, operator_may
from accountsite.policy import Op
from accountsite.requests import client_ip


class UserTypeFilter(admin.SimpleListFilter):
    title = "userType"
    parameter_name = "user_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(user_type), f"{user_type} {name}") for user_type, name in plans().tier_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(User.with_tier(int(value), timezone.now())) if value else queryset


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
class UserAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("username", "email", "nickname", "real_name", "status", "role_display", "user_type_in_force",
                    "is_developer", "registered_at", "last_login")
    list_filter = ("status", "is_staff", UserTypeFilter, "is_developer", "registered_at")
    search_fields = ("username", "email", "nickname", "real_name")
    ordering = ("id",)
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created through the API or createsuperuser, which open membership and quotas

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # An administrator's record is a superuser's to edit; others see it read-only.
        return super().has_change_permission(request, obj) and (
            obj is None or operator_may(request, Op.PROFILE_UPDATE, obj))

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deletion is soft (status 7): use the "Delete" action

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
        ended = sum(sessions.user_credentials_revoke(user=user, reason=RevokeReason.ADMIN) for user in allowed)
        self.message_user(request, f"{ended} session(s) ended.", messages.SUCCESS)

    @admin.action(description="Send a password reset e-mail", permissions=["send_reset"])
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.PASSWORD_SET, queryset.filter(email__isnull=False))
        for user in allowed:
            passwords.password_reset_send(user=user)
        self.message_user(request, f"reset e-mail sent to {len(allowed)} user(s) with an address.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(ServiceAdminMixin, ReadOnlyAdmin):
    list_display = ("user", "terminal", "created_at", "last_seen_at", "ip", "revoked_at", "revoke_reason")
    list_filter = ("revoke_reason", "created_at")
    search_fields = ("user__username", "terminal", "ip")
    list_select_related = ("user",)
    # The refresh token id is a credential-in-waiting: not shown.
    exclude = ("refresh_jti",)
    actions = ["revoke"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.SESSIONS)

    @admin.action(description="Revoke the selected sessions", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.SESSIONS, queryset.select_related("user"),
                                        account=lambda session: session.user)
        ended = sum(sessions.session_revoke(session=session, reason=RevokeReason.ADMIN) for session in allowed)
        self.message_user(request, f"{ended} session(s) revoked.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "user", "actor", "ip")
    list_filter = ("action", "created_at")
    search_fields = ("user__username", "actor__username", "action")
    list_select_related = ("user", "actor")
