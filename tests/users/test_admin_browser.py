"""A real browser in the back office: an operator finds a user and freezes them; their API token dies."""


import pytest

from accounts.models import User, UserStatus
from accountsite import errors
from tests.conftest import admin_page_sign_in, client_for, status_and_code
from tests.factories import PASSWORD, AdminFactory, UserFactory


@pytest.mark.browser
# serialized_rollback: an earlier transactional test flushes the tiers the data migration seeded.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_operator_freezes_a_user_and_their_token_is_refused(live_server, tmp_path, browser_page):
    page = browser_page
    AdminFactory(username="operator", password=PASSWORD)
    target = UserFactory(username="mallory", email="mallory@example.com")
    UserFactory(username="bystander")
    api = client_for(target)
    assert api.get("/auth/me").json()["code"] == 0

    admin_page_sign_in(page, live_server, "operator")
    # The admin's own stylesheet is served: the page is the styled back office.
    css = page.evaluate("() => [...document.styleSheets].map(s => s.href).filter(Boolean)")
    assert any("/static/admin/css/base.css" in href for href in css), css
    assert page.request.get(f"{live_server.url}/static/admin/css/base.css").status == 200

    page.goto(f"{live_server.url}/admin/accounts/user/")
    page.fill("#searchbar", "mallory")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "mallory" in rows.first.inner_text()
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "freeze_users")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert "freeze: 1 user(s)" in page.inner_text(".messagelist").lower()
    page.screenshot(path=str(tmp_path / "admin-freeze.png"), full_page=True)

    assert (tmp_path / "admin-freeze.png").stat().st_size > 0
    assert User.objects.get(pk=target.pk).status == UserStatus.FROZEN
    reply = api.get("/auth/me")
    assert (reply.status_code, reply.json()["code"]) in (status_and_code(errors.NotAuthenticatedError),
                                                         status_and_code(errors.AccountDisabledError))
