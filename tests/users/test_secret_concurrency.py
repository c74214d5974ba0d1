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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_codes_issued_at_once_leave_only_one_working():
    """A new code ends the user's earlier ones of its purpose. Two issued at the same instant (two e-mail change
    requests, two workers preparing two reset mails) each voided what it saw, neither the other's uncommitted
    row: both stayed open. The user's row is held while a code is issued, so the second sees the first."""
    user = UserFactory(username="twice")

    def issue(n: int) -> str:
        return codes.secret_issue(user=user, purpose=SecretPurpose.EMAIL_CHANGE, new_email=f"n{n}@example.com")[0]

    for _ in range(10):
        issued = run_parallel(issue, 2, threads=2)
        assert all(isinstance(raw, str) for raw in issued), issued
        assert user.secrets.filter(purpose=SecretPurpose.EMAIL_CHANGE, used_at__isnull=True).count() == 1
