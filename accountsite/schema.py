"""OpenAPI for API users: every operation's summary, description and real replies, inside the envelope.

Each app documents its operations in `<app>/api_docs.py`: `OPERATIONS` maps an operationId to an `Doc`
(summary, description, and the error classes its services raise). `EnvelopeAutoSchema` (DRF's schema
class) adds what follows from the view itself: every view can crash (1001), a view that authenticates
can refuse a token (7005) or its account's status (7008, 7009), an operation that is not open to anyone
can be refused by the policy (7006), a path that names something can name nothing (1009), a query or body
can be malformed, of the wrong type or too large (1007, 1013). The replies are listed by HTTP status with the
codes each can carry, built from the classes of accountsite.errors, so the documented codes are the
raised ones; tests/accounts/test_schema.py checks that no reply the suite sees is undocumented.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema

from accountsite import errors
from accountsite.policy import POLICY

ErrorSpec = type[errors.ServiceError] | tuple[type[errors.ServiceError], int]
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}  # a DELETE may read a body: the password, say
ERROR_ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


@dataclass(frozen=True)
class Doc:
    """One operation for its users. `errors`: what its services and view raise besides the refusals every
    view of its kind can give (see the module docstring); a class, or (class, status) when the operation
    answers that code with another status. `status`: the success status when the view's own schema has
    another; `data`: the schema of the reply's `data` when the view's serializers do not describe it;
    `nullable`: `data` may be null (said in the description)."""

    summary: str
    description: str
    errors: tuple[ErrorSpec, ...] = ()
    status: int | None = None
    data: Mapping[str, Any] | None = None
    nullable: bool = False


def _docs_of(view: Any) -> Mapping[str, Doc]:
    """The OPERATIONS table of the app a view belongs to (`<app>/api_docs.py`)."""
    package = type(view).__module__.split(".")[0]
    try:
        return import_module(f"{package}.api_docs").OPERATIONS
    except ModuleNotFoundError:
        return {}


def derived_errors(view: Any, method: str, path: str) -> list[ErrorSpec]:
    """The refusals that follow from the view's kind, whatever the operation does."""
    # Any request may carry a malformed query, header or body, more fields than Django reads (in the query too),
    # a body without a length (411), or ask for a type the API does not answer in.
    found: list[ErrorSpec] = [errors.ServiceError, errors.DependencyDownError, errors.InvalidParametersError,
                              (errors.InvalidParametersError, 406), (errors.InvalidParametersError, 411),
                              errors.RequestTooLargeError]
    if method in BODY_METHODS:
        found.append((errors.InvalidParametersError, 415))
    if getattr(view, "authentication_classes", ()):
        found += [errors.NotAuthenticatedError, errors.AccountNotActivatedError, errors.AccountDisabledError]
    action = getattr(view, "action", None) or method.lower()
    op = getattr(view, "operations", {}).get(action)
    if op is None or not POLICY[op].anyone:
        found += [errors.NotAuthenticatedError, errors.PermissionDeniedError]
    if "{" in path:
        found.append(errors.NotFoundError)
    return found


def error_example(error: type[errors.ServiceError]) -> dict:
    return {"code": error.code, "msg": error.message, "data": None}


def error_responses(specs: Iterable[ErrorSpec]) -> dict[str, dict]:
    """The error replies of an operation, one per HTTP status, each naming the codes it may carry."""
    by_status: dict[int, dict[int, type[errors.ServiceError]]] = defaultdict(dict)
    for spec in specs:
        error, status = spec if isinstance(spec, tuple) else (spec, spec.status_code)
        by_status[status].setdefault(error.code, error)
    responses = {}
    for status, by_code in sorted(by_status.items()):
        codes = sorted(by_code)
        response: dict[str, Any] = {
            "description": " ".join(f"{code}: {by_code[code].message}" for code in codes),
            "content": {"application/json": {
                "schema": {"allOf": [ERROR_ENVELOPE, {"type": "object", "properties": {
                    "code": {"type": "integer", "enum": codes}}}]},
                "examples": {str(code): {"summary": by_code[code].message, "value": error_example(by_code[code])}
                             for code in codes},
            }},
        }
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[str(status)] = response
    return responses


def success_envelope(data: Mapping[str, Any] | None) -> dict:
    return {"type": "object", "required": ["code", "msg", "data"], "properties": {
        "code": {"type": "integer", "enum": [0]}, "msg": {"type": "string", "enum": ["ok"]},
        "data": data if data is not None else {"nullable": True}}}


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular's schema, with each operation's documentation (`<app>/api_docs.py`) and its replies
    inside the envelope: the success reply's `data`, and the error replies it can give instead of a
    catch-all `default`."""

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        doc = _docs_of(self.view).get(operation["operationId"])
        if doc is None:
            warn(f"{operation['operationId']} has no entry in its app's api_docs.OPERATIONS")
            doc = Doc(summary=operation["operationId"], description="")
        operation["summary"], operation["description"] = doc.summary, doc.description
        if method == "DELETE":
            self._delete_body(operation)
        responses = operation["responses"]
        for status in [status for status in responses if status.startswith("2")]:
            response = responses.pop(status)
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            data = doc.data if doc.data is not None else schema
            if doc.nullable and data is not None:
                data = {"allOf": [data], "nullable": True} if "$ref" in data else {**data, "nullable": True}
            responses[str(doc.status or status)] = {
                "description": response["description"] or ("Created" if str(doc.status or status) == "201" else "OK"),
                "content": {"application/json": {"schema": success_envelope(data)}},
            }
        responses.update(error_responses([*derived_errors(self.view, method, path), *doc.errors]))
        return operation

    def _delete_body(self, operation: dict) -> None:
        """drf-spectacular describes the bodies of POST, PUT and PATCH only: a DELETE that reads one (turning a
        second factor off takes the password) has the body it declares described too."""
        declared = self.get_request_serializer()
        if declared is None:
            return
        schema = self.resolve_serializer(declared, "request").ref
        operation["requestBody"] = {"content": {media_type: {"schema": schema} for media_type in self.map_parsers()},
                                    "required": True}


_ERROR_ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["code", "msg", "data"],
    "properties": {
        "code": {"type": "integer", "description": "the error code (docs/errors.md)"},
        "msg": {"type": "string", "description": "one sentence for a person; may change"},
        "data": {"type": "object", "nullable": True, "enum": [None]},
        "error": {"description": "what a program can act on: a field map for 1007, details for others"},
    },
}

# Realistic values for the fields and parameters of every schema, by name (Swagger UI shows them).
EXAMPLES: Mapping[str, Any] = {
    "username": "alice", "loginname": "alice", "login": "alice", "owner": "alice", "user": "bob",
    "author": "alice", "actor": "root", "email": "alice@example.com", "password": "correct-horse-battery-9",
    "old_password": "correct-horse-battery-9", "new_password": "staple-Tunnel-42x", "pwd": "correct-horse-battery-9",
    "terminal": "laptop", "nickname": "Alice", "real_name": "Alice Liddell", "intro": "Data wrangler.",
    "comment": "Data wrangler.", "github": "alice", "school": "Oxford", "website": "https://alice.example",
    "refresh": "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJyZWZyZXNoIn0.c2lnbmF0dXJl",
    "access": "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJhY2Nlc3MifQ.c2lnbmF0dXJl", "token_type": "Bearer",
    "expires_at": "2026-11-29T18:45:00Z", "created_at": "2026-11-29T18:30:00Z", "updated_at": "2026-11-29T18:30:00Z",
    "registered_at": "2026-01-05T09:12:00Z", "last_login": "2026-11-29T18:30:00Z",
    "last_seen_at": "2026-11-29T18:31:00Z", "invalid_at": "2027-11-29T18:30:00Z",
    "invalidTime": "2027-11-29T18:30:00Z", "ip": "203.0.113.7", "user_agent": "curl/8.5.0",
    "sid": "q3Xj0dT1nUe4h9mKc2Vw7bYpLz5RsA8fGiOk6NxEuHa", "name": "dataset-2026", "repo": "dataset-2026",
    "repo_name": "dataset-2026", "description": "Cleaned survey data, 2026 wave.",
    "url": "https://example.org/dataset", "content": "add survey wave 3", "message": "add survey wave 3",
    "size": 1048576, "secret": "pull-secret-1", "userType": 3, "type": 3, "validity": 1, "cost": "10000.00",
    "amount": "20000.00", "balance": "10000.00", "balance_after": "20000.00", "fee": "10000.00",
    "note": "bank transfer 2026-11-29", "quota": "2G", "quotaBytes": 2147483648, "use": "5M", "useBytes": 5242880,
    "quotaPublic": 30, "quotaPrivate": 30, "usePublic": 2, "usePrivate": 1, "public": 30, "private": 30,
    "unit": "M", "day": "2026-11-29", "repoPub": 30, "repoPri": 30, "pullNum": 500, "deposit": "2G",
    "depositBytes": 2147483648, "payWay": 1, "redirect_uris": "https://app.example/callback",
    "redirect_uri": "https://app.example/callback", "client_id": "J7nQh2sR0fT8uV5wX1yZ3aB6cD9eF4gH",
    "secret_id": "J7nQh2sR0fT8uV5wX1yZ3aB6cD9eF4gH", "client_secret": "s3cr3t-v4lue-shown-once",
    "secret_value": "s3cr3t-v4lue-shown-once", "authorization_code": "Vb9kQ2mX7pL4zR1t", "code": "Vb9kQ2mX7pL4zR1t",
}


_JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                            "boolean": (bool,), "array": (list,), "object": (dict,)}


def _example_fits(value: Any, prop: dict) -> bool:
    """Whether an example value is of the type the property declares: a name such as `quota` is a size
    string ("2G") on one schema and a whole number on another, and an example of the wrong type is shown as
    the value to send. A property that declares no type (a oneOf, say) takes the example."""
    kind = prop.get("type")
    if kind is None:
        return True
    fits = isinstance(value, _JSON_TYPES.get(kind, ()))
    return fits and not (isinstance(value, bool) and kind in ("integer", "number"))


def _add_examples(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    for name, prop in schema.get("properties", {}).items():
        if (isinstance(prop, dict) and name in EXAMPLES and "example" not in prop and "$ref" not in prop
                and _example_fits(EXAMPLES[name], prop)):
            prop["example"] = EXAMPLES[name]


_BLANK = {"type": "string", "maxLength": 0}


def _blank_as_any_of(node: Any) -> None:
    """drf-spectacular writes a blank-allowed e-mail or URL field as `oneOf: [<format>, <blank>]`, but "" fits
    both wherever the format is not asserted (JSON Schema's default, and `uri` in most validators), so every
    reply with an empty `website` or `url` failed `oneOf`: `anyOf` says the same and holds either way."""
    if isinstance(node, list):
        for item in node:
            _blank_as_any_of(item)
    elif isinstance(node, dict):
        if _BLANK in node.get("oneOf", ()):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _blank_as_any_of(value)


def envelope_schema_hook(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular post-processing: the error envelope's schema, example values, blank-allowed fields
    as `anyOf`, and no component descriptions (those are the serializers' docstrings, written for
    maintainers)."""
    _blank_as_any_of(result)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for schema in schemas.values():
        if "enum" not in schema:
            schema.pop("description", None)
        _add_examples(schema)
    schemas["ErrorEnvelope"] = _ERROR_ENVELOPE_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if (parameter.get("in") == "path" and parameter["name"] in EXAMPLES
                        and _example_fits(EXAMPLES[parameter["name"]], parameter.get("schema", {}))):
                    parameter.setdefault("example", EXAMPLES[parameter["name"]])
    return result
