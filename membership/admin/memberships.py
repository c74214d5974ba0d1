"""Memberships in the back office: renewing and changing tiers through the services (charged to the
member's wallet, as PUT /vip is), the user page's membership panel with its "change tier", and how the audit
trail reads an assignment, a purchase or an expiry."""

import contextlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from accounts.models import User
from accounts.selectors import signed_in
from accounts.user_page import AuditChange, UserPanel, audit_describer_register, details_text, user_panel_register
from accountsite.admin import ReadOnlyAdmin, ServiceAdminMixin, may_view, operator_may
from accountsite.audit import AuditAction
from accountsite.errors import InsufficientBalanceError, ServiceError
from accountsite.policy import Op
from membership import pricing, selectors, services
from membership.admin.base import admin_url, once, once_key, once_key_field
from membership.idempotency import MAX_KEY_LENGTH
from membership.models import Membership, TierType, Wallet


class MembershipSaleFields(forms.Form):
    """The action bar's extra inputs, validated on their own (ActionForm's `action` choices are set per view)."""

    user_type = forms.TypedChoiceField(label="tier", required=False, coerce=int, empty_value=None, choices=())
    # No bounds here: Django drops an action whose form is invalid with only "No action selected";
    # the range is checked in the action so the operator is told what is wrong.
    validity = forms.IntegerField(label="years", initial=1, required=False)
    key = once_key_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tiers = cast(forms.TypedChoiceField, self.fields["user_type"])
        tiers.choices = [("", "---"), *tier_choices()]


class MembershipActionForm(ActionForm, MembershipSaleFields):
    pass


def _run(modeladmin: "MembershipAdmin", request, memberships, user_type_of) -> None:
    """Sells each selected membership at its current quote, charged to the member's wallet (same rules as PUT)."""
    form = MembershipSaleFields(request.POST)
    if not form.is_valid():
        modeladmin.message_user(request, f"Choose a known tier and 1 to {pricing.VALIDITY_MAX} years.", messages.ERROR)
        return
    # Only an empty field means the default year: "0" is a number of years the service refuses (1 to 10).
    validity = 1 if form.cleaned_data["validity"] is None else form.cleaned_data["validity"]
    allowed = modeladmin.for_each_allowed(request, Op.PURCHASE, memberships.select_related("user", "tier"),
                                          account=lambda membership: membership.user)
    key = form.cleaned_data["key"]
    for membership in allowed:
        user_type = user_type_of(form, membership)
        if user_type is None:
            modeladmin.message_user(request, "Choose a tier first.", messages.ERROR)
            return
        user = membership.user
        _sell_once(modeladmin, request, user, user_type, validity, f"{key}:{user.pk}" if key else "")


def _sell_once(modeladmin: "MembershipAdmin", request: HttpRequest, user: User, user_type: int, validity: int,
               key: str) -> None:
    """One member's purchase at the current quote, once per `key` (the list's form: see once_key_field)."""

    def produce() -> dict[str, Any]:
        cost = services.membership_cost(user=user, user_type=user_type, validity=validity)
        purchase = services.membership_purchase(user=user, user_type=user_type, validity=validity, cost=cost,
                                                actor=signed_in(request), idempotency_key=key)
        return {"message": f"{user}: {purchase.quote.kind} to tier {user_type}, charged {purchase.quote.cost}"
                           f"{_balance_note(request, purchase.balance)}."}

    try:
        reply = once(request, key=key, operation=f"admin-purchase:{user.pk}",
                     data={"userType": user_type, "validity": validity}, produce=produce)
    except ServiceError as error:
        modeladmin.message_user(request, f"{user}: {_refusal(request, error)}", messages.ERROR)
        return
    if reply is not None:
        modeladmin.message_user(request, reply["message"], messages.SUCCESS)
    else:
        modeladmin.message_user(request, f"{user}: this purchase was already made; nothing more was charged.",
                                messages.WARNING)


def _refusal(request: HttpRequest, error: ServiceError) -> str:
    """A purchase's refusal as the operator may read it: without the wallet's balance for one who may not
    see wallets."""
    if isinstance(error, InsufficientBalanceError) and not may_view(request, Wallet):
        return "The wallet balance is too low for this purchase."
    return error.message


def _balance_note(request: HttpRequest, balance: Decimal) -> str:
    """", balance X" for an operator who may see wallets; a purchase's reply names nothing they may not see."""
    return f", balance {balance}" if may_view(request, Wallet) else ""


@admin.register(Membership)
class MembershipAdmin(ServiceAdminMixin, ReadOnlyAdmin):
    """Read-only: a tier is bought, renewed and changed by the actions and "change tier" (Op.PURCHASE), which
    go through the services; a saved change page would set back a tier bought and paid for meanwhile."""

    list_display = ["user", "tier", "expires_at", "period_started_at", "period_years", "period_value", "started_at"]
    list_filter = ["tier", ("expires_at", admin.DateFieldListFilter)]
    search_fields = ["user__username"]
    # Every field: a membership changes through the services alone (the actions, "change tier"); the period's
    # value is what an upgrade credits, so a form writing it would hand out money with no ledger row.
    readonly_fields = ["user", "tier", "expires_at", "started_at", "period_started_at", "period_years",
                       "period_value"]
    action_form = MembershipActionForm
    actions = ["renew", "change_tier"]

    def has_purchase_permission(self, request) -> bool:
        return operator_may(request, Op.PURCHASE)

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
        # Back to the user's page, or for an operator who may not open it, to the membership's.
        user_page = (admin_url("accounts_user_change", user.pk) + "#panel-membership" if may_view(request, User)
                     else admin_url("membership_membership_change", membership.pk))
        form = TierChangeForm(request.POST if request.method == "POST" else request.GET or None)
        cost = error = None
        if form.is_valid():
            user_type, validity = form.cleaned_data["user_type"], form.cleaned_data["validity"]
            confirmed = request.method == "POST" and form.cleaned_data["cost"] is not None
            if confirmed and self._purchase(request, membership, user_type, validity, form.cleaned_data["cost"],
                                            form.cleaned_data["key"]):
                return HttpResponseRedirect(user_page)
            try:
                cost = services.membership_cost(user=user, user_type=user_type, validity=validity)
            except ServiceError as exc:
                error = exc.message
        context = {
            **self.admin_site.each_context(request), "title": f"Change the tier of {user}", "subtitle": None,
            "opts": self.opts, "membership": membership, "user_obj": user, "form": form, "cost": cost,
            "error": error, "user_page": user_page,
            # Each quote's confirmation buys once (a double click or a re-post replays it), as Idempotency-Key does.
            "purchase_key": once_key(),
            "balance": selectors.wallet_balance(user) if may_view(request, Wallet) else None,
            "in_force": selectors.effective_tier(membership),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "membership/admin/change_tier.html", context)

    def _purchase(self, request: HttpRequest, membership: Membership, user_type: int, validity: int,
                  cost: Decimal, key: str) -> bool:
        allowed = self.for_each_allowed(request, Op.PURCHASE, [membership], account=lambda m: m.user)
        if not allowed:
            return False
        user = membership.user

        def produce() -> dict[str, Any]:
            purchase = services.membership_purchase(user=user, user_type=user_type, validity=validity, cost=cost,
                                                    actor=signed_in(request), idempotency_key=key)
            expires = purchase.quote.expires_at
            expiry = f", until {timezone.localtime(expires):%Y-%m-%d}" if expires else ""
            return {"message": f"{user}: {purchase.quote.kind} to {purchase.membership.tier.name}{expiry}, "
                               f"charged {purchase.quote.cost}{_balance_note(request, purchase.balance)}."}

        try:
            reply = once(request, key=key, operation=f"admin-purchase:{user.pk}",
                         data={"userType": user_type, "validity": validity, "cost": cost}, produce=produce)
        except ServiceError as exc:
            self.message_user(request, f"{user}: {_refusal(request, exc)}", messages.ERROR)
            return False
        if reply is None:
            self.message_user(request, f"{user}: this purchase was already confirmed; nothing more was charged.",
                              messages.WARNING)
        else:
            self.message_user(request, reply["message"], messages.SUCCESS)
        return True


class TierChangeForm(forms.Form):
    user_type = forms.TypedChoiceField(label="tier", coerce=int, choices=())
    validity = forms.IntegerField(label="years", min_value=1, max_value=pricing.VALIDITY_MAX, initial=1)
    cost = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                              widget=forms.HiddenInput)
    key = forms.CharField(max_length=MAX_KEY_LENGTH, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["user_type"]).choices = tier_choices()


def tier_choices() -> list[tuple[int, str]]:
    """The tiers on sale to a member: every tier but the administrators'."""
    return [(tier.user_type, tier.name) for tier in selectors.tiers() if tier.user_type != TierType.ADMIN]


# --- The user page and the audit trail (accounts.user_page) ------------------------------------------------

def membership_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not may_view(request, Membership):
        return None
    membership = Membership.objects.select_related("tier").filter(user=user).first()
    if membership is None:
        return {"membership": None}
    may_change = operator_may(request, Op.PURCHASE, user)
    in_force, until = user.tier_at(timezone.now())
    return {"membership": membership, "in_force": tier_label(in_force),
            "user_type": in_force, "until": until, "lapsed": in_force != membership.tier.user_type,
            "form": TierChangeForm(initial={"user_type": in_force}) if may_change else None,
            "change_url": admin_url("membership_membership_change_tier", membership.pk),
            "list_url": admin_url("membership_membership_changelist", user__id__exact=user.pk)}


user_panel_register(UserPanel("membership", "Membership", 10, "membership/admin/panel_membership.html",
                              membership_panel))


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


audit_describer_register([AuditAction.MEMBERSHIP_ASSIGN, AuditAction.MEMBERSHIP_RENEW, AuditAction.MEMBERSHIP_UPGRADE,
                          AuditAction.MEMBERSHIP_CHANGE, AuditAction.MEMBERSHIP_EXPIRE], describe_membership)
