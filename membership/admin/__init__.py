"""The back office for membership: tiers, memberships (with the user page's "change tier"), wallets and
their ledger, the membership and wallet panels of the user page and their audit descriptions, and the
dashboard's revenue. Changes go through membership.services."""

# Django's admin autodiscovery imports this package: each module registers its lists, panels and charts.
from membership.admin import dashboard, memberships, tiers, wallets  # noqa: F401
