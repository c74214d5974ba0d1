"""Tiers in the back office: edited, never deleted; saving one moves the members still at its old limits to
the new ones."""

from django.contrib import admin

from accountsite.admin import WordedConstraintsForm, WordedConstraintsMixin, operator_may
from accountsite.policy import AN_ADMINISTRATOR, Op
from membership import services
from membership.models import Tier, TierType
from quotas.forms import SizeField
from quotas.units import size_label


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

    def has_change_permission(self, request, obj: Tier | None = None) -> bool:
        # Its holders are the administrators: saving its limits moves their quotas, which the policy keeps for
        # a superuser (Op.QUOTA_MANAGE on an administrator's account).
        if obj is not None and obj.user_type == TierType.ADMIN and \
                not operator_may(request, Op.QUOTA_MANAGE, AN_ADMINISTRATOR):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # memberships point at tiers; a tier is retired by editing, not deleted

    def get_readonly_fields(self, request, obj: Tier | None = None) -> list[str]:
        # A tier's number is what members, quotes and the rules (the admin tier is 2) know it by: renumbered,
        # the admin tier could be bought under its new number, and members would read another tier.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "user_type"] if obj else fields

    def save_model(self, request, obj: Tier, form, change) -> None:
        changed = services.tier_save(tier=obj)  # members still at the old limits get the new ones
        if changed:
            self.message_user(request, f"{changed} quota limit(s) of members moved to the tier's new limits.")
