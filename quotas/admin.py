"""Back office for quotas: every user's limits and use, filtered by how close they are to the limit, the
quotas on the user page, and the dashboard's chart of users near their limits.

Edits go through quotas.services like the API's, and a refused change shows the rule's message. Storage
is shown and typed in human units ("200M").
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.admin.base import changelist_url
from accounts.admin_site import DashboardChart, dashboard_chart_register
from accounts.models import User
from accounts.selectors import signed_in
from accounts.user_page import AuditChange, UserPanel, audit_describer_register, details_text, user_panel_register
from accountsite import policy
from accountsite.admin import (
    ServiceAdminMixin,
    WordedConstraintsForm,
    WordedConstraintsMixin,
    may_view,
    operator,
    operator_may,
)
from accountsite.audit import AuditAction
from accountsite.charts import Bar, Chart
from accountsite.policy import ANOTHER_ACCOUNT, Op
from quotas import selectors, services
from quotas.forms import SizeField
from quotas.models import UNLIMITED, Quota, QuotaKind
from quotas.units import BIGINT_MAX, size_label


class UsageFilter(admin.SimpleListFilter):
    title = "use against limit"
    parameter_name = "usage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("over", "over the limit"), ("near", "90% or more used"), ("unlimited", "unlimited")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "over":
            return selectors.near_limit(queryset, now).filter(selectors.NEAR_OVER)
        if self.value() == "near":
            return selectors.near_limit(queryset, now)
        if self.value() == "unlimited":
            return selectors.unlimited(queryset, now)
        return queryset


class QuotaForm(WordedConstraintsForm):
    """The limit in the unit of its kind: a size for storage ("200M"), a count for the others. It shows the
    limit in force (after a paid period, its fallback), which a save leaves alone unless it was changed."""

    quota = forms.CharField(label="limit", max_length=40,
                            help_text="Storage: a size such as 200M or 1.5G (binary units) or bytes; other "
                                      "kinds: a number. -1 is unlimited.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "quota" in self.fields:
            # As text, as the field posts it back: a number compared with its text reads as a change.
            self.initial["quota"] = str(self.limit_field().prepare_value(self.instance.limit))

    def limit_field(self) -> forms.Field:
        kind = self.cleaned_data.get("kind") if hasattr(self, "cleaned_data") else None
        if (kind or self.instance.kind) == QuotaKind.DEPOSIT:
            return SizeField()
        return forms.IntegerField(min_value=UNLIMITED, max_value=BIGINT_MAX)

    def clean_quota(self) -> int:
        try:
            return self.limit_field().clean(self.cleaned_data["quota"])
        except ValidationError as error:
            raise ValidationError(error.messages) from None


@admin.register(Quota)
class QuotaAdmin(WordedConstraintsMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = QuotaForm
    list_display = ["user", "kind", "limit_display", "use_display", "day", "updated_at"]
    list_filter = [UsageFilter, "kind"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    fields = ["user", "kind", "quota", "use_display", "quota_until", "fallback_display", "day", "updated_at"]
    readonly_fields = ["use_display", "quota_until", "fallback_display", "day", "updated_at"]
    constraint_words = {
        "quota_one_per_user_and_kind": "This user already has a record of this kind.",
        "quota_kind_valid": "Choose one of the kinds listed.",
        "quota_use_not_negative": "Use cannot be below 0.",
        "quota_limit_valid": "A limit is 0 or more, or -1 for unlimited.",
        "quota_fallback_valid": "The limit after the paid period is 0 or more, or -1 for unlimited.",
    }

    # What the API and the user page read, and the "use against limit" filter compares: the limit in force (a
    # lapsed paid period's fallback) and, for pulls, today's use.
    @admin.display(description="limit", ordering="quota")
    def limit_display(self, quota: Quota) -> str:
        return quota.amount_label(quota.limit)

    @admin.display(description="use", ordering="use")
    def use_display(self, quota: Quota) -> str:
        return quota.amount_label(selectors.use_at(quota, timezone.now()))

    @admin.display(description="limit after the paid period")
    def fallback_display(self, quota: Quota) -> str:
        return "" if quota.fallback_quota is None else quota.amount_label(quota.fallback_quota)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.QUOTA_MANAGE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.QUOTA_CREATE)

    def has_change_permission(self, request: HttpRequest, obj: Quota | None = None) -> bool:
        # An administrator's quotas are a superuser's to change, as through the API; others see them read-only.
        return operator_may(request, Op.QUOTA_MANAGE, ANOTHER_ACCOUNT if obj is None else obj.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Quota | None = None) -> list[str]:
        # Use moves only with real work (or a recount); the holder and kind of a row never change.
        return [*self.readonly_fields, "user", "kind"] if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Quota | None = None) -> bool:
        return False  # without its row a user could spend nothing; limits are set to 0 instead

    def save_model(self, request: HttpRequest, obj: Quota, form: Any, change: bool) -> None:
        if change:
            if "quota" not in form.changed_data:
                # Setting a limit makes it the operator's, past any paid period's end: a save that changed
                # nothing must not turn a paid tier's limit into a lasting one.
                return
            self.run_service(request, lambda: services.quota_limits_set(
                user=obj.user, limits={obj.kind: obj.quota}, actor=signed_in(request)))
        else:
            self.run_service(request, lambda: self._create(request, obj))
            obj.pk = Quota.objects.filter(user=obj.user, kind=obj.kind).values_list("pk", flat=True).first()


    def _create(self, request: HttpRequest, obj: Quota) -> None:
        # Whose record it is comes with the form: an administrator's is a superuser's to create, as in the API.
        policy.authorize(operator(request), Op.QUOTA_CREATE, obj.user)
        services.quota_record_create(user=obj.user, kinds=(obj.kind,), limits={obj.kind: obj.quota},
                                     actor=signed_in(request))


# --- The user page and the audit trail (accounts.user_page) ------------------------------------------------

KIND_ORDER = {kind: index for index, kind in enumerate(QuotaKind.values)}


def quota_state(use: int, limit: int) -> tuple[int | None, str]:
    """(percent of the limit used for the bar, capped at 100; None when unlimited) and "ok", "near", "over"."""
    if limit == UNLIMITED:
        return None, "ok"
    if use > limit:
        return 100, "over"
    percent = 100 * use // limit if limit else 0
    return percent, "near" if use and use >= limit - limit // selectors.NEAR_SHARE else "ok"


def quotas_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not operator_may(request, Op.QUOTA_READ, user):
        return None
    now = timezone.now()
    may_edit = operator_may(request, Op.QUOTA_MANAGE, user)
    rows = []
    for quota in sorted(Quota.objects.filter(user=user), key=lambda q: KIND_ORDER.get(q.kind, len(KIND_ORDER))):
        limit, use = quota.limit_at(now), selectors.use_at(quota, now)
        percent, state = quota_state(use, limit)
        rows.append({"quota": quota, "kind": "storage" if quota.kind == QuotaKind.DEPOSIT else quota.get_kind_display(),
                     "use": quota.amount_label(use), "limit": quota.amount_label(limit), "percent": percent,
                     "state": state, "until": quota.quota_until if limit == quota.quota else None,
                     "after": quota.amount_label(quota.fallback_quota) if quota.fallback_quota is not None else "",
                     "edit_url": reverse("admin:quotas_quota_change", args=[quota.pk]) if may_edit else ""})
    return {"rows": rows, "list_url": changelist_url(Quota, user__id__exact=user.pk)}


user_panel_register(UserPanel("quotas", "Quotas", 30, "quotas/admin/panel_quotas.html", quotas_panel))


def _amounts(values: Mapping[str, Any]) -> str:
    """ "storage 200 MiB, public repositories 3" from {kind: amount}."""
    parts = []
    for kind, amount in values.items():
        if kind == QuotaKind.DEPOSIT:
            parts.append(f"storage {size_label(amount) if isinstance(amount, int) else amount}")
        else:
            label = QuotaKind(kind).label if kind in QuotaKind.values else kind
            parts.append(f"{label} {'unlimited' if amount == UNLIMITED else amount}")
    return ", ".join(parts)


def describe_limits(data: Mapping[str, Any]) -> AuditChange:
    return AuditChange(after=_amounts(data.get("limits") or {}), details=details_text(data, skip=("limits",)))


def describe_use_set(data: Mapping[str, Any]) -> AuditChange:
    return AuditChange(after=_amounts(data.get("uses") or {}), details=details_text(data, skip=("uses",)))


def describe_use_add(data: Mapping[str, Any]) -> AuditChange:
    added = _amounts({data.get("kind", ""): data.get("amount")}) if "kind" in data else ""
    return AuditChange(details=f"added {added}" if added else details_text(data))


audit_describer_register([AuditAction.QUOTA_CREATE, AuditAction.QUOTA_LIMITS], describe_limits)
audit_describer_register([AuditAction.QUOTA_USE_SET], describe_use_set)
audit_describer_register([AuditAction.QUOTA_USE_ADD], describe_use_add)


# --- The dashboard (accounts.admin_site) -------------------------------------------------------------------

def near_limits_chart(now: datetime) -> Chart:
    counts: dict[str, tuple[int, int]] = {
        row["kind"]: (row["near"], row["over"])
        for row in selectors.near_limit(Quota.objects.all(), now).values("kind")
        .annotate(near=Count("id"), over=Count("id", filter=selectors.NEAR_OVER)).order_by()}
    bars = tuple(Bar("storage" if kind == QuotaKind.DEPOSIT else label, counts.get(kind, (0, 0)), title=label,
                     href=changelist_url(Quota, usage="near", kind__exact=kind)) for kind, label in QuotaKind.choices)
    near = sum(pair[0] for pair in counts.values())
    return Chart("Users at or over 90% of a quota", changelist_url(Quota, usage="near"),
                 ("at or over 90%", "over the limit"), bars, summary=f"{near} quota records at or over 90%")


dashboard_chart_register(DashboardChart("near-limits", 50, near_limits_chart, lambda request: may_view(request, Quota)))
