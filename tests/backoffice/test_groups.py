"""Staff groups: their permissions are their members' powers, so only a superuser adds, changes or deletes one;
staff with `auth.view_group` (or `auth.change_group`) read them."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import AuditEvent
from tests.conftest import signed_in_client, staff_user

pytestmark = pytest.mark.django_db


def test_staff_with_change_group_cannot_grant_their_group_permissions():
    """A support operator given `auth.change_group` selected every permission on their own group and saved:
    every member of the group held every power."""
    support = Group.objects.get(name="support")
    before = set(support.permissions.values_list("pk", flat=True))
    helper = staff_user("helper", "support", permissions=("auth.view_group", "auth.change_group",
                                                          "auth.add_group", "auth.delete_group"))
    client = signed_in_client(helper)
    page = client.get(f"/admin/auth/group/{support.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # read-only
    every = list(Permission.objects.values_list("pk", flat=True))
    changed = client.post(f"/admin/auth/group/{support.pk}/change/", {"name": "support", "permissions": every})
    assert changed.status_code == 403
    assert set(support.permissions.values_list("pk", flat=True)) == before
    assert client.post("/admin/auth/group/add/", {"name": "all", "permissions": every}).status_code == 403
    assert client.post(f"/admin/auth/group/{support.pk}/delete/", {"post": "yes"}).status_code == 403
    assert set(Group.objects.values_list("name", flat=True)) >= {"support"} and not Group.objects.filter(name="all")


def test_a_superuser_changes_a_groups_permissions(operator):
    billing = Group.objects.get(name="billing")
    permission = Permission.objects.get(content_type__app_label="accounts", codename="view_session")
    kept = list(billing.permissions.values_list("pk", flat=True))
    response = operator.post(f"/admin/auth/group/{billing.pk}/change/",
                             {"name": "billing", "permissions": [*kept, permission.pk]})
    assert response.status_code == 302
    assert billing.permissions.filter(pk=permission.pk).exists()


def test_giving_a_user_staff_groups_is_an_audit_row_on_their_history(admin_user, user):
    """Groups carry operator powers: giving or taking them is on the account's trail (it was only in Django's
    own log, which no page shows), with the operator, the groups before and after."""
    site = signed_in_client(admin_user)
    page = reverse("admin:accounts_user_change", args=[user.pk])
    form = {"username": user.username, "email": user.email, "status": user.status}
    support = Group.objects.get(name="support")
    assert site.post(page, {**form, "groups": [support.pk]}).status_code == 302
    assert list(user.groups.values_list("name", flat=True)) == ["support"]
    event = AuditEvent.objects.get(user=user, action="user.groups")
    assert event.actor == admin_user and event.data == {"previous": [], "groups": ["support"]}
    history = site.get(reverse("admin:accounts_user_history", args=[user.pk])).content.decode()
    assert "operator groups changed" in history and "support" in history
    assert site.post(page, form).status_code == 302  # every group taken away
    assert not user.groups.exists()
    assert AuditEvent.objects.get(user=user, action="user.groups", data__groups=[]).data["previous"] == ["support"]
    assert site.post(page, form).status_code == 302  # nothing changed: no row
    assert AuditEvent.objects.filter(user=user, action="user.groups").count() == 2
