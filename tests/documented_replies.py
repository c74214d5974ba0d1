"""Every reply the test suite receives from an API operation must be documented in /schema/: its HTTP
status, and for an error its code under that status (accountsite.schema builds both from the error
classes). tests/conftest.py records the replies of the Django test clients for the whole run and checks
them at its end, so a view that starts answering a new code fails the suite until the schema says so."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.test import Client
from drf_spectacular.generators import SchemaGenerator

Reply = tuple[str, str, int, int | None]  # method, path, HTTP status, envelope code (None: not an envelope)


@contextmanager
def recording(replies: set[Reply]) -> Iterator[None]:
    original = Client.request

    def request(self: Client, **kwargs: Any) -> Any:
        response = original(self, **kwargs)
        code = None
        if response.get("Content-Type", "").startswith("application/json") and not getattr(response, "streaming", 0):
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
        replies.add((kwargs["REQUEST_METHOD"].lower(), kwargs["PATH_INFO"], response.status_code, code))
        return response

    Client.request = request  # type: ignore[method-assign]
    try:
        yield
    finally:
        Client.request = original  # type: ignore[method-assign]


@cache
def _operations() -> list[tuple[re.Pattern, str, dict]]:
    """The schema's operations as (path pattern, method, operation); literal paths first (`/vip/tiers/` before
    `/vip/{loginname}/`), as the routes resolve them."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in sorted(schema["paths"].items(), key=lambda pair: pair[0].count("{")):
        pattern = re.escape(path.rstrip("/"))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        for method, operation in item.items():
            found.append((re.compile(f"^{pattern}/?$"), method, operation))
    return found


def documented(operation: dict, status: int, code: int | None) -> bool:
    response = operation["responses"].get(str(status))
    if response is None:
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    enums = [part.get("properties", {}).get("code", {}).get("enum") for part in [schema, *schema.get("allOf", [])]]
    codes = next((enum for enum in enums if enum), None)
    return code is None or codes is None or code in codes


def undocumented(replies: set[Reply]) -> list[str]:
    operations = _operations()
    problems = set()
    for method, path, status, code in replies:
        for pattern, op_method, operation in operations:
            if op_method == method and pattern.match(path):
                if not documented(operation, status, code):
                    problems.add(f"{method.upper()} {path} -> {status} code {code} ({operation['operationId']})")
                break
    return sorted(problems)
