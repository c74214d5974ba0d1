"""The platform's own operations, for API users (accountsite.schema)."""

from accountsite.schema import Doc

OPERATIONS = {
    "root_retrieve": Doc(
        "The service and where to go from here",
        "The service's name and version, and links to this reference (`/docs/`), the OpenAPI schema "
        "(`/schema/`), the back office (`/admin/`), the health check (`/healthz`) and the OpenID Connect "
        "discovery document. No sign-in needed."),
    "healthz_retrieve": Doc(
        "Health check",
        "Whether the database and the shared cache answer: `{\"database\": \"ok\", \"cache\": \"ok\"}`. When one "
        "does not, the reply is 1001 with status 503 and `error` says which (`\"down\"`). For load balancers "
        "and monitoring; no sign-in needed.",
        data={"type": "object", "properties": {"database": {"type": "string", "enum": ["ok"]},
                                               "cache": {"type": "string", "enum": ["ok"]}}}),
}
