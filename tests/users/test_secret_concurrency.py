"""A code is single use even when two requests present it at the same instant (PostgreSQL)."""

import pytest

from accounts.models import SecretPurpose, User
from accounts.services import codes, passwords
from accountsite.errors import InvalidSecretError
from tests.factories import UserFactory
from tests.parallel import run_parallel


@pytest.mark.postgres
# serialized_rollback: an earlier transactional test flushes the tiers the data migration seeded.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_resets_with_one_code_succeed_once():
    user = UserFactory(username="racer")
    raw, _ = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)

    def attempt(n: int) -> str:
        try:
            passwords.password_reset(loginname="racer", sid=raw, password=f"new-Long-passw0rd-{n}")
        except InvalidSecretError:
            return "invalid"
        return f"ok{n}"

    outcomes = run_parallel(attempt, 4, threads=4)
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(outcomes) == 4 and len(winners) == 1 and outcomes.count("invalid") == 3, outcomes
    assert User.objects.get(pk=user.pk).check_password(f"new-Long-passw0rd-{winners[0][2:]}")
