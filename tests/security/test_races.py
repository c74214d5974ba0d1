"""Sign-ins racing a credential change, with real parallel transactions on PostgreSQL.

The review signed in with the old password while POST /auth/password ran, and 5 times out of 5 such
sign-ins outlived the change; sign-ins racing a freeze came back to life when the account was restored.
Here logins run beside the change with the real Argon2id hasher, so each spends the real ~20 ms between
checking the password and opening its session.
"""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Session, User, UserStatus
from accounts.services import passwords, sessions, users
from tests.factories import PASSWORD, UserFactory
from tests.parallel import run_parallel

LOGINS, THREADS, TRIALS = 12, 6, 3
ARGON2 = ["accounts.hashers.OWASPArgon2PasswordHasher"]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def login(index: int, password: str) -> int:
    reply = APIClient().post("/auth/login", {"username": "alice", "password": password, "terminal": f"t{index}"},
                             format="json", REMOTE_ADDR=f"198.51.100.{index + 1}")
    return reply.status_code


def test_logins_with_the_old_password_do_not_outlive_a_password_change(settings):
    settings.PASSWORD_HASHERS = ARGON2
    user = UserFactory(username="alice")
    old = PASSWORD
    for trial in range(TRIALS):
        cache.clear()  # the failed attempts of the last trial would lock the account
        keeper, _pair = sessions.session_start(user=User.objects.get(pk=user.pk), terminal="keeper", ip="127.0.0.1",
                                               user_agent="test")
        new = f"Trial-{trial}-new-passw0rd"

        def act(index: int, old: str = old, new: str = new, keeper: Session = keeper) -> int:
            if index == LOGINS // 3:
                passwords.password_change(user=User.objects.get(pk=user.pk), old_password=old, new_password=new,
                                         ip="127.0.0.1", session=keeper)
                return 0
            return login(index, old)

        outcomes = run_parallel(act, LOGINS, threads=THREADS)
        assert all(outcome in (0, 200, 401, 429) for outcome in outcomes), outcomes
        live = Session.objects.filter(user=user, revoked_at__isnull=True)
        assert list(live.values_list("terminal", flat=True)) == ["keeper"], (trial, outcomes)
        old = new


def test_logins_racing_a_freeze_stay_dead_after_the_restore(settings):
    settings.PASSWORD_HASHERS = ARGON2
    user = UserFactory(username="alice")
    for trial in range(TRIALS):
        def act(index: int) -> int:
            if index == LOGINS // 3:
                users.user_status_set(user=User.objects.get(pk=user.pk), status=UserStatus.FROZEN, actor=None)
                return 0
            return login(index, PASSWORD)

        outcomes = run_parallel(act, LOGINS, threads=THREADS)
        assert all(outcome in (0, 200, 403, 429) for outcome in outcomes), outcomes
        users.user_status_set(user=User.objects.get(pk=user.pk), status=UserStatus.ACTIVE, actor=None)
        assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists(), (trial, outcomes)
