"""A person signs in to a third-party app in a real browser (Debian's chromium through Playwright)."""

from urllib.parse import urlencode

import pytest
import requests

from accounts.oauth import applications
from tests.factories import PASSWORD, UserFactory
from tests.oauth.conftest import pkce_pair, query_of

# serialized_rollback: the flush of a transactional test would drop the tiers the migrations seeded.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def printer(callback):
    UserFactory(username="erin", email="erin@example.com")
    return applications.application_create(owner=UserFactory(username="devbrowser"), name="Photo Printer",
                                    redirect_uris=callback)


@pytest.fixture
def old_client(callback):
    UserFactory(username="frank")
    return applications.application_create(owner=UserFactory(username="olddev"), name="Old Client",
                                           redirect_uris=callback)


def _intercept(page, callback: str) -> None:
    page.route(f"{callback}**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                            body="<p>client app</p>"))


def test_a_person_authorizes_an_app_in_the_browser(printer, browser_page, live_server, callback, tmp_path):
    page, issued, app = browser_page, printer, printer.application
    _intercept(page, callback)

    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": callback,
              "scope": "openid profile email read", "state": "browser-state",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    page.goto(f"{live_server.url}/oauth/authorize/?{urlencode(params)}")

    # not signed in: the sign-in page first (wrong password shows the generic message)
    assert "/oauth/login/" in page.url
    page.fill("#id_login", "erin")
    page.fill("#id_password", "not-her-password")
    page.click("#signIn")
    assert "Wrong login name or password" in page.inner_text("main")
    page.fill("#id_password", PASSWORD)
    page.click("#signIn")

    # the consent page names the app and what it asks for, in plain words
    page.wait_for_selector("#authorizationForm")
    page.screenshot(path=str(tmp_path / "consent.png"), full_page=True)
    assert (tmp_path / "consent.png").stat().st_size > 0
    text = page.inner_text("main")
    assert "Photo Printer" in text and "devbrowser" in text
    for words in ("Confirm who you are", "See your e-mail address", "Read your account data"):
        assert words in text
    assert "Change your account data" not in text

    page.click("#allow")
    page.wait_for_url(f"{callback}?**")
    answer = query_of(page.url)
    assert answer["state"] == "browser-state" and answer["code"]

    tokens = requests.post(f"{live_server.url}/oauth/token/", data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": callback,
        "client_id": app.client_id, "client_secret": issued.client_secret, "code_verifier": verifier,
    }, timeout=10)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    info = requests.get(f"{live_server.url}/oauth/userinfo/", headers={"Authorization": f"Bearer {access}"},
                        timeout=10).json()
    assert info["preferred_username"] == "erin" and info["email"] == "erin@example.com"
    me = requests.get(f"{live_server.url}/auth/me", headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert me.json()["data"]["username"] == "erin"

    # a second request, denied this time, lands with error=access_denied
    _verifier, challenge = pkce_pair()
    page.goto(f"{live_server.url}/oauth/authorize/?{urlencode({**params, 'code_challenge': challenge})}")
    page.wait_for_selector("#authorizationForm")
    page.click("#deny")
    page.wait_for_url(f"{callback}?**")
    assert query_of(page.url)["error"] == "access_denied"


def test_the_seed_001_flow_in_the_browser(old_client, browser_page, live_server, callback):
    page, issued = browser_page, old_client
    _intercept(page, callback)

    start = urlencode({"secret_id": issued.application.client_id, "redirect_uri": callback})
    page.goto(f"{live_server.url}/oauth/?{start}")
    page.fill("#id_login", "frank")
    page.fill("#id_password", PASSWORD)
    page.click("#signIn")
    page.wait_for_selector("#authorizationForm")
    assert "Old Client" in page.inner_text("main")
    page.click("#allow")
    page.wait_for_url(f"{callback}?**")
    code = query_of(page.url)["code"]

    reply = requests.post(f"{live_server.url}/oauth/", json={
        "secret_id": issued.application.client_id, "secret_value": issued.client_secret, "authorization_code": code,
    }, timeout=10).json()
    assert reply["code"] == 0 and reply["data"]["username"] == "frank"


@pytest.mark.parametrize("asks", [{"prompt": "login"}, {"max_age": "0"}], ids=["prompt_login", "max_age_0"])
def test_prompt_login_and_max_age_show_the_sign_in_page_again(printer, browser_page, live_server, callback, asks):
    page, app = browser_page, printer.application
    _intercept(page, callback)

    def authorize(**extra: str) -> str:
        _verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": callback, "scope": "openid",
                  "state": "again", "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        page.goto(f"{live_server.url}/oauth/authorize/?{urlencode(params)}")
        return page.url

    assert "/oauth/login/" in authorize()
    page.fill("#id_login", "erin")
    page.fill("#id_password", PASSWORD)
    page.click("#signIn")
    page.wait_for_selector("#authorizationForm")
    page.click("#allow")
    page.wait_for_url(f"{callback}?**")

    # signed in, the same request goes straight to the consent page; with prompt=login or max_age=0 the
    # sign-in page comes first, and after it the consent page (not the sign-in page again)
    assert "/oauth/authorize/" in authorize() and page.query_selector("#authorizationForm")
    assert "/oauth/login/" in authorize(**asks)
    page.fill("#id_login", "erin")
    page.fill("#id_password", PASSWORD)
    page.click("#signIn")
    page.wait_for_selector("#authorizationForm")
    page.click("#allow")
    page.wait_for_url(f"{callback}?**")
    assert query_of(page.url)["code"] and query_of(page.url)["state"] == "again"
