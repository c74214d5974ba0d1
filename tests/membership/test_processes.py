"""Two real gunicorn processes sharing PostgreSQL and Redis: each serves tiers from its own copy of the tier
table, and a tier changed in another process reaches both at their next request (membership.tiers)."""

from decimal import Decimal

import pytest
from django.conf import settings

from membership.models import Tier, TierType
from tests.servers import call, database_url, gunicorn

# serialized_rollback: the flush after each test would otherwise drop the tiers seeded by a migration.
pytestmark = [
    pytest.mark.processes, pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def gold_fee(port: int) -> str:
    status, body = call(port, "GET", "/vip/tiers")
    assert (status, body["code"]) == (200, 0), body
    return next(tier["fee"] for tier in body["data"] if tier["userType"] == TierType.GOLD)


def test_a_tier_changed_in_another_process_is_seen_by_every_worker(tmp_path):
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs Redis (REDIS_URL): without a shared cache each process has its own version")
    with gunicorn({"DATABASE_URL": database_url(), "CONN_MAX_AGE": "0"}, tmp_path, count=2) as servers:
        ports = [server.port for server in servers]
        assert [gold_fee(port) for port in ports] == ["10000.00", "10000.00"]  # each worker has its copy

        # Around the ORM (no signal, no new version): the workers keep serving their copies.
        Tier.objects.filter(user_type=TierType.GOLD).update(fee=Decimal("11111.00"))
        assert [gold_fee(port) for port in ports] == ["10000.00", "10000.00"]

        # Through the ORM, as the back office saves it: committed here, a new version in Redis.
        tier = Tier.objects.get(user_type=TierType.GOLD)
        tier.fee = Decimal("12345.00")
        tier.save()
        assert [gold_fee(port) for port in ports] == ["12345.00", "12345.00"]
