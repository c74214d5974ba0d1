"""The tier table cached in each process (membership.tiers): read without a query while the shared version
stands, reloaded by every reader once a change commits, never keeping a change that was rolled back, and
never growing."""

from decimal import Decimal

import pytest
import redis
from django.core.cache import cache
from django.db import transaction

from membership import selectors
from membership.models import Tier, TierType
from membership.tiers import VERSION_KEY, TierCache, TierTable

pytestmark = pytest.mark.django_db


def gold() -> Tier:
    return Tier.objects.get(user_type=TierType.GOLD)


def fee_change(amount: str) -> None:
    tier = gold()
    tier.fee = Decimal(amount)
    tier.save()


def test_a_current_copy_costs_no_query(django_assert_num_queries):
    reader = TierCache()
    with django_assert_num_queries(1):
        first = reader.table()
    with django_assert_num_queries(0):
        assert reader.table() is first
        assert [tier.user_type for tier in first.tiers] == sorted(TierType.values)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # a real commit
def test_a_committed_change_reaches_every_reader(django_assert_num_queries):
    """Two readers stand for two workers: each keeps its own copy, both compare it with the shared version."""
    one, other = TierCache(), TierCache()
    assert one.table().by_user_type[TierType.GOLD].fee == other.table().by_user_type[TierType.GOLD].fee == 10000
    version = cache.get(VERSION_KEY)
    with transaction.atomic():
        fee_change("11000.00")
        fee_change("12000.00")
        assert cache.get(VERSION_KEY) == version  # not before the commit
    assert cache.get(VERSION_KEY) != version
    for reader in (one, other):
        with django_assert_num_queries(1):  # each reloads once
            assert reader.table().by_user_type[TierType.GOLD].fee == Decimal("12000.00")
        with django_assert_num_queries(0):
            reader.table()


def test_the_writer_sees_its_uncommitted_change_and_keeps_none_of_a_rollback(django_assert_num_queries):
    reader = TierCache()
    kept = reader.table()
    with pytest.raises(RuntimeError), transaction.atomic():
        fee_change("1.00")
        with django_assert_num_queries(2):  # read afresh while the change is open, and not kept
            assert reader.table().by_user_type[TierType.GOLD].fee == Decimal("1.00")
            assert reader.table() is not kept
        raise RuntimeError("rolled back")
    with django_assert_num_queries(0):
        assert reader.table() is kept
    assert kept.by_user_type[TierType.GOLD].fee == Decimal("10000.00") == gold().fee


def test_an_expired_or_evicted_version_reloads_once(django_assert_num_queries):
    reader = TierCache()
    reader.table()
    cache.delete(VERSION_KEY)
    with django_assert_num_queries(1):
        reader.table()
    with django_assert_num_queries(0):
        reader.table()


def test_without_the_shared_cache_tiers_come_from_the_database(monkeypatch, django_assert_num_queries):
    """Redis down: each read queries the tier table and keeps nothing (it could not learn of a change). A
    change made then sent no token, and the copy from before the outage matched the old one again once
    Redis answered: the old fee was served until the token expired."""
    reader = TierCache()
    reader.table()

    def down(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(cache, "get", down)
    for _ in range(2):
        with django_assert_num_queries(1):
            assert reader.table().by_user_type[TierType.GOLD].fee == Decimal("10000.00")
    Tier.objects.filter(user_type=TierType.GOLD).update(fee=Decimal("13000.00"))  # its token is lost
    monkeypatch.undo()
    with django_assert_num_queries(1):
        assert reader.table().by_user_type[TierType.GOLD].fee == Decimal("13000.00")
    with django_assert_num_queries(0):
        reader.table()


def test_the_copy_does_not_grow():
    """Unknown tiers are not remembered, and each reload replaces the one copy."""
    reader = TierCache()
    rows = Tier.objects.count()
    for _ in range(50):
        cache.delete(VERSION_KEY)  # a new version each round: a reload
        table = reader.table()
        for user_type in range(100, 200):
            assert user_type not in table.by_user_type
        assert vars(reader) == {"_table": table}
    assert isinstance(table, TierTable)
    assert len(table.tiers) == len(table.by_pk) == len(table.by_user_type) == rows


def test_selectors_read_the_copy(django_assert_num_queries):
    selectors.tiers()
    with django_assert_num_queries(0):
        assert selectors.tier_by_user_type(TierType.DIAMOND).name == "diamond"
        assert [tier.user_type for tier in selectors.tiers()] == sorted(TierType.values)
        with pytest.raises(Tier.DoesNotExist):
            selectors.tier_by_user_type(99)
