"""Second factors in a real browser (headless chromium): the admin login with an authenticator app, and
passkeys made and used by the DevTools virtual authenticator (WebAuthn.addVirtualAuthenticator)."""

import pytest

from accounts.models import Passkey, Session
from tests.conftest import admin_page_sign_in, client_for
from tests.factories import PASSWORD, UserFactory
from tests.mfa.helpers import totp_code, totp_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_admin_login_with_an_authenticator_app(live_server, browser_page, tmp_path):
    page = browser_page
    operator = UserFactory(username="ops", is_staff=True, is_superuser=True)
    totp_on(operator)
    admin_page_sign_in(page, live_server, "ops", then="#mfa-form")
    page.fill("#id_code", "000000")
    page.click("#mfa-form input[type=submit]")
    page.wait_for_selector(".errornote")
    assert "wrong" in page.inner_text(".errornote")
    page.screenshot(path=str(tmp_path / "admin-mfa-wrong.png"), full_page=True)
    page.fill("#id_code", totp_code(operator))
    page.click("#mfa-form input[type=submit]")
    page.wait_for_selector("#user-tools")
    assert page.url == f"{live_server.url}/admin/"
    assert Session.objects.filter(user=operator, terminal__regex=r"^admin [0-9a-f]{12}$",
                                  revoked_at__isnull=True).count() == 1


def test_staff_enrol_the_required_authenticator_app_after_giving_their_password(live_server, browser_page, settings,
                                                                                   tmp_path):
    settings.STAFF_MFA_REQUIRED = True
    page = browser_page
    operator = UserFactory(username="ops", is_staff=True, is_superuser=True)
    admin_page_sign_in(page, live_server, "ops", then="#id_password")  # the enrolment page asks for it again
    assert page.url == f"{live_server.url}/admin/mfa/enrol/" and page.locator("#totp-secret").count() == 0
    page.fill("#id_password", "not-" + PASSWORD)
    page.click("input[type=submit]")
    assert "wrong" in page.inner_text(".errornote") and page.locator("#totp-secret").count() == 0
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#qr svg")
    page.screenshot(path=str(tmp_path / "admin-enrol.png"), full_page=True)
    page.fill("#id_code", totp_code(operator))
    page.click("input[type=submit]")
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    page.click("#continue")
    page.wait_for_selector("#user-tools")
    assert page.url == f"{live_server.url}/admin/"


# Runs in the page: asks the API for options, lets the browser's authenticator answer, sends the answer back.
REGISTER_JS = """async ({access, password}) => {
  const auth = {"Authorization": "Bearer " + access, "Content-Type": "application/json"};
  const options = (await (await fetch("/auth/passkeys/options", {method: "POST", headers: auth,
    body: JSON.stringify({password})})).json()).data;
  const credential = await navigator.credentials.create(
    {publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
  const reply = await fetch("/auth/passkeys", {method: "POST", headers: auth,
    body: JSON.stringify({webauthn: credential.toJSON(), name: "virtual"})});
  return (await reply.json()).code;
}"""
PASSWORDLESS_JS = """async () => {
  const json = {"Content-Type": "application/json"};
  const options = (await (await fetch("/auth/login/passkey/options", {method: "POST", headers: json})).json()).data;
  const credential = await navigator.credentials.get(
    {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.webauthn)});
  const reply = await fetch("/auth/login/passkey", {method: "POST", headers: json, body: JSON.stringify(
    {passkey_token: options.passkey_token, webauthn: credential.toJSON(), terminal: "browser"})});
  const body = await reply.json();
  return {code: body.code, user: body.data && body.data.user.username};
}"""
SECOND_FACTOR_JS = """async ({password}) => {
  const json = {"Content-Type": "application/json"};
  const first = (await (await fetch("/auth/login", {method: "POST", headers: json,
    body: JSON.stringify({username: "alice", password: password})})).json()).data;
  const credential = await navigator.credentials.get(
    {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(first.webauthn)});
  const reply = await fetch("/auth/login/mfa", {method: "POST", headers: json,
    body: JSON.stringify({mfa_token: first.mfa_token, webauthn: credential.toJSON()})});
  return (await reply.json()).code;
}"""


def virtual_authenticator(page) -> tuple:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def test_passkeys_with_the_virtual_authenticator(live_server, browser_page, settings, tmp_path):
    settings.WEBAUTHN_ORIGINS = [live_server.url]  # http://localhost:<port>, RP ID localhost
    page = browser_page
    alice = UserFactory(username="alice")
    access = client_for(alice, "setup").tokens.access
    page.goto(f"{live_server.url}/oauth/login/")  # any page of the site: its origin is the one the RP expects
    cdp, authenticator = virtual_authenticator(page)
    assert page.evaluate(REGISTER_JS, {"access": access, "password": PASSWORD}) == 0
    assert Passkey.objects.get(user=alice).name == "virtual"

    assert page.evaluate(PASSWORDLESS_JS) == {"code": 0, "user": "alice"}
    assert page.evaluate(SECOND_FACTOR_JS, {"password": PASSWORD}) == 0
    assert Session.objects.filter(user=alice, terminal="browser", revoked_at__isnull=True).count() == 1
    assert Session.objects.filter(user=alice, terminal="default", revoked_at__isnull=True).count() == 1
    signed_in = Session.objects.count()

    # Another authenticator holds a passkey this site never registered: refused, nobody signed in.
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    virtual_authenticator(page)
    page.evaluate(REGISTER_JS.replace('name: "virtual"', 'name: "stray"'), {"access": access, "password": PASSWORD})
    Passkey.objects.filter(name="stray").delete()  # the browser still holds it; the site forgot it
    assert page.evaluate(PASSWORDLESS_JS) == {"code": 8004, "user": None}
    assert Session.objects.count() == signed_in
    page.screenshot(path=str(tmp_path / "passkeys.png"), full_page=True)


def test_the_admin_login_with_a_passkey(live_server, browser_page, settings, tmp_path):
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    page = browser_page
    operator = UserFactory(username="ops", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/")
    virtual_authenticator(page)
    access = client_for(operator, "setup").tokens.access
    assert page.evaluate(REGISTER_JS, {"access": access, "password": PASSWORD}) == 0
    admin_page_sign_in(page, live_server, "ops", then="#use-passkey")
    page.screenshot(path=str(tmp_path / "admin-mfa-passkey.png"), full_page=True)
    page.click("#use-passkey")
    page.wait_for_selector("#user-tools")
    assert page.url == f"{live_server.url}/admin/"
    assert Session.objects.filter(user=operator, terminal__regex=r"^admin [0-9a-f]{12}$",
                                  revoked_at__isnull=True).count() == 1
    assert Passkey.objects.get(user=operator).last_used_at is not None


def test_the_oauth_page_signs_in_with_a_passkey(live_server, browser_page, settings):
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    page = browser_page
    alice = UserFactory(username="alice")
    page.goto(f"{live_server.url}/oauth/login/")
    virtual_authenticator(page)
    assert page.evaluate(REGISTER_JS, {"access": client_for(alice, "setup").tokens.access, "password": PASSWORD}) == 0
    page.click("#sign-in-with-passkey")
    page.wait_for_selector("text=Signed in")
    assert "You are signed in as alice." in page.inner_text("body")
    assert Session.objects.filter(user=alice, terminal__regex=r"^oauth-sign-in-page [0-9a-f]{12}$",
                                  revoked_at__isnull=True).count() == 1
