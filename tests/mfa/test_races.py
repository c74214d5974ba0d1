"""Second factors raced with real parallel transactions on PostgreSQL: one TOTP code, one recovery code
(one of an older MFA key too) and one mfa_token each sign in once, however many requests carry them at
the same instant, and one mfa_token uses up one factor."""

import pytest
from cryptography.fernet import Fernet
from rest_framework.test import APIClient

from accounts.models import Session
from accounts.selectors import mfa_methods
from accounts.services import challenges
from accounts.services.mfa import mfa_summary
from tests.factories import UserFactory
from tests.mfa.helpers import totp_code, totp_on
from tests.parallel import run_parallel

REQUESTS, THREADS = 8, 8

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def finish(body: dict) -> int:
    return APIClient().post("/auth/login/mfa", body, format="json").status_code


@pytest.mark.parametrize("factor", ["code", "recovery_code", "token"])
def test_a_factor_or_a_token_signs_in_once(factor):
    user = UserFactory(username="alice")
    recovery = totp_on(user)[0]
    tokens = [challenges.challenge_issue(user=user, methods=mfa_methods(user), terminal=f"t{i}").token
              for i in range(REQUESTS)]
    code = totp_code(user)

    def act(index: int) -> int:
        token = tokens[0] if factor == "token" else tokens[index]
        # With one token, each request brings its own (right) factor: only the token is shared.
        value = {"code": code, "recovery_code": recovery, "token": [code, recovery][index % 2]}[factor]
        key = "recovery_code" if factor == "recovery_code" or (factor == "token" and index % 2) else "code"
        return finish({"mfa_token": token, key: value})

    outcomes = run_parallel(act, REQUESTS, threads=THREADS)
    assert sorted(outcomes).count(200) == 1, outcomes
    assert set(outcomes) <= {200, 400, 401, 429}, outcomes
    assert Session.objects.filter(user=user).count() == 1


def test_one_token_with_many_recovery_codes_uses_up_one_code():
    user = UserFactory(username="alice")
    recovery = totp_on(user)
    token = challenges.challenge_issue(user=user, methods=mfa_methods(user), terminal="t").token

    outcomes = run_parallel(lambda index: finish({"mfa_token": token, "recovery_code": recovery[index]}),
                            REQUESTS, threads=THREADS)
    assert sorted(outcomes).count(200) == 1, outcomes
    assert set(outcomes) <= {200, 401, 429}, outcomes
    assert mfa_summary(user)["recovery_codes_left"] == len(recovery) - 1


def test_a_recovery_code_of_an_older_key_signs_in_once(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MFA_KEYS = [old]
    user = UserFactory(username="alice")
    recovery = totp_on(user)[0]
    settings.MFA_KEYS = [new, old]  # the code is found by its hash under the second key
    tokens = [challenges.challenge_issue(user=user, methods=mfa_methods(user), terminal=f"t{i}").token
              for i in range(REQUESTS)]

    outcomes = run_parallel(lambda index: finish({"mfa_token": tokens[index], "recovery_code": recovery}),
                            REQUESTS, threads=THREADS)
    assert sorted(outcomes).count(200) == 1, outcomes
    assert Session.objects.filter(user=user).count() == 1
