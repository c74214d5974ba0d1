"""The operators' back office for accounts: users (the whole account on one page, and its history),
sessions and the audit trail, and the dashboard's charts about them.

Every change goes through the same services as the API, and every action and edit asks the same policy
(accountsite.policy): an operator may act on another account only with the Django permission the
operation names, and on an administrator's account only as a superuser.
"""

# Django's admin autodiscovery imports this package: each module registers its lists, panels and charts.
from accounts.admin import audit, dashboard, groups, sessions, users  # noqa: F401
