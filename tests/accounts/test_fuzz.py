"""Any JSON or form body sent to any /auth endpoint gets an envelope and never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FIELDS = ["username", "password", "email", "login", "terminal", "refresh", "all", "old_password", "new_password",
          "oldPassword", "newPassword", "nickname", "intro", "comment", "github", "website", "is_developer",
          "real_name", "school"]
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                                           inner, max_size=3),
                      max_leaves=6)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), values, max_size=6) | values

# The suite's per-test database is shared by the examples on purpose (state piles up as it would in use).
SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
ENDPOINTS = [("post", "/auth/register"), ("post", "/auth/login"), ("post", "/auth/refresh"),
             ("post", "/auth/logout"), ("post", "/auth/password"), ("post", "/auth/unregister"),
             ("patch", "/auth/me")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@settings(max_examples=40, deadline=None, suppress_health_check=SUPPRESSED)
@given(body=bodies, signed_in=st.booleans())
def test_any_json_body_gets_an_envelope(user, method, path, body, signed_in):
    client = client_for(user, "fuzz") if signed_in else APIClient()
    client.raise_request_exception = False
    response = getattr(client, method)(path, json.dumps(body), content_type="application/json")
    assert response.status_code < 500, response.content
    reply = response.json()
    assert set(reply) >= {"code", "msg", "data"}
    assert (reply["code"] == 0) == (response.status_code < 400), reply


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@settings(max_examples=25, deadline=None, suppress_health_check=SUPPRESSED)
@given(form=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=5))
def test_any_form_body_gets_an_envelope(user, method, path, form):
    client = client_for(user, "fuzz")
    client.raise_request_exception = False
    response = getattr(client, method)(path, form, format="multipart")
    assert response.status_code < 500, response.content
    assert set(response.json()) >= {"code", "msg", "data"}
