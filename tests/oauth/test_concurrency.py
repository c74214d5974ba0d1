"""Codes (seed 001 and standard) are single use under real concurrency (PostgreSQL, parallel connections)."""

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken

from accounts.oauth import applications, seed
from accountsite.errors import InvalidSecretError
from tests.conftest import browser_sign_in
from tests.factories import UserFactory
from tests.oauth.conftest import code_for, exchange
from tests.parallel import run_parallel

CALLBACK = "https://app.example/cb"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_parallel_exchanges_of_one_code_give_one_user():
    user = UserFactory(username="racer")
    issued = applications.application_create(owner=UserFactory(username="racedev"), redirect_uris=CALLBACK)
    client_id, secret = issued.application.client_id, issued.client_secret
    codes = [seed.seed_code_issue(user=user, target=seed.seed_target_resolve(
        client_id=client_id, redirect_uri=CALLBACK)).code for _ in range(3)]
    attempts = (codes[0], *codes)  # two on the first code, one on each of the others

    def exchange(index: int) -> str:
        try:
            seed.seed_code_exchange(client_id=client_id, client_secret=secret, code=attempts[index])
        except InvalidSecretError:
            return "invalid"
        return "ok"

    results = run_parallel(exchange, len(attempts), threads=len(attempts))
    outcomes = {code: [r for a, r in zip(attempts, results, strict=True) if a == code] for code in codes}
    assert sorted(outcomes[codes[0]]) == ["invalid", "ok"]
    assert outcomes[codes[1]] == ["ok"] and outcomes[codes[2]] == ["ok"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_parallel_exchanges_of_one_authorization_code_give_one_set_of_tokens():
    user = UserFactory(username="racer2")
    issued = applications.application_create(owner=UserFactory(username="racedev2"), redirect_uris=CALLBACK)
    browser = Client()
    browser_sign_in(browser, user)
    code, verifier = code_for(browser, issued.application)

    results = run_parallel(lambda _index: exchange(code, verifier, issued.application, issued.client_secret),
                           2, threads=2)
    assert sorted(reply.status_code for reply in results) == [200, 400]
    assert AccessToken.objects.count() == 1
