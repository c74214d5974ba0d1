"""Staff groups: their permissions are their members' operator powers."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as StockGroupAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from accountsite.admin import operator_may
from accountsite.policy import Op

# Django's own Group admin (registered when django.contrib.auth.admin is imported, above) let anyone with
# `auth.change_group` give their own group every permission.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(StockGroupAdmin):
    """Staff groups: read with `auth.view_group`; added, changed and deleted by superusers only (a group's
    permissions are its members' powers, as its membership is: see UserAdmin.get_fields)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.GROUP_MANAGE)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return operator_may(request, Op.GROUP_MANAGE)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return operator_may(request, Op.GROUP_MANAGE)
