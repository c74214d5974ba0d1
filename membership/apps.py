"""App config for membership: it provides the plans of accounts and the default limits of quotas, and keeps
the tier table's cache current."""

from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "membership"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.plans import plans_register
        from membership.models import Tier
        from membership.plans import MembershipPlans, MembershipQuotaPlans
        from membership.tiers import tier_changed
        from quotas.services import quota_plans_register

        plans_register(MembershipPlans())
        quota_plans_register(MembershipQuotaPlans())
        # Every worker's copy of the tier table reloads once a change to it commits (membership.tiers).
        post_save.connect(tier_changed, sender=Tier, dispatch_uid="membership.tiers.saved")
        post_delete.connect(tier_changed, sender=Tier, dispatch_uid="membership.tiers.deleted")
