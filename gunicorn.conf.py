"""gunicorn's settings for this service. gunicorn reads ./gunicorn.conf.py from its working directory, so
`gunicorn accountsite.wsgi ...` started from the repository's root, as the README and docs/operations.md show,
uses them; options given on the command line still win."""

import gc
import json
from http import HTTPStatus
from socket import socket

from gunicorn import util

# The replies gunicorn writes itself, for a request it cannot parse (the application never sees it), in the
# API's envelope (docs/errors.md) instead of gunicorn's HTML page: gunicorn's status -> (status, code, msg).
# An unknown transfer coding is the client's input, so 400 rather than gunicorn's 501.
REFUSALS = {
    400: (400, 1007, "The request is not valid HTTP/1.1."),
    403: (403, 7006, "This request is forbidden."),
    414: (414, 1007, "The request line is too long."),
    417: (417, 1007, "The request's Expect header cannot be met."),
    431: (431, 1007, "The request's header fields are too large."),
    501: (400, 1007, "The request's transfer coding is not supported."),
}
INTERNAL = (500, 1001, "Internal error.")  # a reply the application made that gunicorn could not send


def write_error(sock: socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's replacement (same signature; `reason` and `mesg` describe the request,
    which is not echoed back): the JSON envelope, and the connection closed."""
    status, code, message = REFUSALS.get(status_int, INTERNAL)
    body = json.dumps({"code": code, "msg": message, "data": None}, separators=(",", ":")).encode()
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\n\r\n")
    util.write_nonblock(sock, head.encode("ascii") + body)


# Read in the master before it forks, so every worker writes its refusals with it (gunicorn's workers call
# util.write_error by its module attribute).
util.write_error = write_error


def post_worker_init(worker: object) -> None:
    """Once a worker has loaded the application: its URLconf is built (every view imported, which its first
    request would otherwise wait for), then everything alive is moved out of the cyclic garbage collector's
    reach (gc.freeze). Those 120,000 objects live as long as the worker, and each full collection walked them
    all: about 38 ms, taken out of whichever request set it off."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - built on first access
    gc.freeze()
