"""The audit trail in the back office: the list and the user page's panel."""

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from accounts.admin.base import RECENT, changelist_url
from accounts.admin.sessions import sign_ins_hidden
from accounts.models import AuditEvent, User
from accounts.user_page import UserPanel, audit_rows, user_panel_register
from accountsite.admin import ReadOnlyAdmin, operator_may
from accountsite.audit import AuditAction
from accountsite.policy import Op


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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return sign_ins_hidden(request, super().get_queryset(request))

    @admin.display(description="action", ordering="action")
    def action_display(self, event: AuditEvent) -> str:
        return event.action_label

    @admin.display(description="before → after")
    def change_display(self, event: AuditEvent) -> str:
        change = audit_rows([event])[0].change
        arrow = f"{change.before} → {change.after}" if change.before else change.after
        return "; ".join(part for part in (arrow, change.details) if part)


def audit_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not operator_may(request, Op.AUDIT_VIEW, user):
        return None
    events = sign_ins_hidden(request, AuditEvent.objects.filter(user=user)).select_related("actor")[:RECENT]
    return {"rows": audit_rows(events), "recent": RECENT,
            "history_url": reverse("admin:accounts_user_history", args=[user.pk]),
            "list_url": changelist_url(AuditEvent, user__id__exact=user.pk)}


user_panel_register(UserPanel("audit", "Last events", 60, "accounts/admin/panel_audit.html", audit_panel))
