"""The user page shows the whole account, each part as far as the operator may see it, with its actions
(revoke a session, change the tier) going through the services and the policy; its History is the audit
trail; and it costs the same number of queries whatever the account's history."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import RefreshToken

from accounts.models import AuditEvent, Session
from accounts.oauth import applications
from accounts.services import sessions
from accountsite import errors
from accountsite.audit import AuditAction, audit_record
from membership.models import LedgerEntry, Membership, TierType
from membership.services import membership_expire_due, membership_purchase, membership_tier_assign, wallet_topup
from quotas.models import Quota, QuotaKind
from tests.conftest import app_client, client_for, envelope, messages_of, signed_in_client, staff_user
from tests.factories import UserFactory
from tests.quotas.helpers import MIB

pytestmark = pytest.mark.django_db


def page_of(client, user) -> str:
    response = client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def panel(page: str, key: str) -> str:
    """The HTML of one panel of the user page ("" when it is not there)."""
    match = re.search(rf'<section class="module account-panel" id="panel-{key}">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def account(user, admin_user):
    """alice with gold bought from her wallet, signed in on a phone, an app of her own and one holding her tokens."""
    wallet_topup(user=user, amount=Decimal("12000.00"), actor=admin_user, note="bank transfer")
    membership_purchase(user=user, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"), actor=user)
    Quota.objects.filter(user=user, kind=QuotaKind.DEPOSIT).update(use=190 * MIB)
    sessions.session_start(user=user, terminal="phone", ip="198.51.100.4", user_agent="PhoneBrowser/1.0")
    applications.application_create(owner=user, redirect_uris="https://mine.example/cb", name="alice-tool")
    holder = app_client(user, owner=UserFactory(username="carol"))
    holder.application.name = "photo-printer"
    holder.application.save(update_fields=["name"])
    return user


def test_the_user_page_shows_the_whole_account(operator, account):
    page = page_of(operator, account)
    membership = panel(page, "membership")
    assert "gold (userType 4) until" in membership and 'id="tier-quote"' in membership
    wallet = panel(page, "wallet")
    assert "2000.00" in wallet and "bank transfer" in wallet and "upgrade gold for 1 year(s)" in wallet
    assert f"/admin/membership/ledgerentry/?user__id__exact={account.pk}" in wallet
    quotas = panel(page, "quotas")
    assert re.search(r'quota-near" data-kind="deposit">.*190 MiB.*aria-valuenow="95".*200 MiB', quotas, re.S)
    assert "90% or more" in quotas and "public repositories" in quotas
    signed_in = panel(page, "sessions")
    assert "phone" in signed_in and "198.51.100.4" in signed_in and "PhoneBrowser/1.0" in signed_in
    assert signed_in.count('class="button revoke-session"') == 1
    apps = panel(page, "apps")
    assert "alice-tool" in apps and "photo-printer" in apps and "carol" in apps
    events = panel(page, "audit")
    assert "tier upgraded" in events and "registered → gold" in events and "wallet topped up" in events


def test_the_page_costs_the_same_queries_whatever_the_history(operator, user, admin_user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_of(operator, user)
        return len(captured)

    sessions.session_start(user=user, terminal="t0", ip="127.0.0.1", user_agent="ua")
    wallet_topup(user=user, amount=Decimal("1.00"), actor=admin_user)
    app_client(user)
    page_of(operator, user)  # the first view also fills the process's caches (content types): not history
    few = queries()
    for n in range(1, 26):
        sessions.session_start(user=user, terminal=f"t{n}", ip="127.0.0.1", user_agent="ua")
        wallet_topup(user=user, amount=Decimal("1.00"), actor=admin_user)
        audit_record(action=AuditAction.USER_PROFILE, user=user, actor=admin_user, fields=["nickname"])
    for _ in range(3):
        app_client(user)
    RefreshToken.objects.create(user=user, application=applications.application_create(
        owner=user, redirect_uris="https://x.example/cb").application, token="r-1")
    assert queries() == few
    assert page_of(operator, user).count("ledger-row") == 20


def test_revoking_a_session_there_refuses_its_token_at_once(operator, user, other):
    api = client_for(user, terminal="phone")
    envelope(api.get("/auth/me"))
    session = Session.objects.get(user=user, terminal="phone", revoked_at__isnull=True)
    url = f"/admin/accounts/user/{user.pk}/sessions/{session.pk}/revoke/"
    assert operator.get(url).status_code == 405
    response = operator.post(url, follow=True)
    assert messages_of(response) == ["Ended alice's session on phone."]
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)
    assert Session.objects.get(pk=session.pk).revoke_reason == "admin"
    # Again, or through another user's page: nothing to end, and said so.
    assert messages_of(operator.post(url, follow=True)) == ["That session has already ended."]
    bobs = client_for(other, terminal="laptop")
    their = Session.objects.get(user=other, terminal="laptop")
    operator.post(f"/admin/accounts/user/{user.pk}/sessions/{their.pk}/revoke/")
    envelope(bobs.get("/auth/me"))
    for hostile in (f"/admin/accounts/user/9999999/sessions/{their.pk}/revoke/",
                    f"/admin/accounts/user/x'%20or/sessions/{their.pk}/revoke/",
                    f"/admin/accounts/user/{user.pk}/sessions/not-a-uuid/revoke/"):
        assert operator.post(hostile).status_code in (302, 403, 404), hostile


def test_each_operator_sees_the_parts_and_buttons_their_permissions_allow(account):
    support = signed_in_client(staff_user("helper", "support"))
    page = page_of(support, account)
    assert panel(page, "sessions").count("revoke-session") == 1 and panel(page, "audit") and panel(page, "quotas")
    assert panel(page, "membership") and 'id="tier-quote"' not in page
    assert not panel(page, "wallet") and not panel(page, "apps")
    assert 'class="historylink"' in page

    billing = signed_in_client(staff_user("cashier", "billing"))
    page = page_of(billing, account)
    assert "bank transfer" in panel(page, "wallet") and panel(page, "membership")
    assert not panel(page, "sessions") and not panel(page, "audit") and not panel(page, "quotas")
    assert 'id="tier-quote"' not in page
    assert 'class="historylink"' not in page  # the audit trail is not theirs to read: no link to it either

    viewer = signed_in_client(staff_user("viewer", permissions=("accounts.view_user", "accounts.view_session")))
    page = page_of(viewer, account)
    assert "phone" in panel(page, "sessions") and "revoke-session" not in page
    session = Session.objects.get(user=account, terminal="phone")
    response = viewer.post(f"/admin/accounts/user/{account.pk}/sessions/{session.pk}/revoke/", follow=True)
    assert "permission" in " ".join(messages_of(response))
    assert Session.objects.get(pk=session.pk).revoked_at is None


def test_history_is_the_accounts_audit_trail(operator, user):
    operator.post("/admin/accounts/user/", {"action": "freeze_users", "_selected_action": [user.pk]})
    response = operator.get(f"/admin/accounts/user/{user.pk}/history/")
    text = response.content.decode()
    assert response.status_code == 200 and "have a change history" not in text
    row = re.search(r'<tr class="audit-row" data-action="user.status">(.*?)</tr>', text, re.S).group(1)
    assert "root" in row and "status changed" in row and "active → frozen" in row and "203.0.113.9" in row
    assert "reason: admin_freeze" in row
    support = signed_in_client(staff_user("helper", permissions=("accounts.view_user",)))
    assert "needs the permission to view audit events" in support.get(
        f"/admin/accounts/user/{user.pk}/history/").content.decode()
    assert operator.get("/admin/accounts/user/99999/history/").status_code == 404


def test_changing_the_tier_there_charges_the_wallet_and_moves_the_quotas(operator, user, admin_user):
    wallet_topup(user=user, amount=Decimal("15000.00"), actor=admin_user)
    url = f"/admin/membership/membership/{user.pk}/change_tier/"
    quote = operator.get(url, {"user_type": TierType.GOLD, "validity": 1})
    assert quote.status_code == 200 and quote.context["cost"] == Decimal("10000.00")
    assert 'id="tier-buy"' in quote.content.decode()
    stale = operator.post(url, {"user_type": TierType.GOLD, "validity": 1, "cost": "9000.00"}, follow=True)
    assert any("does not match the current price 10000.00" in m for m in messages_of(stale))
    assert Membership.objects.get(user=user).tier.user_type == TierType.REGISTERED
    bought = operator.post(url, {"user_type": TierType.GOLD, "validity": 1, "cost": "10000.00"}, follow=True)
    assert bought.redirect_chain[-1][0] == f"/admin/accounts/user/{user.pk}/change/#panel-membership"
    assert any(m.startswith("alice: upgrade to gold, until ") and m.endswith("charged 10000.00, balance 5000.00.")
               for m in messages_of(bought))
    assert Quota.objects.get(user=user, kind=QuotaKind.DEPOSIT).quota == 200 * MIB
    charge = LedgerEntry.objects.get(user=user, kind="charge")
    assert (charge.amount, charge.actor) == (Decimal("-10000.00"), admin_user)
    assert AuditEvent.objects.get(user=user, action=AuditAction.MEMBERSHIP_UPGRADE).ip == "203.0.113.9"
    refused = operator.get(url, {"user_type": TierType.REGISTERED, "validity": 1})
    assert "only after the current paid tier has expired" in refused.content.decode()
    for hostile in ({"user_type": TierType.ADMIN, "validity": 1}, {"user_type": "abc", "validity": "1e9"},
                    {"user_type": 4, "validity": 99, "cost": "NaN"}, {"user_type": "", "cost": "1e999"}):
        assert operator.get(url, hostile).status_code == 200, hostile
        assert operator.post(url, hostile).status_code == 200, hostile
    assert LedgerEntry.objects.filter(user=user, kind="charge").count() == 1


def test_confirming_a_tier_twice_charges_once(operator, user, admin_user):
    """The confirmation is sent once per quote: a double click, a reload that re-posts, or a second tab on the
    same quote charged a renewal twice (the price of a renewal does not move with it, so 8010 did not stop
    it). The page's form carries a key used once, as the API's Idempotency-Key is."""
    wallet_topup(user=user, amount=Decimal("30000.00"), actor=admin_user)
    membership_purchase(user=user, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"), actor=user)
    url = f"/admin/membership/membership/{user.pk}/change_tier/"
    quote = operator.get(url, {"user_type": TierType.GOLD, "validity": 1}).content.decode()
    confirm = re.search(r'<form method="post" id="tier-confirm">(.*?)</form>', quote, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', confirm))
    assert fields["cost"] == "10000.00"
    first = operator.post(url, fields, follow=True)
    again = operator.post(url, fields, follow=True)
    assert LedgerEntry.objects.filter(user=user, kind="charge").count() == 2  # the upgrade, and one renewal
    assert Membership.objects.get(user=user).period_years == 2
    assert any("renew" in m and "charged 10000.00" in m for m in messages_of(first))
    assert any("already" in m for m in messages_of(again))
    assert again.redirect_chain[-1][0] == f"/admin/accounts/user/{user.pk}/change/#panel-membership"
    # A new quote is a new purchase.
    fresh = operator.get(url, {"user_type": TierType.GOLD, "validity": 1}).content.decode()
    assert re.search(r'name="key" value="([^"]+)"', fresh).group(1) != fields["key"]


def test_a_seller_who_may_not_see_wallets_reads_neither_a_balance_nor_a_page_they_cannot_open(user, admin_user):
    """With membership.change_membership alone, a refused purchase named the wallet's balance, and a done one
    sent the operator to the user page, which is 403 without accounts.view_user."""
    wallet_topup(user=user, amount=Decimal("1000.00"), actor=admin_user)
    seller = signed_in_client(staff_user("seller", permissions=("membership.change_membership",)))
    url = f"/admin/membership/membership/{user.pk}/change_tier/"
    refused = seller.post(url, {"user_type": TierType.GOLD, "validity": 1, "cost": "10000.00"}, follow=True)
    assert messages_of(refused) == ["alice: The wallet balance is too low for this purchase."]
    listed = seller.post("/admin/membership/membership/", {"action": "change_tier", "user_type": TierType.GOLD,
                                                            "validity": 1, "_selected_action": [user.pk]}, follow=True)
    assert "1000.00" not in " ".join(messages_of(listed)) and "too low" in " ".join(messages_of(listed))
    wallet_topup(user=user, amount=Decimal("20000.00"), actor=admin_user)
    cost = seller.get(url, {"user_type": TierType.GOLD, "validity": 1}).context["cost"]
    bought = seller.post(url, {"user_type": TierType.GOLD, "validity": 1, "cost": str(cost)}, follow=True)
    membership = Membership.objects.get(user=user)
    assert membership.tier.user_type == TierType.GOLD and bought.status_code == 200
    assert bought.redirect_chain[-1][0] == f"/admin/membership/membership/{membership.pk}/change/"


def test_the_tokens_link_is_shown_to_those_who_may_open_it(user):
    applications.application_create(owner=user, name="Printer", redirect_uris="https://app.example/cb")
    apps_only = signed_in_client(staff_user("apps", permissions=("accounts.view_user",
                                                                  "oauth2_provider.view_application")))
    assert "the user's access tokens" not in page_of(apps_only, user)
    both = signed_in_client(staff_user("tokens", permissions=("accounts.view_user", "oauth2_provider.view_application",
                                                               "oauth2_provider.view_accesstoken")))
    assert "the user's access tokens" in page_of(both, user)


def test_changing_the_tier_needs_the_power_to_sell_it(user):
    billing = signed_in_client(staff_user("cashier", "billing"))
    url = f"/admin/membership/membership/{user.pk}/change_tier/"
    assert billing.get(url, {"user_type": TierType.GOLD, "validity": 1}).status_code == 403
    assert billing.post(url, {"user_type": TierType.GOLD, "validity": 1, "cost": "0.00"}).status_code == 403
    assert Membership.objects.get(user=user).tier.user_type == TierType.REGISTERED
    operator = signed_in_client(UserFactory(username="root2", is_staff=True, is_superuser=True))
    assert operator.get("/admin/membership/membership/424242/change_tier/").status_code == 404
    assert operator.get(f"/admin/membership/membership/{user.pk}/change_tier/",
                        {"validity": str(timedelta(days=1))}).status_code == 200


def test_the_page_describes_every_membership_audit_row(operator, user, admin_user):
    """An operator's assignment (no `expires_at`) and an expiry (no `user_type` nor `expires_at`) made the
    user page a 500 (KeyError 'expires_at'); each row the membership services write reads in words."""
    membership_tier_assign(user=user, user_type=TierType.CERTIFIED, actor=admin_user)  # PATCH /users/{name}
    wallet_topup(user=user, amount=Decimal("12000.00"), actor=admin_user)
    membership_purchase(user=user, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"), actor=user)
    later = Membership.objects.get(user=user).expires_at + timedelta(days=1)
    assert membership_expire_due(now=later) == 1  # manage.py expire_memberships
    page = page_of(operator, user)
    rows = dict(re.findall(r'<tr class="audit-row" data-action="([^"]+)">(.*?)</tr>', panel(page, "audit"), re.S))
    assert "registered → certified" in rows[AuditAction.MEMBERSHIP_ASSIGN]
    bought = rows[AuditAction.MEMBERSHIP_UPGRADE]
    assert "certified → gold until " in bought and "validity: 1" in bought and "cost: 10000.00" in bought
    expired = rows[AuditAction.MEMBERSHIP_EXPIRE]
    assert "gold → registered" in expired and f"expired on {timezone.localtime(later):%Y-%m-%d}" in expired


def test_only_superusers_see_an_administrators_sessions(operator, admin_user, user):
    """A support operator read a superuser's and a staff member's live sessions (terminal, IP, user agent)
    on their user page and in the sessions list; the API refuses it (Op.SESSIONS is protected)."""
    sessions.session_start(user=admin_user, terminal="root-laptop", ip="192.0.2.50", user_agent="RootBrowser/1.0")
    staff = staff_user("cashier", "billing")
    sessions.session_start(user=staff, terminal="cashier-desk", ip="192.0.2.51", user_agent="DeskBrowser/1.0")
    sessions.session_start(user=user, terminal="phone", ip="198.51.100.4", user_agent="PhoneBrowser/1.0")
    helper = staff_user("helper", "support")
    support = signed_in_client(helper)
    for account in (admin_user, staff):
        assert not panel(page_of(support, account), "sessions")
        listed = support.get("/admin/accounts/session/", {"user__id__exact": account.pk})
        assert listed.status_code == 200 and list(listed.context["cl"].result_list) == []
        one = Session.objects.filter(user=account).first()
        assert support.get(f"/admin/accounts/session/{one.pk}/change/").status_code == 302  # "doesn't exist"
    every = {s.user.username for s in support.get("/admin/accounts/session/").context["cl"].result_list}
    assert every == {"alice", "helper"}  # ordinary accounts, and the operator's own
    assert "phone" in panel(page_of(support, user), "sessions")
    assert "root-laptop" in panel(page_of(operator, admin_user), "sessions")
    assert "cashier-desk" in panel(page_of(operator, staff), "sessions")
    listed = operator.get("/admin/accounts/session/", {"user__id__exact": staff.pk})
    assert [s.terminal for s in listed.context["cl"].result_list] == ["cashier-desk"]
