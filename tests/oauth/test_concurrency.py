"""Seed 001 codes are single use under real concurrency (PostgreSQL, parallel connections)."""

import threading

import pytest
from django.db import connection, connections

from accounts import oauth
from accountsite.errors import InvalidSecretError
from tests.factories import UserFactory

CALLBACK = "https://app.example/cb"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_parallel_exchanges_of_one_code_give_one_user():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL) for real parallel transactions; SQLite serialises writers")
    user = UserFactory(username="racer")
    issued = oauth.application_create(owner=UserFactory(username="racedev"), redirect_uris=CALLBACK)
    client_id, secret = issued.application.client_id, issued.client_secret
    codes = [oauth.seed_code_issue(user=user, target=oauth.seed_target_resolve(
        client_id=client_id, redirect_uri=CALLBACK)).code for _ in range(3)]
    barrier = threading.Barrier(4, timeout=20)
    outcomes: dict[str, list[str]] = {code: [] for code in codes}
    lock = threading.Lock()

    def exchange(code: str) -> None:
        try:
            barrier.wait()
            try:
                oauth.seed_code_exchange(client_id=client_id, client_secret=secret, code=code)
                result = "ok"
            except InvalidSecretError:
                result = "8005"
            with lock:
                outcomes[code].append(result)
        finally:
            connections.close_all()

    # four threads: two on the first code, one on each of the others
    threads = [threading.Thread(target=exchange, args=(code,)) for code in (codes[0], *codes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes[codes[0]]) == ["8005", "ok"]
    assert outcomes[codes[1]] == ["ok"] and outcomes[codes[2]] == ["ok"]
