"""Back office for quotas: every user's limits and use, filtered by how close they are to the limit.

Edits go through quotas.services like the API's, and a refused change shows the rule's message.
"""

from typing import Any

from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest

from accounts.selectors import signed_in
from accountsite.admin import ServiceAdminMixin, operator_may
from accountsite.policy import Op
from quotas import services
from quotas.models import UNLIMITED, Quota


class UsageFilter(admin.SimpleListFilter):
    title = "use against limit"
    parameter_name = "usage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("over", "over the limit"), ("near", "90% or more used"), ("unlimited", "unlimited")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        limited = queryset.exclude(quota=UNLIMITED)
        if self.value() == "over":
            return limited.filter(use__gt=F("quota"))
        if self.value() == "near":
            return limited.filter(use__gt=0, use__gte=F("quota") * 9 / 10)
        if self.value() == "unlimited":
            return queryset.filter(quota=UNLIMITED)
        return queryset


@admin.register(Quota)
class QuotaAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["user", "kind", "quota", "use", "day", "updated_at"]
    list_filter = [UsageFilter, "kind"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["use", "day", "updated_at"]

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.QUOTA_MANAGE)

    def get_readonly_fields(self, request: HttpRequest, obj: Quota | None = None) -> list[str]:
        # Use moves only with real work (or a recount); the holder and kind of a row never change.
        return [*self.readonly_fields, "user", "kind"] if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Quota | None = None) -> bool:
        return False  # without its row a user could spend nothing; limits are set to 0 instead

    def save_model(self, request: HttpRequest, obj: Quota, form: Any, change: bool) -> None:
        if change:
            self.run_service(request, lambda: services.quota_limits_set(
                user=obj.user, limits={obj.kind: obj.quota}, actor=signed_in(request)))
        else:
            self.run_service(request, lambda: services.quota_record_create(
                user=obj.user, kinds=(obj.kind,), limits={obj.kind: obj.quota}, actor=signed_in(request)))
            obj.pk = Quota.objects.filter(user=obj.user, kind=obj.kind).values_list("pk", flat=True).first()
