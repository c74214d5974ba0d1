"""The wire format for paths outside any app: unknown paths, health, docs."""

import pytest

from accountsite import errors
from tests.conftest import envelope


@pytest.mark.django_db
def test_unknown_path_is_1009(anon_client):
    envelope(anon_client.get("/no/such/path"), errors.NotFoundError)


@pytest.mark.django_db
def test_healthz_reports_database_and_cache(anon_client):
    body = envelope(anon_client.get("/healthz"), status=200)
    assert body["data"] == {"database": "ok", "cache": "ok"}
