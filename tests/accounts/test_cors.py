"""CORS: browser apps on the origins in CORS_ALLOWED_ORIGINS may call the API; preflights need no sign-in."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from accountsite import errors
from tests.conftest import envelope
from tests.factories import PASSWORD, UserFactory

APP = "https://app.example.com"


def preflight(path: str, origin: str):
    return Client().options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")


def test_no_origin_is_allowed_by_default(settings):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = preflight("/auth/me", APP)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response


def test_a_preflight_needs_no_sign_in_and_names_what_the_api_accepts(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    for path in ("/auth/me", "/vip/alice", "/repos/", "/users/alice/pwd"):
        response = preflight(path, APP)
        assert response.status_code == 200, path
        assert response["access-control-allow-origin"] == APP
        allowed = response["access-control-allow-headers"]
        assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))


@pytest.mark.django_db
def test_replies_to_an_allowed_origin_carry_the_headers_errors_included(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    response = Client().get("/auth/me", HTTP_ORIGIN=APP)
    envelope(response, errors.NotAuthenticatedError)
    assert response["access-control-allow-origin"] == APP
    assert "WWW-Authenticate" in response["access-control-expose-headers"]
    assert "access-control-allow-origin" not in Client().get("/vip/tiers", HTTP_ORIGIN="https://evil.example")


PAGE = b"""<!doctype html><title>app</title><script>
async function whoami(api) {
  try {
    const login = await fetch(api + "/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                                    body: JSON.stringify({username: "alice", password: "%s"})});
    const token = (await login.json()).data.access;
    const me = await fetch(api + "/auth/me", {headers: {"Authorization": "Bearer " + token}});
    return (await me.json()).data.username;
  } catch (error) {
    return "blocked";
  }
}
</script>""" % PASSWORD.encode()


@pytest.fixture
def app_origin():
    """A page served from another loopback origin (127.0.0.1 on a port of its own): a browser app."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("allowed", [True, False])
def test_a_browser_app_on_another_origin_signs_in_only_when_its_origin_is_allowed(
        settings, live_server, browser_page, app_origin, allowed):
    UserFactory(username="alice")
    settings.CORS_ALLOWED_ORIGINS = [app_origin] if allowed else ["http://127.0.0.1:9"]
    api = live_server.url.replace("127.0.0.1", "localhost")
    assert api.split(":")[:2] != app_origin.split(":")[:2]
    browser_page.goto(f"{app_origin}/")
    answer = browser_page.evaluate("api => whoami(api)", api)
    assert answer == ("alice" if allowed else "blocked")
