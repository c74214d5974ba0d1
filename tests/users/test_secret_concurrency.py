"""A code is single use even when two requests present it at the same instant (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from accounts import services
from accounts.models import SecretPurpose, User
from accountsite.errors import InvalidSecretError
from tests.factories import UserFactory


@pytest.mark.postgres
# serialized_rollback: an earlier transactional test flushes the tiers the data migration seeded.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_resets_with_one_code_succeed_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections on PostgreSQL (this run uses SQLite)")
    user = UserFactory(username="racer")
    raw, _ = services.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.password_reset(loginname="racer", sid=raw, password=f"new-Long-passw0rd-{n}")
            outcomes.append(f"ok{n}")
        except InvalidSecretError:
            outcomes.append("8005")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(outcomes) == 4 and len(winners) == 1 and outcomes.count("8005") == 3, outcomes
    assert User.objects.get(pk=user.pk).check_password(f"new-Long-passw0rd-{winners[0][2:]}")
