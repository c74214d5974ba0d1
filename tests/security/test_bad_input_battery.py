"""The bad-input battery of issue 11: every write operation of /schema/ with every hostile value in every
field of its body, sent by an operator (who gets past the permission checks to the validation), and the
same values in its path: never a 5xx, always the envelope. Runs on PostgreSQL in the PostgreSQL pass,
where NUL in text and integers past bigint used to crash."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from membership.models import TierType
from repos.services import repository_create
from tests.conftest import client_for
from tests.factories import AdminFactory, UserFactory
from tests.quotas.helpers import give_tier

pytestmark = pytest.mark.django_db

# Raw JSON, so that lone surrogates and numbers Python would not write reach the parser as a client sends them.
HOSTILE = ['"a\\u0000b"', '"\\ud800"', '"\\u202e\\u0661\\u0662"', '"\\uff11\\uff12"', '" 12 "', '"1e3"', "1e999", "1.5",
           "-1", "18446744073709551616", '"99999999999999999999999999"', "true", "null", '[{"a": []}]', '""',
           '"' + "x" * 5000 + '"', '"<script>\\t\\r\\n"']
PATH_HOSTILE = ["a%00", "%FF%FE", "x" * 300, "..", "%2e%2e", "%E2%80%AE"]


def _write_operations() -> list[tuple[str, str, list[str]]]:
    """(method, path, body fields) of every write operation."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {})
            ref = content.get("schema", {}).get("$ref", "")
            fields = list(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})) if ref else []
            operations.append((method, path, fields))
    return sorted(operations)


OPERATIONS = _write_operations()


def _concrete(path: str, value: str = "") -> str:
    path = path.replace("/auth/sessions/{id}", "/auth/sessions/6e98652a-4436-476a-8fb8-473c2718fe02")
    for name, default in (("{loginname}", "alice"), ("{owner}", "alice"), ("{name}", "open"), ("{id}", "1")):
        path = path.replace(name, value or default)
    return path


@pytest.fixture
def operator():
    alice = give_tier(UserFactory(username="alice"), TierType.GOLD)
    repository_create(owner=alice, name="open")
    client = client_for(AdminFactory(username="root"))
    client.raise_request_exception = False
    return client


def _assert_envelope(response, context) -> None:
    assert response.status_code < 500, (context, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), (context, response["Content-Type"])
    assert {"code", "msg", "data"} <= set(response.json()), context


def test_the_battery_covers_the_write_operations():
    assert len(OPERATIONS) > 25 and sum(bool(fields) for _m, _p, fields in OPERATIONS) > 20


@pytest.mark.parametrize(("method", "path", "fields"), OPERATIONS, ids=[f"{m} {p}" for m, p, _f in OPERATIONS])
def test_hostile_values_in_every_field_never_get_a_5xx(operator, method, path, fields):
    for value in HOSTILE:
        bodies = [f'{{"{field}": {value}}}' for field in fields] or [value]
        bodies.append("{" + ", ".join(f'"{field}": {value}' for field in fields) + "}")
        for body in bodies:
            response = getattr(operator, method)(_concrete(path), body, content_type="application/json")
            _assert_envelope(response, (method, path, body[:80]))


@pytest.mark.parametrize(("method", "path", "fields"), [op for op in OPERATIONS if "{" in op[1]],
                         ids=[f"{m} {p}" for m, p, _f in OPERATIONS if "{" in p])
def test_hostile_path_parameters_never_get_a_5xx(operator, method, path, fields):
    body = json.dumps(dict.fromkeys(fields, "1"))
    for value in PATH_HOSTILE:
        response = getattr(operator, method)(_concrete(path, value), body, content_type="application/json")
        _assert_envelope(response, (method, path, value))
