"""The back office in a real browser, as staff with few permissions: what they are offered is what the
policy grants, and the login page is the credential service's."""

import pytest

from accounts.models import User, UserStatus
from membership.models import Wallet
from tests.conftest import admin_page_sign_in, staff_user
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def actions_offered(page, live_server, path: str) -> list[str]:
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector("#content")
    return page.eval_on_selector_all("select[name=action] option", "options => options.map(o => o.value)")


def test_view_only_staff_is_offered_no_action(live_server, browser_page, tmp_path):
    page = browser_page
    UserFactory(username="alice")
    staff_user("viewer", permissions=("accounts.view_user", "membership.view_wallet",
                                      "oauth2_provider.view_application", "accounts.view_session"))
    admin_page_sign_in(page, live_server, "viewer")
    for path in ("/admin/accounts/user/", "/admin/membership/wallet/", "/admin/oauth2_provider/application/",
                 "/admin/accounts/session/"):
        assert [value for value in actions_offered(page, live_server, path) if value] == [], path
    page.screenshot(path=str(tmp_path / "viewer-users.png"), full_page=True)


def test_support_freezes_a_user_but_cannot_top_up_a_wallet(live_server, browser_page, tmp_path):
    page = browser_page
    alice = UserFactory(username="alice")
    staff_user("helper", "support")
    admin_page_sign_in(page, live_server, "helper")
    offered = actions_offered(page, live_server, "/admin/accounts/user/")
    assert {"freeze_users", "activate_users", "revoke_sessions"} <= set(offered)
    assert not {"make_admin", "make_common", "send_password_reset"} & set(offered)

    page.fill("#searchbar", "alice")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    page.locator("#result_list tbody tr").first.locator("input.action-select").check()
    page.select_option("select[name=action]", "freeze_users")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    page.screenshot(path=str(tmp_path / "support-freeze.png"), full_page=True)
    assert User.objects.get(pk=alice.pk).status == UserStatus.FROZEN

    balance = Wallet.objects.get(user=alice).balance
    reply = page.goto(f"{live_server.url}/admin/membership/wallet/")
    assert reply.status == 403
    assert Wallet.objects.get(user=alice).balance == balance


def test_billing_tops_up_others_but_never_their_own_wallet(live_server, browser_page):
    page = browser_page
    alice = UserFactory(username="alice")
    clerk = staff_user("clerk", "billing")
    admin_page_sign_in(page, live_server, "clerk")
    assert "topup" in actions_offered(page, live_server, "/admin/membership/wallet/")
    for wallet_owner in (alice, clerk):
        page.goto(f"{live_server.url}/admin/membership/wallet/?q={wallet_owner.username}")
        page.locator("#result_list tbody tr").first.locator("input.action-select").check()
        page.select_option("select[name=action]", "topup")
        page.fill("input[name=amount]", "25.00")
        page.click("button[name=index]")
        page.wait_for_selector(".messagelist")
    assert str(Wallet.objects.get(user=alice).balance) == "25.00"
    assert str(Wallet.objects.get(user=clerk).balance) == "0.00"
    assert "their own account" in page.inner_text(".messagelist .error")
