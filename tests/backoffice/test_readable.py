"""Readable everywhere: every model names itself in words, sizes are shown and typed in human units,
constraint violations are field errors in words, reasons show their labels and login names keep their case."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.utils import timezone

from accounts.models import AccountSecret, AuditEvent, RevokeReason, SecretPurpose, Session
from accounts.services import sessions
from accountsite.admin import WordedConstraintsMixin, constraint_fields
from accountsite.audit import AuditAction, audit_record
from membership.models import IdempotencyRecord, LedgerEntry, Membership, Tier, TierType, Wallet
from membership.services import wallet_topup
from quotas.forms import SizeField
from quotas.models import Quota, QuotaKind
from quotas.units import size_exact, size_label, size_parse
from repos.models import Commit, Pull, Repository, Visibility
from repos.services import commit_create, repository_create
from tests.conftest import messages_of
from tests.factories import UserFactory
from tests.quotas.helpers import MIB, give_tier
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

MOMENT = timezone.make_aware(timezone.datetime(2026, 11, 29, 17, 4))


def test_every_model_names_itself_in_words(user, other, admin_user, settings):
    settings.TIME_ZONE = "UTC"
    give_tier(user, TierType.GOLD)
    quotas = {quota.kind: str(quota) for quota in Quota.objects.filter(user=user).select_related("user")}
    assert quotas == {QuotaKind.DEPOSIT: "alice · storage 0 B / 200 MiB",
                      QuotaKind.REPO_PUBLIC: "alice · public repositories 0 / 20",
                      QuotaKind.REPO_PRIVATE: "alice · private repositories 0 / 2",
                      QuotaKind.PULLS: "alice · pulls per day 0 / 2000"}
    assert str(Quota.objects.get(user=admin_user, kind=QuotaKind.DEPOSIT)) == "root · storage 0 B / unlimited"

    repo = repository_create(owner=user, name="hello", visibility=Visibility.PRIVATE)
    assert str(repo) == "alice/hello (private)"
    commit = commit_create(repo=repo, author=user, content="x" * 1536)
    assert str(Commit.objects.get(pk=commit.pk)) == f"alice/hello · commit #{commit.pk} (1.5 KiB)"
    pull = Pull.objects.create(repo=repo, user=other, created_at=MOMENT)
    assert str(pull) == "bob pulled alice/hello · 2026-11-29 17:04"

    assert str(Tier.objects.get(user_type=TierType.GOLD)) == "gold (userType 4)"
    membership = Membership.objects.get(user=user)
    Membership.objects.filter(pk=membership.pk).update(expires_at=MOMENT)
    assert str(Membership.objects.get(pk=membership.pk)) == "alice · gold until 2026-11-29"
    assert str(Membership.objects.get(user=other)) == "bob · registered"
    entry = wallet_topup(user=other, amount=Decimal("123.45"), actor=admin_user, now=MOMENT)
    assert str(entry) == "bob · top-up +123.45 → 123.45 on 2026-11-29"
    assert str(Wallet.objects.get(user=other)) == "bob · wallet 123.45"
    assert str(IdempotencyRecord(user=other, key="k-1")) == "bob · Idempotency-Key 'k-1'"

    session = sessions.browser_session_start(user=other, terminal="phone", ip="127.0.0.1", user_agent="ua",
                                             lifetime=timedelta(hours=1))
    assert str(session) == "bob on phone (live)"
    sessions.session_revoke(session=session, reason=RevokeReason.FROZEN)
    assert str(Session.objects.get(pk=session.pk)) == "bob on phone (ended: account frozen)"

    event = audit_record(action=AuditAction.USER_STATUS, user=other, actor=admin_user)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=MOMENT)
    assert str(AuditEvent.objects.get(pk=event.pk)) == "2026-11-29 17:04 · bob · status changed"
    retired = AuditEvent(action="retired.action", created_at=MOMENT)
    assert str(retired) == "2026-11-29 17:04 · no account · retired.action"

    code = AccountSecret(user=other, purpose=SecretPurpose.PASSWORD_RESET, secret_hash="h", expires_at=MOMENT)
    assert str(code) == "bob · password reset code (expired)"
    code.expires_at = timezone.now() + timedelta(hours=1)
    assert str(code).startswith("bob · password reset code (open until ")
    code.used_at = MOMENT
    assert str(code) == "bob · password reset code (used 2026-11-29 17:04)"
    assert str(LedgerEntry.objects.get(pk=entry.pk)) == str(entry)


@pytest.mark.parametrize(("size", "label", "exact"), [
    (0, "0 B", "0"), (512, "512 B", "512"), (1024, "1 KiB", "1K"), (200 * MIB, "200 MiB", "200M"),
    (1499136, "1.42 MiB", "1464K"), (1499137, "1.42 MiB", "1499137"), (2 * 1024**4, "2 TiB", "2T"),
    (-1, "unlimited", "-1"), (1536 * MIB, "1.5 GiB", "1536M"), (1025 * 1024, "1.00 MiB", "1025K"),
    (200 * MIB - 1, "199.99 MiB", str(200 * MIB - 1)), (2**63 - 1, "8388607.99 TiB", str(2**63 - 1)),
])
def test_sizes_in_words_and_back(size, label, exact):
    assert size_label(size) == label
    assert size_exact(size) == exact
    assert size_parse(exact) == size


@pytest.mark.parametrize(("typed", "size"), [
    ("200M", 200 * MIB), ("200 MiB", 200 * MIB), ("200mb", 200 * MIB), ("1.5G", 1536 * MIB), ("512 k", 512 * 1024),
    ("4096", 4096), (" 10B ", 10), ("-1", -1), ("0", 0),
])
def test_sizes_typed_by_people(typed, size):
    assert size_parse(typed) == size
    assert SizeField().clean(typed) == size


@pytest.mark.parametrize(("typed", "words"), [
    ("", "Enter a size"), ("1e3", "Enter a size"), ("12X", "Unknown unit 'X'"), ("1.5", "whole number of bytes"),
    ("-5", "0 or more"), ("-1M", "0 or more"), ("9999999999T", "Too large"), ("9" * 30, "Enter a size"),
])
def test_sizes_refused_in_words(typed, words):
    with pytest.raises(ValueError, match=words):
        size_parse(typed)


def test_quota_limits_are_shown_and_typed_in_human_units(operator, user):
    deposit = Quota.objects.get(user=user, kind=QuotaKind.DEPOSIT)
    page = operator.get(f"/admin/quotas/quota/{deposit.pk}/change/").content.decode()
    assert 'name="quota" value="0"' in page
    assert operator.post(f"/admin/quotas/quota/{deposit.pk}/change/", {"quota": "1.5G"}).status_code == 302
    assert Quota.objects.get(pk=deposit.pk).quota == 1536 * MIB
    page = operator.get(f"/admin/quotas/quota/{deposit.pk}/change/").content.decode()
    assert 'name="quota" value="1536M"' in page
    assert "1.5 GiB" in operator.get("/admin/quotas/quota/", {"q": "alice"}).content.decode()
    refused = operator.post(f"/admin/quotas/quota/{deposit.pk}/change/", {"quota": "lots"})
    assert refused.status_code == 200 and "Enter a size such as 200M" in refused.content.decode()
    # A count is a count: a unit is refused, and the stored limit is shown as the number it is.
    pulls = Quota.objects.get(user=user, kind=QuotaKind.PULLS)
    assert 'name="quota" value="500"' in operator.get(f"/admin/quotas/quota/{pulls.pk}/change/").content.decode()
    refused = operator.post(f"/admin/quotas/quota/{pulls.pk}/change/", {"quota": "2K"})
    assert refused.status_code == 200 and "Enter a whole number" in refused.content.decode()
    assert Quota.objects.get(pk=pulls.pk).quota == 500


def test_tier_storage_is_typed_in_human_units(operator):
    form = {"user_type": TierType.GOLD, "name": "gold", "repo_public": 20, "repo_private": 2, "deposit_bytes": "1G",
            "pulls_per_day": 2000, "pay_way": 1, "fee": "10000.00"}
    assert operator.post("/admin/membership/tier/4/change/", form).status_code == 302
    assert Tier.objects.get(user_type=TierType.GOLD).deposit_bytes == 1024**3
    assert "1 GiB" in operator.get("/admin/membership/tier/").content.decode()
    assert 'name="deposit_bytes" value="1G"' in operator.get("/admin/membership/tier/4/change/").content.decode()
    refused = operator.post("/admin/membership/tier/4/change/", {**form, "deposit_bytes": "-3G", "fee": "-1"})
    assert refused.context["adminform"].form.errors == {"deposit_bytes": ["A size is 0 or more (-1 is unlimited)."],
                                                        "fee": ["A fee is 0.00 or more."]}
    assert Tier.objects.get(user_type=TierType.GOLD).fee == Decimal("10000.00")


USER_FORM = {"email": "alice@example.com", "nickname": "Alice", "real_name": "", "intro": "", "github": "",
             "school": "", "website": "", "status": 2}


def test_renaming_a_user_to_another_case_of_a_taken_name_is_a_field_error_in_words(operator, user, other):
    refused = operator.post(f"/admin/accounts/user/{other.pk}/change/", {**USER_FORM, "username": "ALICE",
                                                                          "email": "bob@example.com"})
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert errors == {"username": ["Another account already has this login name (login names are unique whatever "
                                   "their case)."]}
    assert "is violated" not in refused.content.decode()
    taken = operator.post(f"/admin/accounts/user/{other.pk}/change/", {**USER_FORM, "username": "bob",
                                                                        "email": "ALICE@example.com"})
    assert taken.context["adminform"].form.errors == {"email": ["Another account already has this e-mail address."]}
    renamed = operator.post(f"/admin/accounts/user/{other.pk}/change/", {**USER_FORM, "username": "Bobby",
                                                                          "email": "bob@example.com"})
    assert renamed.status_code == 302
    assert UserFactory._meta.model.objects.get(pk=other.pk).username == "Bobby"


def test_a_second_repository_of_the_same_name_is_a_field_error_in_words(operator, user):
    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="hello")
    form = {"owner": user.pk, "name": "HELLO", "visibility": "public", "description": "", "url": "",
            "commits-TOTAL_FORMS": "0", "commits-INITIAL_FORMS": "0", "commits-MIN_NUM_FORMS": "0",
            "commits-MAX_NUM_FORMS": "1000"}
    refused = operator.post("/admin/repos/repository/add/", form)
    assert refused.context["adminform"].form.errors == {"name": ["This user already has a repository of this name "
                                                                 "(names are unique whatever their case)."]}
    assert Repository.objects.filter(owner=user).count() == 1


def test_a_second_quota_record_of_a_kind_is_a_field_error_in_words(operator, user):
    refused = operator.post("/admin/quotas/quota/add/", {"user": user.pk, "kind": QuotaKind.PULLS, "quota": "5"})
    assert refused.context["adminform"].form.errors == {"kind": ["This user already has a record of this kind."]}


def test_every_constraint_an_admin_form_can_break_has_words():
    worded = [model_admin for model_admin in admin.site._registry.values()
              if isinstance(model_admin, WordedConstraintsMixin)]
    assert {type(model_admin).__name__ for model_admin in worded} >= {
        "UserAdmin", "MeasuredQuotaAdmin", "RepositoryAdmin", "TierAdmin"}
    for model_admin in worded:
        for constraint in model_admin.model._meta.constraints:
            assert constraint.name in model_admin.constraint_words, (model_admin, constraint.name)
            assert constraint_fields(constraint), constraint.name


def test_messages_keep_the_case_of_login_names(operator, other):
    response = operator.post("/admin/membership/wallet/", {"action": "topup", "amount": "123.45",
                                                           "_selected_action": [other.pk]}, follow=True)
    assert messages_of(response) == ["bob: +123.45, balance 123.45."]
    assert '<li class="success">bob: +123.45, balance 123.45.</li>' in response.content.decode()


@pytest.mark.parametrize("note", ["x" * 201, "a\nb", "a\x00b"])
def test_a_top_up_with_a_bad_note_says_what_is_wrong(operator, other, note):
    """Django's changelist checked the note first and dropped the whole action as "No action selected."."""
    before = snapshot()
    response = operator.post("/admin/membership/wallet/", {"action": "topup", "amount": "5", "note": note,
                                                           "_selected_action": [other.pk]}, follow=True)
    [message] = messages_of(response)
    assert message.startswith("Nothing was topped up. note: ")
    before.assert_unchanged()


def test_reasons_are_shown_by_their_labels(operator, user):
    session = sessions.browser_session_start(user=user, terminal="phone", ip="127.0.0.1", user_agent="ua",
                                             lifetime=timedelta(hours=1))
    sessions.session_revoke(session=session, reason=RevokeReason.FROZEN)
    page = operator.get("/admin/accounts/session/", {"q": "phone"}).content.decode()
    assert '<td class="field-revoke_reason">account frozen</td>' in page
