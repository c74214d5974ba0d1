"""Wallets and their ledger in the back office: top-ups through the services, the ledger read-only, the user
page's wallet-and-ledger panel and how the audit trail reads a top-up."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import HttpRequest

from accounts.admin.base import RECENT
from accounts.models import User
from accounts.selectors import signed_in
from accounts.user_page import AuditChange, UserPanel, audit_describer_register, user_panel_register
from accountsite.admin import ReadOnlyAdmin, ServiceAdminMixin, may_view, operator_may
from accountsite.audit import AuditAction
from accountsite.errors import IdempotencyKeyReusedError, ServiceError
from accountsite.numbers import money_parse
from accountsite.policy import Op
from accountsite.text import ONE_LINE
from membership import selectors, services
from membership.admin.base import admin_url, once, once_key_field
from membership.models import LedgerEntry, Wallet


class TopupFields(forms.Form):
    amount = forms.CharField(max_length=32, required=False)  # checked by wallet_topup, whose errors are shown
    note: forms.Field = forms.CharField(max_length=200, required=False, validators=[ONE_LINE])
    key = once_key_field()


class WalletActionForm(ActionForm, TopupFields):
    # Checked by the action (TopupFields), which says what is wrong: refused here, Django's changelist would
    # drop the whole action as "No action selected."
    note = forms.Field(required=False)  # any text: not even a NUL is refused here


@admin.register(Wallet)
class WalletAdmin(ServiceAdminMixin, ReadOnlyAdmin):
    """Read-only: a balance moves with its ledger row, by the top-up action here and by purchases."""

    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "balance", "updated_at"]
    action_form = WalletActionForm
    actions = ["topup"]

    def has_topup_permission(self, request) -> bool:
        return operator_may(request, Op.WALLET_TOPUP)

    @admin.action(description="Top up the selected wallets ('amount' and 'note' below)", permissions=["topup"])
    def topup(self, request, queryset) -> None:
        form = TopupFields(request.POST)
        try:  # the API's parser: ASCII digits with at most two decimals, no exponent
            amount = money_parse(form.data.get("amount", "").strip())
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if not form.is_valid():
            problems = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items())
            self.message_user(request, f"Nothing was topped up. {problems}", messages.ERROR)
            return
        note, key = form.cleaned_data["note"], form.cleaned_data["key"]
        for wallet in self.for_each_allowed(request, Op.WALLET_TOPUP, queryset.select_related("user"),
                                            account=lambda wallet: wallet.user):
            self._topup_once(request, wallet, amount, note, f"{key}:{wallet.user_id}" if key else "")

    def _topup_once(self, request: HttpRequest, wallet: Wallet, amount: Decimal, note: str, key: str) -> None:
        def produce() -> dict[str, Any]:
            entry = services.wallet_topup(user=wallet.user, amount=amount, actor=signed_in(request), note=note,
                                          idempotency_key=key)
            return {"amount": str(entry.amount), "balance": str(entry.balance_after)}

        try:
            reply = once(request, key=key, operation=f"admin-topup:{wallet.user_id}",
                         data={"amount": amount, "note": note}, produce=produce)
        except IdempotencyKeyReusedError:
            self.message_user(request, f"{wallet.user}: this form was already sent for a different request; open "
                                       "the list again for a new top-up.", messages.ERROR)
            return
        except ServiceError as error:
            self.message_user(request, f"{wallet.user}: {error.message}", messages.ERROR)
            return
        if reply is not None:
            self.message_user(request, f"{wallet.user}: +{reply['amount']}, balance {reply['balance']}.",
                              messages.SUCCESS)
        else:
            self.message_user(request, f"{wallet.user}: this top-up was already made; nothing more was credited.",
                              messages.WARNING)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Read-only: the ledger is append-only and written by the services alone."""

    list_display = ["created_at", "user", "kind", "amount", "balance_after", "from_user_type", "to_user_type",
                    "validity", "actor", "note"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__username", "note", "idempotency_key"]
    list_select_related = ["user", "actor"]


# --- The user page and the audit trail (accounts.user_page) ------------------------------------------------

def wallet_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not may_view(request, Wallet):
        return None
    may_read_ledger = operator_may(request, Op.BILLING_READ, user)
    return {"balance": selectors.wallet_balance(user), "may_read_ledger": may_read_ledger,
            "entries": list(selectors.ledger_of(user)[:RECENT]) if may_read_ledger else [], "recent": RECENT,
            "ledger_url": admin_url("membership_ledgerentry_changelist", user__id__exact=user.pk)}


user_panel_register(UserPanel("wallet", "Wallet and ledger", 20, "membership/admin/panel_wallet.html", wallet_panel))


def describe_topup(data: Mapping[str, Any]) -> AuditChange:
    return AuditChange(after=f"balance {data.get('balance', '')}", details=f"+{data.get('amount', '')}")


audit_describer_register([AuditAction.WALLET_TOPUP], describe_topup)
