"""Back office for tiers, memberships, wallets and the ledger. Changes go through membership.services."""

from decimal import Decimal, InvalidOperation
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm

from accounts.selectors import signed_in
from accountsite.admin import ServiceAdminMixin, operator_may
from accountsite.errors import ServiceError
from accountsite.policy import Op
from membership import selectors, services
from membership.models import LedgerEntry, Membership, Tier, Wallet
from membership.serializers import MAX_VALIDITY


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["user_type", "name", "repo_public", "repo_private", "deposit_bytes", "pulls_per_day",
                    "pay_way", "fee"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # memberships point at tiers; a tier is retired by editing, not deleted


class MembershipSaleFields(forms.Form):
    """The action bar's extra inputs, validated on their own (ActionForm's `action` choices are set per view)."""

    user_type = forms.TypedChoiceField(label="tier", required=False, coerce=int, empty_value=None, choices=())
    # No bounds here: Django drops an action whose form is invalid with only "No action selected";
    # the range is checked in the action so the operator is told what is wrong.
    validity = forms.IntegerField(label="years", initial=1, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tiers = cast(forms.TypedChoiceField, self.fields["user_type"])
        tiers.choices = [("", "---")] + [(t.user_type, str(t)) for t in Tier.objects.all()]


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
        try:
            amount = Decimal(form.data.get("amount", "").strip())
        except InvalidOperation:
            amount = None
        if not form.is_valid() or amount is None:
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
