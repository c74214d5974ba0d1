"""Every back-office list, posted an action on ids its primary key cannot take: refused with a message and
no action run, never a 500 (accountsite.admin's BoundedListMixin.response_action)."""

import pytest
from django.contrib import admin

from accounts.models import User, UserStatus
from tests.conftest import messages_of

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "1e3", "\x00", "9" * 30, "-1.5"]
LISTS = sorted(f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry)


@pytest.mark.parametrize("url", LISTS)
def test_an_action_on_ids_the_key_cannot_take_is_refused(operator, user, url):
    page = operator.get(url)
    assert page.status_code == 200
    form = page.context["action_form"]
    actions = [name for name, _label in form.fields["action"].choices if name] if form else []
    for action in actions:
        for bad in BAD_IDS:
            response = operator.post(url, {"action": action, "index": 0, "_selected_action": [str(user.pk), bad]})
            assert response.status_code == 302 and response["Location"] == url, (action, bad)
            shown = messages_of(operator.get(url))
            assert any("do not exist: no action was run" in message for message in shown), (action, bad)
    assert User.objects.get(pk=user.pk).status == UserStatus.ACTIVE  # the valid id beside them was not acted on


def test_the_probe_covers_the_lists_with_actions():
    """The lists the testers found the 500 on are among those probed (each has actions)."""
    assert {"/admin/accounts/user/", "/admin/oauth2_provider/application/", "/admin/oauth2_provider/grant/",
            "/admin/repos/repository/", "/admin/auth/group/"} <= set(LISTS)
