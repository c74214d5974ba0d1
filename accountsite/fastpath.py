"""A plain Django answer for the commonest request of a DRF view, with DRF's reply byte for byte.

The hottest read of the API (a signed-in client reading its own profile) spent more time in DRF's
dispatch (the request wrapper, content negotiation, the authentication and permission loops, the
response's rendering) than in its own work. `with_fast_read` puts a plain function before the view: it
answers the plain case itself (a GET with no query string that accepts JSON) and gives every other
request, and any case it is unsure of (it returns None), to the view. Errors are never answered here:
the view, its exception handler and its envelope stay the only error flow.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from accountsite.envelope import EnvelopeRenderer

FastAnswer = Callable[[HttpRequest], Any]  # the reply's `data`, or None: the view answers instead

_JSON_RANGES = frozenset({"*/*", "application/json", "application/*"})


def accepts_json_plainly(request: HttpRequest) -> bool:
    """True when DRF's negotiation would pick JSON with no parameters (an indent, a version): no Accept
    header, or media ranges without parameters of which one admits JSON. Anything else goes through DRF."""
    accept = request.META.get("HTTP_ACCEPT", "")
    if not accept:
        return True
    return ";" not in accept and not _JSON_RANGES.isdisjoint(media.strip() for media in accept.split(","))


def _allowed_methods(view: Any) -> str:
    """The `Allow` header DRF's view sets: the methods its actions map, plus OPTIONS (and HEAD with GET)."""
    view_class = view.cls
    mapped = set(view.actions)
    if "get" in mapped:
        mapped.add("head")
    return ", ".join(method.upper() for method in view_class.http_method_names
                     if method in mapped or (method == "options" and hasattr(view_class, "options")))


def with_fast_read(view: Any, answer: FastAnswer) -> Any:
    """`view` (a DRF view function) with `answer` trying each plain GET first (see the module's text)."""
    allow = _allowed_methods(view)
    renderer = EnvelopeRenderer()

    @functools.wraps(view)  # keeps `cls`, `actions`, `initkwargs` and `csrf_exempt` for routers and the schema
    def fast(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET" and not request.META.get("QUERY_STRING") and accepts_json_plainly(request):
            data = answer(request)
            if data is not None:
                response = HttpResponse(renderer.render({"code": 0, "msg": "ok", "data": data}),
                                        content_type="application/json")
                response["Allow"] = allow
                return response
        return view(request, *args, **kwargs)

    return fast
