"""Plain Django answers for the commonest read of the API, with the full stack's reply byte for byte.

The hottest request (a signed-in client reading its own profile) cost more in the layers around it than
in its own work: DRF's dispatch (the request wrapper, content negotiation, the authentication and
permission loops, rendering), then Django's middleware chain and URL resolution. Two levels skip them:

- `with_fast_read(view, answer)` puts a plain function before a DRF view. The function answers the plain
  case (a GET with no query string that accepts JSON) and gives every other request, and any case it is
  unsure of (it returns None), to the view.
- `FastLanes` is the WSGI application (accountsite.wsgi): Django's, with the plain GETs of a few paths
  given to that same function before Django's handler runs. The middleware's work for such a request
  does not depend on the request beyond its scheme (see `_lane_request`), so the headers the middleware
  adds are learned once per process and scheme, by passing the first reply through the real middleware
  chain, and reused.

Errors are never answered here: Django's handler, the view, its exception handler and its envelope stay
the only error flow.
"""

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve, set_script_prefix

from accountsite.audit import request_ip_held
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


@dataclass(frozen=True)
class FastRead:
    """A DRF view's plain GET, answered by `answer` and rendered as the view would render it."""

    answer: FastAnswer
    allow: str
    renderer: EnvelopeRenderer
    vary_accept: bool  # DRF's `Vary: Accept`, which it adds when the view renders in more than one type

    def body(self, request: HttpRequest) -> bytes | None:
        """The reply's body for a GET with no query string, or None: the view must answer."""
        if not accepts_json_plainly(request):
            return None
        data = self.answer(request)
        return None if data is None else self.renderer.render({"code": 0, "msg": "ok", "data": data})

    def response(self, body: bytes) -> HttpResponse:
        """The reply as the view gives it, before the middleware."""
        response = HttpResponse(body, content_type="application/json")
        if self.vary_accept:
            response["Vary"] = "Accept"
        response["Allow"] = self.allow
        return response


def with_fast_read(view: Any, answer: FastAnswer) -> Any:
    """`view` (a DRF view function) with `answer` trying each plain GET first (see the module's text)."""
    fast_read = FastRead(answer, _allowed_methods(view), EnvelopeRenderer(), len(view.cls.renderer_classes) > 1)

    @functools.wraps(view)  # keeps `cls`, `actions`, `initkwargs` and `csrf_exempt` for routers and the schema
    def fast(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET" and not request.META.get("QUERY_STRING"):
            body = fast_read.body(request)
            if body is not None:
                return fast_read.response(body)
        return view(request, *args, **kwargs)

    fast.fast_read = fast_read  # type: ignore[attr-defined]  # FastLanes finds it through the URL conf
    return fast


class _MiddlewareOnly(BaseHandler):
    """Django's middleware chain with a given response where URL resolution and the view would be."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__()
        self.response = response
        self.load_middleware()

    def _get_response(self, request: HttpRequest) -> HttpResponse:
        return self.response


class _Reply:
    """A lane's body; closing it ends the request for Django as closing its response would."""

    def __init__(self, body: bytes, handler_class: type) -> None:
        self.body, self.handler_class = body, handler_class

    def __iter__(self) -> Iterator[bytes]:
        return iter((self.body,))

    def close(self) -> None:
        signals.request_finished.send(sender=self.handler_class)


Headers = list[tuple[str, str]]


class FastLanes:
    """A WSGI application: `application` (Django's), with the plain GETs of `paths` answered by their views'
    FastRead before Django's handler runs; every other request, and any the answer declines, goes to
    `application` untouched."""

    def __init__(self, application: WSGIHandler, paths: Iterable[str]) -> None:
        self.application = application
        self.paths = frozenset(paths)
        self._fast_reads: dict[str, FastRead] | None = None  # found in the URL conf at the first request
        self._headers: dict[bool, Headers | None] = {}  # by scheme (secure or not): what the middleware adds
        setting_changed.connect(self._forget)

    def _forget(self, **kwargs: Any) -> None:
        self._fast_reads = None
        self._headers.clear()

    def _fast_read(self, path: str) -> FastRead | None:
        if self._fast_reads is None:
            found = {}
            for lane_path in self.paths:
                try:
                    fast_read = getattr(resolve(lane_path).func, "fast_read", None)
                except Resolver404:
                    fast_read = None
                if fast_read is not None:
                    found[lane_path] = fast_read
            self._fast_reads = found
        return self._fast_reads.get(path)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in self.paths and _lane_request(environ):
            fast_read = self._fast_read(path)
            if fast_read is not None:
                reply = self._answer(fast_read, environ, start_response)
                if reply is not None:
                    return reply
        return self.application(environ, start_response)

    def _answer(self, fast_read: FastRead, environ: dict[str, Any], start_response: Callable) -> _Reply | None:
        request = self.application.request_class(environ)
        try:
            request.get_host()  # ALLOWED_HOSTS: Django's handler answers a host it refuses
        except DisallowedHost:
            return None
        secure = request.is_secure()
        if secure in self._headers and self._headers[secure] is None:
            return None  # the middleware answers such requests itself (a redirect to HTTPS, say)
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=type(self.application), environ=environ)
        try:
            with request_ip_held(request):
                body = fast_read.body(request)
            headers = self._headers.get(secure) or self._learn(secure, fast_read, request, body)
        except Exception:  # Django's handler answers it, and logs it, through the one error flow
            body = headers = None
        if body is None or headers is None:
            signals.request_finished.send(sender=type(self.application))
            return None
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return _Reply(body, type(self.application))

    def _learn(self, secure: bool, fast_read: FastRead, request: HttpRequest, body: bytes | None) -> Headers | None:
        """What the middleware adds to this reply: it passes through the real chain once, and its headers
        (but its length) are kept for every later reply of the same scheme. A reply the middleware changes
        otherwise (a redirect, a cookie) is never answered by the lane."""
        if body is None:
            return None
        response = _MiddlewareOnly(fast_read.response(body)).get_response(request)
        if (not isinstance(response, HttpResponse) or response.status_code != 200 or response.cookies
                or response.content != body):
            self._headers[secure] = None
            return None
        headers = [(name, value) for name, value in response.items() if name.lower() != "content-length"]
        self._headers[secure] = headers
        return headers


def _lane_request(environ: dict[str, Any]) -> bool:
    """A request whose passage through the middleware depends on its scheme alone: a GET without a query
    string, a body or an Origin (CORS), accepting plain JSON, and no setting that makes the middleware look
    at the host name or the user agent (PREPEND_WWW, DISALLOWED_USER_AGENTS)."""
    return (environ.get("REQUEST_METHOD") == "GET" and not environ.get("QUERY_STRING")
            and environ.get("CONTENT_LENGTH") in (None, "", "0") and "HTTP_TRANSFER_ENCODING" not in environ
            and "HTTP_ORIGIN" not in environ and not settings.PREPEND_WWW and not settings.DISALLOWED_USER_AGENTS)
