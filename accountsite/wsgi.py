"""WSGI entry point (gunicorn accountsite.wsgi): Django's application, with the plain GETs of the signed-in
caller's profile answered in a fast lane before its handler (accountsite.fastpath.FastLanes), and HEAD
replies sent without their body."""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
django_application = get_wsgi_application()

from accountsite.fastpath import FastLanes  # noqa: E402 - it reads DRF's settings: after Django is set up


class HeadWithoutBody:
    """`application`, with the body of each HEAD reply left out (its headers, Content-Length included, stay
    those of the GET). Django's handler renders HEAD as GET; gunicorn 27 drops the body but logs a WARNING
    for every such request, so a load balancer's HEAD /healthz filled the log."""

    def __init__(self, application: Callable) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        body = self.application(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return body
        close = getattr(body, "close", None)
        if close is not None:
            close()  # ends the request for Django (request_finished) as the server's close would have
        return []


application = HeadWithoutBody(FastLanes(django_application, paths=["/auth/me"]))
