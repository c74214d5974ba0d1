"""Regression tests for a review of the back office by operators with few permissions, one section per
finding: what the operator tried, what they get now, and that the legitimate path beside it still works."""

import pytest
from django.urls import reverse
from oauth2_provider.models import Application

from accounts.models import AuditEvent
from accounts.services import sessions
from accountsite.audit import AuditAction
from membership.models import Tier, TierType
from quotas.models import Quota, QuotaKind
from tests.conftest import signed_in_client, staff_user
from tests.factories import UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


# --- No OAuth application is made in the back office ------------------------------------------------------------

def test_no_operator_adds_an_oauth_application(admin_user, user):
    for operator in (staff_user("appadd", permissions=("oauth2_provider.add_application",
                                                       "oauth2_provider.view_application")), admin_user):
        site = signed_in_client(operator)
        assert site.get("/admin/oauth2_provider/application/add/").status_code == 403
        response = site.post("/admin/oauth2_provider/application/add/", {
            "user": user.pk, "name": "evil", "client_type": "public", "authorization_grant_type": "authorization-code",
            "redirect_uris": "https://evil.example/cb", "skip_authorization": "on", "algorithm": "RS256"})
        assert response.status_code == 403
        assert site.get("/admin/oauth2_provider/application/").status_code == 200
    assert not Application.objects.exists()


# --- A tier keeps its number -------------------------------------------------------------------------------------

def test_a_tiers_number_cannot_be_changed(admin_user):
    site = signed_in_client(staff_user("tiers", permissions=("membership.change_tier", "membership.view_tier")))
    gold = Tier.objects.get(user_type=TierType.GOLD)
    form = {"user_type": 8, "name": "gold", "repo_public": gold.repo_public, "repo_private": gold.repo_private,
            "deposit_bytes": gold.deposit_bytes, "pulls_per_day": gold.pulls_per_day, "pay_way": gold.pay_way,
            "fee": str(gold.fee)}
    response = site.post(f"/admin/membership/tier/{gold.pk}/change/", form)
    assert response.status_code == 302
    assert set(Tier.objects.values_list("user_type", flat=True)) == set(TierType.values)
    page = site.get(f"/admin/membership/tier/{gold.pk}/change/").content.decode()
    assert 'name="user_type"' not in page and 'name="fee"' in page


def test_only_a_superuser_edits_the_admin_tier(admin_user):
    """Its holders are the administrators: with membership.change_tier alone, an operator set every
    administrator's repository limits to 0, where an administrator's quotas are a superuser's to change."""
    site = signed_in_client(staff_user("tiers", permissions=("membership.change_tier", "membership.view_tier")))
    admin_tier = Tier.objects.get(user_type=TierType.ADMIN)
    form = {"name": "admin", "repo_public": 0, "repo_private": 0, "deposit_bytes": -1, "pulls_per_day": -1,
            "pay_way": 0, "fee": "0.00"}
    before = snapshot()
    assert site.post(f"/admin/membership/tier/{admin_tier.pk}/change/", form).status_code == 403
    before.assert_unchanged()
    assert 'name="repo_public"' not in site.get(f"/admin/membership/tier/{admin_tier.pk}/change/").content.decode()


# --- An administrator's sign-ins in the audit trail are shown as their sessions are ------------------------------

def test_support_does_not_read_where_administrators_sign_in(admin_user, user):
    for account in (admin_user, user):
        sessions.session_start(user=account, terminal="laptop", ip="198.51.100.7", user_agent="Secret-UA/1.0")
    support = signed_in_client(staff_user("support-op", "support"))
    superuser = signed_in_client(UserFactory(username="root2", is_staff=True, is_superuser=True))
    admin_pages = [reverse("admin:accounts_auditevent_changelist") + "?q=root",
                   reverse("admin:accounts_user_history", args=[admin_user.pk]),
                   reverse("admin:accounts_user_change", args=[admin_user.pk])]
    for url in admin_pages:
        assert "Secret-UA" not in support.get(url).content.decode(), url
        assert "Secret-UA" in superuser.get(url).content.decode(), url
    for url in (reverse("admin:accounts_user_history", args=[user.pk]),
                reverse("admin:accounts_auditevent_changelist") + "?q=alice"):
        assert "Secret-UA" in support.get(url).content.decode(), url
    assert AuditEvent.objects.filter(user=admin_user, action=AuditAction.SESSION_LOGIN).exists()


# --- A list is filtered on a relation only by an operator who may see its model ---------------------------------

@pytest.mark.parametrize("lookup", ["groups=1", "ledger_entries__isnull=False",
                                    "oauth2_provider_accesstoken__isnull=False", "secrets__isnull=False"])
def test_a_relation_the_operator_may_not_see_is_no_filter(user, lookup):
    site = signed_in_client(staff_user("viewer", permissions=("accounts.view_user",)))
    assert site.get(f"/admin/accounts/user/?{lookup}").status_code == 400
    assert site.get("/admin/accounts/user/?status__exact=2").status_code == 200
    superuser = signed_in_client(UserFactory(username="root2", is_staff=True, is_superuser=True))
    assert superuser.get(f"/admin/accounts/user/?{lookup}").status_code == 200


# --- An administrator's quota record is a superuser's to create ---------------------------------------------------

def test_an_operator_may_not_create_an_administrators_quota_record(admin_user, user):
    site = signed_in_client(staff_user("adder", permissions=("quotas.add_quota", "quotas.view_quota")))
    Quota.objects.filter(user__in=(admin_user, user), kind=QuotaKind.PULLS).delete()
    before = snapshot()
    response = site.post("/admin/quotas/quota/add/", {"user": admin_user.pk, "kind": QuotaKind.PULLS, "quota": "0"},
                         follow=True)
    assert "Only a superuser may do this" in response.content.decode()
    before.assert_unchanged()
    site.post("/admin/quotas/quota/add/", {"user": user.pk, "kind": QuotaKind.PULLS, "quota": "0"})
    assert Quota.objects.filter(user=user, kind=QuotaKind.PULLS).exists()


def test_an_operator_creates_no_repository_in_an_administrators_or_a_deleted_account(admin_user, user):
    """repos.add_repository alone created repositories in any account, a superuser's and a deleted one's."""
    from accounts.models import UserStatus
    from membership.services import membership_tier_assign
    from repos.models import Repository
    from tests.factories import UserFactory

    gone = UserFactory(username="gone", status=UserStatus.DELETED)
    site = signed_in_client(staff_user("adder", permissions=("repos.add_repository",)))
    form = {"name": "planted", "visibility": "public", "description": "", "url": "", "commits-TOTAL_FORMS": "0",
            "commits-INITIAL_FORMS": "0", "commits-MIN_NUM_FORMS": "0", "commits-MAX_NUM_FORMS": "1000"}
    for owner, refusal in ((admin_user, "Only a superuser may do this"), (gone, "No such user.")):
        before = snapshot()
        response = site.post("/admin/repos/repository/add/", {**form, "owner": owner.pk}, follow=True)
        assert refusal in response.content.decode()
        before.assert_unchanged()
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None)
    site.post("/admin/repos/repository/add/", {**form, "owner": user.pk})
    assert Repository.objects.get(name="planted").owner == user
    assert signed_in_client(staff_user("none")).get("/admin/repos/repository/add/").status_code == 403


def test_a_raw_id_field_names_no_user_to_an_operator_who_may_not_see_users(admin_user):
    """The quota and repository add forms pick the user by id; Django's widget wrote the login name of the id
    typed next to it when the form came back, so an operator without accounts.view_user (the user list is 403
    for them) read every login name by counting ids. The id is kept; the name only for those who see users."""
    for permissions, path, field in ((("quotas.add_quota", "quotas.view_quota"), "/admin/quotas/quota/add/", "user"),
                                     (("repos.add_repository",), "/admin/repos/repository/add/", "owner")):
        site = signed_in_client(staff_user(f"adder-{field}", permissions=permissions))
        assert site.get("/admin/accounts/user/").status_code == 403
        page = site.post(path, {field: admin_user.pk, "kind": "deposit", "quota": "zzz", "name": "/"}).content.decode()
        assert f'name="{field}" value="{admin_user.pk}"' in page and ">root</a></strong>" not in page, path
        seer = signed_in_client(staff_user(f"seer-{field}", permissions=(*permissions, "accounts.view_user")))
        page = seer.post(path, {field: admin_user.pk, "kind": "deposit", "quota": "zzz", "name": "/"}).content.decode()
        assert ">root</a></strong>" in page, path


# --- The wallet's balance is for those who may see wallets ---------------------------------------------------------

def test_selling_a_tier_shows_no_balance_to_an_operator_without_wallets(user):
    url = reverse("admin:membership_membership_change_tier", args=[user.pk]) + f"?user_type={TierType.GOLD}&validity=1"
    seller = signed_in_client(staff_user("seller", permissions=("membership.change_membership",)))
    page = seller.get(url)
    assert page.status_code == 200 and "wallet-balance" not in page.content.decode()
    billing = signed_in_client(staff_user("biller", "billing", permissions=("membership.change_membership",)))
    assert "wallet-balance" in billing.get(url).content.decode()


# --- Addresses that were 500s --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/admin/auth/group/?_to_field=user", "/admin/accounts/user/?_to_field=sessions",
                                 "/admin/repos/repository/?_to_field=commits",
                                 "/admin/membership/membership/?pk=99999999999999999999",
                                 "/admin/membership/wallet/?pk__gt=99999999999999999999",
                                 "/admin/membership/membership/?pk__in=1,99999999999999999999"])
def test_a_reverse_relation_as_to_field_or_a_key_past_any_id_is_refused(admin_user, url):
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    assert site.get(url).status_code == 400


@pytest.mark.parametrize("choice", ["99999999999999999999", "-99999999999999999999", "9" * 30])
@pytest.mark.parametrize(("url", "field"), [("admin:accounts_user_change", "groups"),
                                            ("admin:auth_group_add", "permissions")])
def test_a_many_to_many_choice_past_any_id_is_an_invalid_choice(admin_user, user, url, field, choice):
    """Django checked each id's type, then read the chosen rows with `__in`, which the driver could not send."""
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    page = reverse(url, args=[user.pk] if "change" in url else [])
    form = {"username": user.username, "email": user.email, "status": user.status, "name": "ops", field: [choice]}
    before = snapshot()
    reply = site.post(page, form)
    assert reply.status_code == 200 and "is not a valid value" in reply.content.decode()
    before.assert_unchanged()


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999"])
@pytest.mark.parametrize("field", ["repo_public", "repo_private", "pulls_per_day"])
def test_a_limit_past_the_column_is_refused_on_the_tier_form(admin_user, field, value):
    """The form's constraint check (in words) ran its query on a value the column cannot hold: a 500."""
    tier = Tier.objects.get(user_type=TierType.GOLD)
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    form = {"name": tier.name, "repo_public": tier.repo_public, "repo_private": tier.repo_private,
            "deposit_bytes": str(tier.deposit_bytes), "pulls_per_day": tier.pulls_per_day, "pay_way": tier.pay_way,
            "fee": tier.fee, field: value}
    before = snapshot()
    reply = site.post(reverse("admin:membership_tier_change", args=[tier.pk]), form)
    assert reply.status_code == 200 and "Ensure this value is" in reply.content.decode()
    before.assert_unchanged()


@pytest.mark.parametrize(("method", "page", "status"), [
    ("get", "user_change", 200), ("post", "user_change", 200), ("get", "user_history", 200),
    ("get", "session_delete", 403), ("post", "session_delete", 403),  # sessions are revoked, never deleted
])
def test_an_empty_to_field_reads_the_object_by_its_key(admin_user, user, method, page, status):
    """Django skips its check of an empty `_to_field`, then looked the object up by the field "": a 500."""
    session, _pair = sessions.session_start(user=user, terminal="laptop", ip="198.51.100.7", user_agent="UA")
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    url = reverse(f"admin:accounts_{page}", args=[session.pk if page.startswith("session") else user.pk])
    before = snapshot()
    reply = getattr(site, method)(f"{url}?_to_field=", {"_to_field": ""} if method == "post" else None)
    assert reply.status_code == status
    if status == 200:
        assert user.username in reply.content.decode()
    before.assert_unchanged()  # a form with errors, a page, or a refusal


@pytest.mark.parametrize("url", ["/admin/membership/membership/99999999999999999999/change/",
                                 "/admin/membership/membership/99999999999999999999/change_tier/",
                                 "/admin/membership/wallet/99999999999999999999/change/"])
def test_a_page_of_an_id_past_any_id_is_not_found(admin_user, url):
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    reply = site.get(url)
    # Django's change view sends a missing object back to the admin's index, with a message; a 404 otherwise.
    assert reply.status_code == 404 or (reply.status_code, reply["Location"]) == (302, "/admin/"), reply
