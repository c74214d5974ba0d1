"""Back office for tiers, memberships, wallets and the ledger, the membership, wallet and ledger on the
user page (with its "change tier"), and the dashboard's revenue. Changes go through membership.services."""

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from accounts.admin_site import DashboardChart, dashboard_chart_register
from accounts.models import User
from accounts.selectors import signed_in
from accounts.user_page import AuditChange, UserPanel, audit_describer_register, details_text, user_panel_register
from accountsite.admin import ServiceAdminMixin, WordedConstraintsForm, WordedConstraintsMixin, may_view, operator_may
from accountsite.audit import AuditAction
from accountsite.charts import Bar, Chart
from accountsite.errors import ServiceError
from accountsite.numbers import money_parse
from accountsite.policy import Op
from membership import selectors, services
from membership.models import LedgerEntry, LedgerKind, Membership, Tier, TierType, Wallet
from membership.serializers import MAX_VALIDITY
from quotas.forms import SizeField
from quotas.units import size_label

RECENT = 20


def admin_url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


class TierForm(WordedConstraintsForm):
    deposit_bytes = SizeField(label="storage")


@admin.register(Tier)
class TierAdmin(WordedConstraintsMixin, admin.ModelAdmin):
    form = TierForm
    list_display = ["user_type", "name", "repo_public", "repo_private", "storage", "pulls_per_day", "pay_way", "fee"]
    constraint_words = {
        "tier_repo_public_valid": "A limit is 0 or more, or -1 for unlimited.",
        "tier_repo_private_valid": "A limit is 0 or more, or -1 for unlimited.",
        "tier_deposit_valid": "A size is 0 or more, or -1 for unlimited.",
        "tier_pulls_valid": "A limit is 0 or more, or -1 for unlimited.",
        "tier_fee_not_negative": "A fee is 0.00 or more.",
    }

    @admin.display(description="storage", ordering="deposit_bytes")
    def storage(self, tier: Tier) -> str:
        return size_label(tier.deposit_bytes)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # memberships point at tiers; a tier is retired by editing, not deleted

    def save_model(self, request, obj: Tier, form, change) -> None:
        changed = services.tier_save(tier=obj)  # members still at the old limits get the new ones
        if changed:
            self.message_user(request, f"{changed} quota limit(s) of members moved to the tier's new limits.")


class MembershipSaleFields(forms.Form):
    """The action bar's extra inputs, validated on their own (ActionForm's `action` choices are set per view)."""

    user_type = forms.TypedChoiceField(label="tier", required=False, coerce=int, empty_value=None, choices=())
    # No bounds here: Django drops an action whose form is invalid with only "No action selected";
    # the range is checked in the action so the operator is told what is wrong.
    validity = forms.IntegerField(label="years", initial=1, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tiers = cast(forms.TypedChoiceField, self.fields["user_type"])
        tiers.choices = [("", "---")] + [(t.user_type, str(t)) for t in selectors.tiers()]


class MembershipActionForm(ActionForm, MembershipSaleFields):
    pass


def _run(modeladmin: "MembershipAdmin", request, memberships, user_type_of) -> None:
    """Sells each selected membership at its current quote, charged to the member's wallet (same rules as PUT)."""
    form = MembershipSaleFields(request.POST)
    if not form.is_valid():
        modeladmin.message_user(request, f"Choose a known tier and 1 to {MAX_VALIDITY} years.", messages.ERROR)
        return
    validity = form.cleaned_data["validity"] or 1
    if not 1 <= validity <= MAX_VALIDITY:
        modeladmin.message_user(request, f"Years must be 1 to {MAX_VALIDITY}.", messages.ERROR)
        return
    allowed = modeladmin.for_each_allowed(request, Op.PURCHASE, memberships.select_related("user", "tier"),
                                          account=lambda membership: membership.user)
    for membership in allowed:
        user_type = user_type_of(form, membership)
        if user_type is None:
            modeladmin.message_user(request, "Choose a tier first.", messages.ERROR)
            return
        try:
            cost = services.membership_cost(user=membership.user, user_type=user_type, validity=validity)
            purchase = services.membership_purchase(user=membership.user, user_type=user_type, validity=validity,
                                                    cost=cost, actor=signed_in(request))
        except ServiceError as error:
            modeladmin.message_user(request, f"{membership.user}: {error.message}", messages.ERROR)
            continue
        modeladmin.message_user(
            request, f"{membership.user}: {purchase.quote.kind} to tier {user_type}, charged {purchase.quote.cost}, "
            f"balance {purchase.balance}.", messages.SUCCESS,
        )


@admin.register(Membership)
class MembershipAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["user", "tier", "expires_at", "period_started_at", "period_years", "started_at"]
    list_filter = ["tier", ("expires_at", admin.DateFieldListFilter)]
    search_fields = ["user__username"]
    readonly_fields = ["user", "tier", "expires_at", "started_at", "period_started_at", "period_years"]
    action_form = MembershipActionForm
    actions = ["renew", "change_tier"]

    def has_purchase_permission(self, request) -> bool:
        return operator_may(request, Op.PURCHASE)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Renew the tier in force (charges the wallet; 'years' below)", permissions=["purchase"])
    def renew(self, request, queryset) -> None:
        _run(self, request, queryset, lambda form, m: selectors.effective_user_type(m))

    @admin.action(description="Change to the chosen tier (charges the wallet; 'tier' and 'years' below)",
                  permissions=["purchase"])
    def change_tier(self, request, queryset) -> None:
        _run(self, request, queryset, lambda form, m: form.cleaned_data["user_type"])

    def get_urls(self) -> list[URLPattern]:
        change = path("<path:object_id>/change_tier/", self.admin_site.admin_view(self.change_tier_view),
                      name="membership_membership_change_tier")
        return [change, *super().get_urls()]

    def change_tier_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The user page's "change tier": the operator picks a tier and years (GET) and sees the quote and
        the wallet; confirming (POST) buys it at that price, charged to the wallet, exactly as PUT /vip does
        (a price that moved meanwhile is refused, 8010)."""
        membership = self.get_object(request, unquote(object_id))
        if membership is None:
            raise Http404("No such membership.")
        user = membership.user
        if not operator_may(request, Op.PURCHASE, user):
            raise PermissionDenied
        user_page = admin_url("accounts_user_change", user.pk) + "#panel-membership"
        form = TierChangeForm(request.POST if request.method == "POST" else request.GET or None)
        cost = error = None
        if form.is_valid():
            user_type, validity = form.cleaned_data["user_type"], form.cleaned_data["validity"]
            confirmed = request.method == "POST" and form.cleaned_data["cost"] is not None
            if confirmed and self._purchase(request, membership, user_type, validity, form.cleaned_data["cost"]):
                return HttpResponseRedirect(user_page)
            try:
                cost = services.membership_cost(user=user, user_type=user_type, validity=validity)
            except ServiceError as exc:
                error = exc.message
        context = {
            **self.admin_site.each_context(request), "title": f"Change the tier of {user}", "subtitle": None,
            "opts": self.opts, "membership": membership, "user_obj": user, "form": form, "cost": cost,
            "error": error, "balance": selectors.wallet_balance(user), "user_page": user_page,
            "in_force": selectors.effective_tier(membership),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "membership/admin/change_tier.html", context)

    def _purchase(self, request: HttpRequest, membership: Membership, user_type: int, validity: int,
                  cost: Decimal) -> bool:
        allowed = self.for_each_allowed(request, Op.PURCHASE, [membership], account=lambda m: m.user)
        if not allowed:
            return False
        user = membership.user
        try:
            purchase = services.membership_purchase(user=user, user_type=user_type, validity=validity, cost=cost,
                                                    actor=signed_in(request))
        except ServiceError as exc:
            self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
            return False
        expires = purchase.quote.expires_at
        expiry = f", until {timezone.localtime(expires):%Y-%m-%d}" if expires else ""
        self.message_user(request, f"{user}: {purchase.quote.kind} to {purchase.membership.tier.name}{expiry}, "
                                   f"charged {purchase.quote.cost}, balance {purchase.balance}.", messages.SUCCESS)
        return True


class TierChangeForm(forms.Form):
    user_type = forms.TypedChoiceField(label="tier", coerce=int, choices=())
    validity = forms.IntegerField(label="years", min_value=1, max_value=MAX_VALIDITY, initial=1)
    cost = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                              widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["user_type"]).choices = tier_choices()


def tier_choices() -> list[tuple[int, str]]:
    """The tiers on sale to a member: every tier but the administrators'."""
    return [(tier.user_type, tier.name) for tier in selectors.tiers() if tier.user_type != TierType.ADMIN]


class TopupFields(forms.Form):
    amount = forms.CharField(max_length=32, required=False)  # checked by wallet_topup, whose errors are shown
    note = forms.CharField(max_length=200, required=False)


class WalletActionForm(ActionForm, TopupFields):
    pass


@admin.register(Wallet)
class WalletAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "balance", "updated_at"]
    action_form = WalletActionForm
    actions = ["topup"]

    def has_topup_permission(self, request) -> bool:
        return operator_may(request, Op.WALLET_TOPUP)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Top up the selected wallets ('amount' and 'note' below)", permissions=["topup"])
    def topup(self, request, queryset) -> None:
        form = TopupFields(request.POST)
        try:  # the API's parser: ASCII digits with at most two decimals, no exponent
            amount = money_parse(form.data.get("amount", "").strip())
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if not form.is_valid():
            self.message_user(request, "Enter a positive amount with at most 2 decimal places.", messages.ERROR)
            return
        for wallet in self.for_each_allowed(request, Op.WALLET_TOPUP, queryset.select_related("user"),
                                            account=lambda wallet: wallet.user):
            try:
                entry = services.wallet_topup(user=wallet.user, amount=amount,
                                              actor=signed_in(request), note=form.cleaned_data["note"])
            except ServiceError as error:
                self.message_user(request, f"{wallet.user}: {error.message}", messages.ERROR)
                continue
            self.message_user(request, f"{wallet.user}: +{entry.amount}, balance {entry.balance_after}.",
                              messages.SUCCESS)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only and written by the services alone."""

    list_display = ["created_at", "user", "kind", "amount", "balance_after", "from_user_type", "to_user_type",
                    "validity", "actor", "note"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__username", "note", "idempotency_key"]
    list_select_related = ["user", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- The user page and the audit trail (accounts.user_page) ------------------------------------------------

def membership_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not may_view(request, Membership):
        return None
    membership = Membership.objects.select_related("tier").filter(user=user).first()
    if membership is None:
        return {"membership": None}
    may_change = operator_may(request, Op.PURCHASE, user)
    in_force, until = user.tier_at(timezone.now())
    return {"membership": membership, "in_force": TierType(in_force).label if in_force in TierType.values else in_force,
            "user_type": in_force, "until": until, "lapsed": in_force != membership.tier.user_type,
            "form": TierChangeForm(initial={"user_type": in_force}) if may_change else None,
            "change_url": admin_url("membership_membership_change_tier", membership.pk),
            "list_url": admin_url("membership_membership_changelist", user__id__exact=user.pk)}


def wallet_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not may_view(request, Wallet):
        return None
    may_read_ledger = operator_may(request, Op.BILLING_READ, user)
    return {"balance": selectors.wallet_balance(user), "may_read_ledger": may_read_ledger,
            "entries": list(selectors.ledger_of(user)[:RECENT]) if may_read_ledger else [], "recent": RECENT,
            "ledger_url": admin_url("membership_ledgerentry_changelist", user__id__exact=user.pk)}


user_panel_register(UserPanel("membership", "Membership", 10, "membership/admin/panel_membership.html",
                              membership_panel))
user_panel_register(UserPanel("wallet", "Wallet and ledger", 20, "membership/admin/panel_wallet.html", wallet_panel))


def tier_label(value: Any) -> str:
    return TierType(value).label if value in TierType.values else str(value)


def local_date(value: Any) -> str | None:
    """The local date of an ISO date-time the services wrote, or None (no value, or not one)."""
    with contextlib.suppress(TypeError, ValueError):
        return f"{timezone.localtime(datetime.fromisoformat(value)):%Y-%m-%d}"
    return None


def describe_membership(data: Mapping[str, Any]) -> AuditChange:
    """The rows membership.services writes: an operator's assignment (`previous`, `user_type`), a purchase
    (those, `validity`, `cost`, `credit` and `expires_at`, None for a tier without end) and an expiry
    (`previous` and `expired_at`, no `user_type`: the member is back on the registered tier)."""
    after = tier_label(data.get("user_type", TierType.REGISTERED))
    until, expired = local_date(data.get("expires_at")), local_date(data.get("expired_at"))
    if until:
        after += f" until {until}"
    details = [f"expired on {expired}"] if expired else []
    details.append(details_text(data, skip=("previous", "user_type", "expires_at", "expired_at")))
    return AuditChange(before=tier_label(data.get("previous")), after=after,
                       details="; ".join(part for part in details if part))


def describe_topup(data: Mapping[str, Any]) -> AuditChange:
    return AuditChange(after=f"balance {data.get('balance', '')}", details=f"+{data.get('amount', '')}")


audit_describer_register([AuditAction.MEMBERSHIP_ASSIGN, AuditAction.MEMBERSHIP_RENEW, AuditAction.MEMBERSHIP_UPGRADE,
                          AuditAction.MEMBERSHIP_CHANGE, AuditAction.MEMBERSHIP_EXPIRE], describe_membership)
audit_describer_register([AuditAction.WALLET_TOPUP], describe_topup)


# --- The dashboard (accounts.admin_site) -------------------------------------------------------------------

DAYS = 30


def revenue_chart(now: datetime) -> Chart:
    """Money in per day: what memberships were charged (net of refunds) and what wallets were topped up."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    rows = (LedgerEntry.objects.filter(created_at__gte=days[0])
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone())).values("day")
            .annotate(charged=Sum("amount", filter=Q(kind__in=[LedgerKind.CHARGE, LedgerKind.REFUND])),
                      topped=Sum("amount", filter=Q(kind=LedgerKind.TOPUP))).order_by())
    by_day = {row["day"]: (-(row["charged"] or Decimal(0)), row["topped"] or Decimal(0)) for row in rows}

    def ledger(start: datetime, length: timedelta) -> str:
        return admin_url("membership_ledgerentry_changelist", created_at__gte=str(start),
                         created_at__lt=str(start + length))

    bars = tuple(Bar(f"{day:%m-%d}", by_day.get(day.date(), (Decimal(0), Decimal(0))), title=f"{day:%Y-%m-%d}",
                     href=ledger(day, timedelta(days=1))) for day in days)
    charged = sum((values[0] for values in by_day.values()), Decimal("0.00"))
    return Chart("Revenue per day", ledger(days[0], timedelta(days=DAYS)), ("charged", "topped up"), bars,
                 summary=f"{charged:,.2f} charged in {DAYS} days", decimals=2)


dashboard_chart_register(DashboardChart("revenue", 30, revenue_chart, lambda request: may_view(request, LedgerEntry)))
