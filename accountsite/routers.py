"""URL routers: every endpoint is a ViewSet action, routed from the ViewSet itself (one place to edit).

Older clients send paths with and without the trailing slash, so it is optional everywhere.
"""

from rest_framework.routers import DynamicRoute, Route, SimpleRouter

OPTIONAL_SLASH = "/?"


class Router(SimpleRouter):
    """DRF's SimpleRouter with an optional trailing slash, and POST on a record's own address
    (`create_named`: seed 004 creates a user at POST /users/{loginname})."""

    routes = [
        route._replace(mapping={**route.mapping, "post": "create_named"})
        if isinstance(route, Route) and route.detail else route
        for route in SimpleRouter.routes
    ]

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = OPTIONAL_SLASH


class SingletonRouter(Router):
    """For a resource that is one record at its address (a user's quota record, the caller's profile):
    GET, POST, PUT, PATCH and DELETE on the address itself, and the ViewSet's actions below it."""

    routes = [
        Route(url=r"^{prefix}{trailing_slash}$", name="{basename}", detail=False, initkwargs={}, mapping={
            "get": "retrieve", "post": "create", "put": "update", "patch": "partial_update", "delete": "destroy",
        }),
        DynamicRoute(url=r"^{prefix}/{url_path}{trailing_slash}$", name="{basename}-{url_name}", detail=False,
                     initkwargs={}),
    ]
