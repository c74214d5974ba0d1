"""OpenAPI: every reply documented inside its envelope (a drf-spectacular post-processing hook)."""

from typing import Any

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "msg", "data"],
    "properties": {
        "code": {"type": "integer", "description": "An error code of docs/errors.md"},
        "msg": {"type": "string"},
        "data": {"type": "object", "nullable": True},
        "error": {"type": "object", "description": "Field map or details"},
    },
}


def envelope_schema_hook(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular post-processing: document every reply inside its envelope."""
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = _ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                content = response.get("content", {}).get("application/json")
                if content is not None and str(status).startswith("2"):
                    content["schema"] = {
                        "type": "object",
                        "required": ["code", "msg", "data"],
                        "properties": {
                            "code": {"type": "integer", "enum": [0]},
                            "msg": {"type": "string", "enum": ["ok"]},
                            "data": content.get("schema", {"nullable": True}),
                        },
                    }
            responses.setdefault("default", {
                "description": "Error envelope",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            })
    return result
