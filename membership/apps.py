"""App config for membership: it provides the plans of accounts and the default limits of quotas."""

from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "membership"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.plans import plans_register
        from membership.plans import MembershipPlans, MembershipQuotaPlans
        from quotas.services import quota_plans_register

        plans_register(MembershipPlans())
        quota_plans_register(MembershipQuotaPlans())
