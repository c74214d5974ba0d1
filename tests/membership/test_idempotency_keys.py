"""Idempotency-Key retention: a key replays for IDEMPOTENCY_KEY_TTL_HOURS, then is a new request; the prune."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from membership.idempotency import idempotency_keys_prune
from membership.models import IdempotencyRecord, LedgerEntry, TierType
from tests.accounts.test_deploy import _manage
from tests.conftest import envelope
from tests.factories import UserFactory
from tests.membership.conftest import assert_ledger_balances, balance

pytestmark = pytest.mark.django_db

GOLD_FOR_A_YEAR = {"userType": TierType.GOLD, "cost": "10000.00"}


def age(key: str, by: timedelta) -> None:
    """Moves the key's record back in time, as if its first request came `by` ago."""
    assert IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - by) == 1


def buy(client, key: str, body: dict = GOLD_FOR_A_YEAR):
    return client.put("/vip/alice", body, format="json", headers={"Idempotency-Key": key})


def test_a_key_replays_within_its_window_and_is_a_new_request_after_it(user_client, rich_alice):
    """A key replayed forever and its record was never deleted; now it lives 24 hours, as Stripe's do."""
    first = buy(user_client, "renew-1")
    envelope(first)
    age("renew-1", timedelta(hours=23, minutes=59))
    assert buy(user_client, "renew-1").content == first.content  # still a replay: no second charge
    assert balance(rich_alice) == Decimal("40000.00")

    age("renew-1", timedelta(hours=24))  # past the window, and no prune has run: the read treats it as gone
    second = buy(user_client, "renew-1")
    assert envelope(second)["data"]["kind"] == "renew" and second.content != first.content
    assert balance(rich_alice) == Decimal("30000.00")
    assert LedgerEntry.objects.filter(user=rich_alice, kind="charge").count() == 2
    assert_ledger_balances(rich_alice)
    record = IdempotencyRecord.objects.get(user=rich_alice, key="renew-1")  # the new request's, replayed from now
    assert timezone.now() - record.created_at < timedelta(minutes=1)
    assert buy(user_client, "renew-1").content == second.content
    assert balance(rich_alice) == Decimal("30000.00")


def test_an_expired_key_with_another_request_is_no_longer_8012(admin_client, user):
    headers = {"Idempotency-Key": "wire-1"}
    envelope(admin_client.post("/vip/alice/topup", {"amount": "5.00"}, format="json", headers=headers), status=201)
    age("wire-1", timedelta(days=2))
    envelope(admin_client.post("/vip/alice/topup", {"amount": "6.00"}, format="json", headers=headers), status=201)
    assert balance(user) == Decimal("11.00")


def test_the_window_is_a_setting(settings, user_client, rich_alice):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 1
    envelope(buy(user_client, "short"))
    age("short", timedelta(minutes=61))
    envelope(buy(user_client, "short"))
    assert LedgerEntry.objects.filter(user=rich_alice, kind="charge").count() == 2


def record(user, key: str, age: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(user=user, key=key, request_hash="0" * 64, response_body="{}",
                                            created_at=timezone.now() - age)


def test_prune_deletes_the_expired_records_in_batches_and_keeps_the_live(user):
    other = UserFactory(username="bob")
    for i in range(5):
        record(user if i % 2 else other, f"old-{i}", timedelta(hours=24, seconds=1 + i))
    live = [record(user, "young", timedelta(hours=23)), record(other, "new", timedelta())]
    with CaptureQueriesContext(connection) as statements:
        assert idempotency_keys_prune(batch=2) == 5
    deletes = [query["sql"] for query in statements.captured_queries if query["sql"].startswith("DELETE")]
    assert len(deletes) == 3, deletes  # 2 + 2 + 1 rows
    assert list(IdempotencyRecord.objects.order_by("pk")) == live
    assert idempotency_keys_prune(batch=2) == 0
    # Its clock is a parameter: a day later the young ones are gone too.
    assert idempotency_keys_prune(now=timezone.now() + timedelta(days=1)) == 2
    assert not IdempotencyRecord.objects.exists()


def test_prune_command_reports_what_it_removed_and_is_safe_to_run_again(user):
    record(user, "old", timedelta(days=3))
    record(user, "live", timedelta(hours=1))
    out = StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert out.getvalue() == "pruned 1 idempotency key(s)\n"
    out = StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert out.getvalue() == "pruned 0 idempotency key(s)\n"
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["live"]


@pytest.mark.parametrize("hours", ["0", "-24"])
def test_a_window_of_no_time_stops_the_service(hours):
    """With none, every retry of a purchase would be a new request, charged again."""
    result = _manage("check", IDEMPOTENCY_KEY_TTL_HOURS=hours)
    assert result.returncode != 0 and "IDEMPOTENCY_KEY_TTL_HOURS must be at least 1." in result.stderr
