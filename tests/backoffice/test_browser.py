"""The back office in Debian's chromium: an operator answers "who is this user, what do they pay, what do
they use, where are they signed in, what happened to them" from one page, acts from it, and reads the
dashboard. Each test leaves a screenshot in its temporary directory."""

from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Session
from accounts.services import sessions
from accountsite import errors
from accountsite.audit import AuditAction, audit_record
from membership.models import LedgerEntry, Membership, TierType
from membership.services import wallet_topup
from quotas.models import Quota, QuotaKind
from tests.conftest import admin_page_sign_in, client_for, envelope
from tests.factories import PASSWORD, AdminFactory, UserFactory
from tests.quotas.helpers import MIB

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def world():
    """root the operator; alice, with money, storage in use and a phone signed in; bob, who failed to sign in."""
    root = AdminFactory(username="root", password=PASSWORD)
    alice = UserFactory(username="alice", email="alice@example.com")
    wallet_topup(user=alice, amount=Decimal("15000.00"), actor=root, note="bank transfer")
    Quota.objects.filter(user=alice, kind=QuotaKind.PULLS).update(quota=10)
    bob = UserFactory(username="bob")
    for action in (AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT):
        audit_record(action=action, user=bob, ip="198.51.100.1")
    return {"root": root, "alice": alice, "bob": bob}


def open_user(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/accounts/user/?q={user.username}")
    page.click(f"#result_list a:text-is('{user.username}')")
    page.wait_for_selector("#account-panels")


def test_an_operator_sees_the_whole_user_on_one_page(live_server, browser_page, tmp_path, world):
    page, alice = browser_page, world["alice"]
    sessions.session_start(user=alice, terminal="phone", ip="198.51.100.4", user_agent="PhoneBrowser/1.0")
    admin_page_sign_in(page, live_server, "root")
    open_user(page, live_server, alice)
    assert page.inner_text("#panel-membership .tier-in-force") == "registered (userType 1)"
    assert page.inner_text("#panel-wallet .wallet-balance") == "15000.00"
    assert "bank transfer" in page.inner_text("#panel-wallet .ledger-table")
    Quota.objects.filter(user=alice, kind=QuotaKind.DEPOSIT).update(quota=100 * MIB, use=95 * MIB)
    page.reload()
    storage = page.locator("#panel-quotas tr.quota-near[data-kind=deposit]")
    assert storage.inner_text().split() == ["storage", "95", "MiB", "100", "MiB", "90%", "or", "more"]
    assert storage.locator(".quota-bar").get_attribute("aria-valuenow") == "95"
    assert "PhoneBrowser/1.0" in page.inner_text("#panel-sessions tr[data-terminal=phone]")
    assert "wallet topped up" in page.inner_text("#panel-audit")
    page.screenshot(path=str(tmp_path / "user-page.png"), full_page=True)

    page.click("#panel-audit a:text-is('History')")
    page.wait_for_selector("#change-history")
    history = page.inner_text("#change-history")
    assert "wallet topped up" in history and "root" in history and "signed in" in history
    page.screenshot(path=str(tmp_path / "user-history.png"), full_page=True)
    assert (tmp_path / "user-page.png").stat().st_size > 0 and (tmp_path / "user-history.png").stat().st_size > 0


def test_revoking_a_session_from_the_user_page_refuses_its_token_at_once(live_server, browser_page, tmp_path, world):
    page, alice = browser_page, world["alice"]
    api = client_for(alice, terminal="phone")
    envelope(api.get("/auth/me"))
    admin_page_sign_in(page, live_server, "root")
    open_user(page, live_server, alice)
    page.click("#panel-sessions tr[data-terminal=phone] button.revoke-session")
    page.wait_for_selector(".messagelist .success")
    assert page.inner_text(".messagelist") == "Ended alice's session on phone."
    assert page.locator("#panel-sessions tr[data-terminal=phone]").count() == 0
    page.screenshot(path=str(tmp_path / "user-session-revoked.png"), full_page=True)
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)
    assert Session.objects.get(user=alice, terminal="phone").revoke_reason == "admin"


def test_changing_the_tier_from_the_user_page_moves_quotas_and_ledger(live_server, browser_page, tmp_path, world):
    page, alice = browser_page, world["alice"]
    admin_page_sign_in(page, live_server, "root")
    open_user(page, live_server, alice)
    page.select_option("#id_tier_user_type", str(TierType.GOLD))
    page.click("#tier-quote")
    page.wait_for_selector("#tier-confirm")
    assert "10000.00" in page.inner_text("#quote")
    page.screenshot(path=str(tmp_path / "tier-quote.png"), full_page=True)
    page.click("#tier-buy")
    page.wait_for_selector(".messagelist .success")
    assert "alice: upgrade to gold" in page.inner_text(".messagelist")
    assert page.inner_text("#panel-membership .tier-in-force").startswith("gold (userType 4) until ")
    assert page.inner_text("#panel-wallet .wallet-balance") == "5000.00"
    assert "-10000.00" in page.inner_text("#panel-wallet .ledger-table")
    assert "200 MiB" in page.inner_text("#panel-quotas tr[data-kind=deposit]")
    assert "2000" in page.inner_text("#panel-quotas tr[data-kind=pullnum]")
    page.screenshot(path=str(tmp_path / "tier-changed.png"), full_page=True)
    assert Membership.objects.get(user=alice).tier.user_type == TierType.GOLD
    assert Quota.objects.get(user=alice, kind=QuotaKind.DEPOSIT).quota == 200 * MIB
    assert LedgerEntry.objects.filter(user=alice, kind="charge", amount=Decimal("-10000.00")).exists()


def test_the_dashboard_draws_its_charts(live_server, browser_page, tmp_path, world):
    page = browser_page
    Quota.objects.filter(user=world["alice"], kind=QuotaKind.PULLS).update(use=10, day=timezone.localdate())
    admin_page_sign_in(page, live_server, "root")
    page.wait_for_selector("#dashboard svg.chart")
    assert page.locator("#dashboard svg.chart").count() == 6
    titles = page.eval_on_selector_all("#dashboard svg.chart title", "nodes => nodes.map(n => n.textContent)")
    assert "gold (userType 4): users: 0" in titles and "registered (userType 1): users: 2" in titles
    assert "pulls per day: at or over 90%: 1, over the limit: 0" in titles
    assert any(title.endswith("failed sign-ins: 2, lockouts: 1") for title in titles)
    assert "3 users" in page.inner_text("#chart-tiers")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    # A bar opens the list it counts.
    pulls = "pulls per day: at or over 90%: 1, over the limit: 0"
    page.click(f"#chart-near-limits a.chart-bar:has(title:text-is('{pulls}'))")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.inner_text("#result_list tbody tr").split()[:3] == ["alice", "pulls", "per"]
