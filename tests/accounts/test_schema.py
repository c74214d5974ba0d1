"""/schema/ documents the API for its users: summaries, descriptions, and the real replies of each operation."""

import inspect
import json

import pytest
from openapi_spec_validator import validate

from accountsite import errors
from tests.documented_replies import documented, undocumented

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    from django.test import Client

    response = Client().get("/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema):
    return [(method, path, operation) for path, item in schema["paths"].items()
            for method, operation in item.items() if method in METHODS]


def error_classes():
    found, pending = set(), [errors.ServiceError]
    while pending:
        error = pending.pop()
        found.add(error)
        pending.extend(error.__subclasses__())
    return found


def test_the_schema_is_valid_openapi(schema):
    validate(schema)


def test_every_operation_has_a_summary_a_description_for_users_and_a_tag(schema):
    from django.urls import get_resolver

    docstrings = {inspect.getdoc(view) for view in _views(get_resolver())} - {None}
    areas = {tag["name"] for tag in schema["tags"] if tag.get("description")}
    for method, path, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert operation.get("summary") and operation["summary"] != operation["operationId"], where
        assert len(operation.get("description", "")) > 20, where
        assert operation["description"] not in docstrings, f"{where} shows the code's docstring"
        assert operation.get("tags") and set(operation["tags"]) <= areas, where


def _views(resolver):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _views(pattern)
        else:
            callback = pattern.callback
            yield getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def test_every_error_reply_lists_its_codes_instead_of_a_default(schema):
    by_code_and_status = {(error.code, error.status_code) for error in error_classes()}
    codes = {error.code for error in error_classes()}
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        assert "default" not in responses, f"{method.upper()} {path}"
        for status, response in responses.items():
            body = response["content"]["application/json"] if "content" in response else None
            if int(status) < 400:
                continue
            enum = body["schema"]["allOf"][1]["properties"]["code"]["enum"]
            assert set(enum) <= codes
            assert set(body["examples"]) == {str(code) for code in enum}
            # A code under a status it does not usually have is one the operation passes on purpose
            # (8004 is 401 at sign-in, 1007 is 406, 415 and 411 for the Accept, Content-Type and Transfer-Encoding
            # headers).
            for code in enum:
                assert (code, int(status)) in by_code_and_status | {(8004, 401), (1007, 406), (1007, 415), (1007, 411)}


def test_every_operation_can_crash_and_authenticated_ones_can_refuse_the_token(schema):
    for _method, _path, operation in operations(schema):
        assert documented(operation, 500, 1001) and documented(operation, 503, 1001)
    me = schema["paths"]["/auth/me/"]["get"]
    assert documented(me, 401, 7005) and documented(me, 403, 7009) and documented(me, 403, 7006)
    tiers = schema["paths"]["/vip/tiers/"]["get"]
    assert not documented(tiers, 401, 7005), "a view without authentication never refuses a token"


@pytest.mark.parametrize(("path", "method", "status", "code"), [
    ("/vip/{loginname}/", "put", 409, 8010), ("/vip/{loginname}/", "put", 402, 8007),
    ("/vip/{loginname}/topup/", "post", 201, None), ("/auth/login/", "post", 401, 8004),
    ("/repos/", "post", 409, 8011), ("/repos/{owner}/{name}/commits/", "post", 403, 8008),
    ("/users/{loginname}/active/", "put", 400, 8005), ("/quota/{loginname}/deposit/", "post", 409, 8006),
])
def test_operations_document_the_errors_their_services_raise(schema, path, method, status, code):
    assert documented(schema["paths"][path][method], status, code)


def test_replies_the_schema_corrects(schema):
    paths = schema["paths"]
    data = paths["/users/{loginname}/pwd/"]["put"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert data["properties"]["data"]["nullable"] is True, "an operator's password set answers data: null"
    assert schema["components"]["schemas"]["User"]["properties"]["invalid_at"]["nullable"] is True
    assert "200" not in paths["/vip/{loginname}/topup/"]["post"]["responses"]
    vip = paths["/vip/{loginname}/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert vip["properties"]["data"]["properties"]["invalidTime"]["nullable"] is True


def test_the_check_of_the_suites_replies_finds_an_undocumented_code():
    assert undocumented({("get", "/vip/tiers", 200, 0)}) == []
    assert undocumented({("get", "/vip/tiers/", 409, 8011)}) == ["GET /vip/tiers/ -> 409 code 8011 (vip_tiers_list)"]
    assert undocumented({("post", "/repos", 403, 8011)}) == ["POST /repos -> 403 code 8011 (repos_create)"]
    assert undocumented({("get", "/no/such/path", 404, 1009)}) == [], "a path outside the schema is not checked"


def _reply_validator(schema, path, method, status):
    """A plain JSON Schema (draft 4, formats checked as far as `jsonschema` knows them) for one operation's
    reply, with OpenAPI's `nullable` read as drf-spectacular means it: the value may also be null."""
    from jsonschema import Draft4Validator

    def plain(node):
        if isinstance(node, list):
            return [plain(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: plain(value) for key, value in node.items() if key not in {"example", "examples"}}
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node

    root = plain(schema)
    reply = root["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    # The components beside the reply, where its `$ref`s point.
    return Draft4Validator({**reply, "components": root["components"]}, format_checker=Draft4Validator.FORMAT_CHECKER)


def _problems(validator, body):
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]


def test_replies_of_accounts_without_optional_fields_match_the_schema(schema, user_client, user, admin_client):
    """An empty `website` (most accounts) and a null `email` (sign-up without one) are what the replies
    carry: the schema must accept both without relying on a validator that knows the `uri` format."""
    type(user).objects.filter(pk=user.pk).update(email=None, website="")
    me = user_client.get("/auth/me")
    assert me.status_code == 200
    assert _problems(_reply_validator(schema, "/auth/me/", "get", 200), me.json()) == []
    found = admin_client.get("/users/", {"loginName": "alice"})
    assert found.status_code == 200 and found.json()["data"]["results"][0]["email"] is None
    assert _problems(_reply_validator(schema, "/users/", "get", 200), found.json()) == []


def test_the_pull_reply_schema_has_the_days_pulls(schema, user_client, user):
    from membership.models import TierType
    from repos.services import repository_create
    from tests.quotas.helpers import give_tier

    repository_create(owner=give_tier(user, TierType.GOLD), name="open", url="")
    reply = user_client.post("/repos/alice/open/pull")
    assert reply.status_code == 201
    assert _problems(_reply_validator(schema, "/repos/{owner}/{name}/pull/", "post", 201), reply.json()) == []
    pull = schema["components"]["schemas"]["Pull"]
    assert set(reply.json()["data"]) == set(pull["properties"])
    assert "pulls" in pull["required"]
    assert set(schema["components"]["schemas"]["PullnumQuota"]["properties"]) == {"quota", "use", "day"}


def test_money_inputs_documented_as_the_strings_the_api_takes(schema):
    """The pattern of a money string is the one money_parse reads: "10000.00", not a backslash."""
    import re

    components = schema["components"]["schemas"]
    for name, field in [("PurchaseInputRequest", "cost"), ("TopupInputRequest", "amount")]:
        pattern = next(branch["pattern"] for branch in components[name]["properties"][field]["oneOf"]
                       if branch["type"] == "string")
        assert all(re.search(pattern, ok) for ok in ("10000.00", "0.5", "20")), name
        assert not any(re.search(pattern, bad) for bad in ("10000\\00", "1.005", "1e3")), name


def test_every_example_is_of_its_propertys_type(schema):
    """Examples are attached by field name, and one name can be a size string in one schema ("2G") and a whole
    number in another: each example is of the type its property declares."""
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list}
    wrong = [f"{name}.{field}: {prop['example']!r}"
             for name, component in schema["components"]["schemas"].items()
             for field, prop in component.get("properties", {}).items()
             if "example" in prop and prop.get("type") in kinds
             and not isinstance(prop["example"], kinds[prop["type"]])]
    assert not wrong, wrong
    assert schema["components"]["schemas"]["PullnumQuota"]["properties"]["quota"]["type"] == "integer"


def test_the_deletions_that_read_a_body_describe_it(schema):
    """drf-spectacular leaves a DELETE's body out: turning a second factor off, which takes the password (and a
    code), was described in words only, so clients generated from the schema could not send it."""
    bodies = {path: operation.get("requestBody") for method, path, operation in operations(schema)
              if method == "delete"}
    assert {path for path, body in bodies.items() if body} == {"/auth/mfa/totp/", "/auth/passkeys/{id}/"}
    fields = bodies["/auth/mfa/totp/"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    component = schema["components"]["schemas"][fields]
    assert component["required"] == ["password"] and {"code", "recovery_code"} <= set(component["properties"])
