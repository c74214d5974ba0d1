"""The operators' back office for accounts: users, sessions and the audit trail.

Every change goes through the same services as the API: status edits and actions call
user_status_set / user_delete, so sessions end exactly as they would through the API.
"""

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import AuditEvent, Session, User, UserStatus
from membership.models import Tier


class UserTypeFilter(admin.SimpleListFilter):
    title = "userType"
    parameter_name = "user_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[int, str]]:
        return [(tier.user_type, f"{tier.user_type} {tier.name}") for tier in Tier.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(membership__tier__user_type=value) if value else queryset


def _status_action(status: int, verb: str, description: str):
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            services.user_status_set(user=user, status=status, actor=request.user, reason=f"admin_{verb}")
        modeladmin.message_user(request, f"{verb}: {queryset.count()} user(s).", messages.SUCCESS)

    action.__name__ = f"{verb}_users"
    return admin.action(description=description)(action)


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("username", "email", "nickname", "real_name", "status", "role_display", "user_type",
                    "is_developer", "registered_at", "last_login")
    list_filter = ("status", "is_staff", UserTypeFilter, "is_developer", "registered_at")
    search_fields = ("username", "email", "nickname", "real_name")
    ordering = ("id",)
    list_select_related = ("membership__tier",)
    # The password (even its hash) is never shown; operators send a reset e-mail instead.
    fields = ("username", "email", "email_verified", "nickname", "real_name", "intro", "github", "school",
              "website", "status", "is_staff", "is_superuser", "is_developer", "registered_at", "last_login",
              "status_changed_at", "password_changed_at")
    # The role moves the tier too, so it changes only through the actions (the same service as the API).
    readonly_fields = ("is_staff", "is_superuser", "registered_at", "last_login", "status_changed_at",
                       "password_changed_at")
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

    @admin.display(description="userType", ordering="membership__tier__user_type")
    def user_type(self, user: User) -> int | None:
        membership = getattr(user, "membership", None)
        return membership.tier.user_type if membership else None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created through the API or createsuperuser, which open membership and quotas

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deletion is soft (status 7): use the "Delete" action

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        if change and "status" in form.changed_data:
            new_status = obj.status
            obj.status = form.initial["status"]
            super().save_model(request, obj, form, change)
            services.user_status_set(user=obj, status=new_status, actor=request.user, reason="admin_edit")
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Restore deleted users (status 2)")
    def restore_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        deleted = list(queryset.filter(status=UserStatus.DELETED))
        for user in deleted:
            services.user_status_set(user=user, status=UserStatus.ACTIVE, actor=request.user, reason="admin_restore")
        self.message_user(request, f"restore: {len(deleted)} deleted user(s).", messages.SUCCESS)

    @admin.action(description="Give the admin role (and the admin tier)")
    def make_admin(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset.select_related("membership__tier"):
            services.user_admin_update(user=user, actor=request.user, role="admin")
        self.message_user(request, f"admin role: {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Give the common role (and tier 1)")
    def make_common(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset.select_related("membership__tier"):
            services.user_admin_update(user=user, actor=request.user, role="common")
        self.message_user(request, f"common role: {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Delete (status 7, soft) and end their sessions")
    def delete_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            services.user_delete(user=user, actor=request.user)
        self.message_user(request, f"deleted: {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="End all their sessions")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = sum(services.user_credentials_revoke(user=user, reason="admin") for user in queryset)
        self.message_user(request, f"{ended} session(s) ended.", messages.SUCCESS)

    @admin.action(description="Send a password reset e-mail")
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with_address = queryset.filter(email__isnull=False)
        for user in with_address:
            services.password_reset_send(user=user)
        self.message_user(request, f"reset e-mail sent to {with_address.count()} user(s) with an address.",
                          messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("user", "terminal", "created_at", "last_seen_at", "ip", "revoked_at", "revoke_reason")
    list_filter = ("revoke_reason", "created_at")
    search_fields = ("user__username", "terminal", "ip")
    list_select_related = ("user",)
    # The refresh token id is a credential-in-waiting: not shown.
    exclude = ("refresh_jti",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected sessions")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = sum(services.session_revoke(session=session, reason="admin") for session in queryset)
        self.message_user(request, f"{ended} session(s) revoked.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "user", "actor", "ip")
    list_filter = ("action", "created_at")
    search_fields = ("user__username", "actor__username", "action")
    list_select_related = ("user", "actor")
