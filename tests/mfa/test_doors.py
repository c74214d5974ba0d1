"""The browser doors ask for the second factor too: the admin login and the OAuth sign-in page, and staff
are sent to enrol one when STAFF_MFA_REQUIRED is on."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import browser
from accounts.models import AuditEvent, Session, TotpDevice
from accounts.selectors import mfa_methods
from accounts.services import mfa
from accountsite import errors
from tests.conftest import browser_terminal_of, client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.mfa.authenticator import SoftAuthenticator
from tests.mfa.helpers import passkey_on, totp_code, totp_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


def admin_password_step(client: Client, username: str = "ops"):
    return client.post("/admin/login/?next=/admin/accounts/user/", {"username": username, "password": PASSWORD})


def test_the_admin_login_asks_for_the_code_before_signing_in(operator):
    totp_on(operator)
    client = Client()
    reply = admin_password_step(client)
    assert reply.status_code == 302 and reply["Location"].startswith("/admin/login/mfa/?next=")
    assert client.get("/admin/").status_code == 302  # not signed in yet
    assert not Session.objects.filter(user=operator).exists()
    page = client.get(reply["Location"])
    assert page.status_code == 200 and b'name="code"' in page.content
    wrong = client.post(reply["Location"], {"code": "000000", "next": "/admin/accounts/user/"})
    assert wrong.status_code == 400 and b"wrong" in wrong.content
    done = client.post(reply["Location"], {"code": totp_code(operator), "next": "/admin/accounts/user/"})
    assert done.status_code == 302 and done["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/").status_code == 200
    assert Session.objects.get(user=operator).terminal == browser_terminal_of(client, "admin")


def test_the_admin_second_step_and_enrolment_take_other_scripts_digits_as_a_wrong_code(operator, settings):
    """Full-width digits (what a phone keyboard may type) were a 500 on both pages (hmac.compare_digest)."""
    fullwidth = "\uff11\uff12\uff13\uff14\uff15\uff16"
    totp_on(operator)
    client = Client()
    location = admin_password_step(client)["Location"]
    wrong = client.post(location, {"code": fullwidth})
    assert wrong.status_code == 400 and b"wrong" in wrong.content
    assert AuditEvent.objects.filter(user=operator, action="mfa.failed").count() == 1
    settings.STAFF_MFA_REQUIRED = True
    UserFactory(username="newstaff", is_staff=True)
    enrolling = Client()
    admin_password_step(enrolling, "newstaff")
    enrolling.post("/admin/mfa/enrol/", {"password": PASSWORD})
    refused = enrolling.post("/admin/mfa/enrol/", {"code": fullwidth})
    assert refused.status_code == 200 and b"This code is wrong" in refused.content
    assert not TotpDevice.objects.filter(user__username="newstaff", confirmed_at__isnull=False).exists()


def test_the_admin_second_step_needs_the_first(operator):
    client = Client()
    assert client.get("/admin/login/mfa/")["Location"] == "/admin/login/"
    assert client.post("/admin/login/mfa/", {"code": "123456"})["Location"] == "/admin/login/"


def test_the_admin_second_step_takes_a_recovery_code_and_refuses_a_foreign_next(operator):
    codes = totp_on(operator)
    client = Client()
    location = admin_password_step(client)["Location"]
    done = client.post(location, {"code": codes[0], "next": "https://evil.example/"})
    assert done.status_code == 302 and done["Location"] == "/admin/"



@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", ""])
def test_the_admin_login_lands_on_the_index_without_a_safe_next(operator, next_url):
    assert Client().post(f"/admin/login/?next={next_url}", {"username": "ops", "password": PASSWORD})[
        "Location"] == "/admin/"
    totp_on(operator)
    client = Client()
    step = client.post(f"/admin/login/?next={next_url}", {"username": "ops", "password": PASSWORD})
    assert client.post(step["Location"], {"code": totp_code(operator)})["Location"] == "/admin/"

def test_the_oauth_sign_in_page_asks_for_the_code(user):
    codes = totp_on(user)
    client = Client()
    reply = client.post("/oauth/login/", {"login": "alice", "password": PASSWORD, "next": "/oauth/consent/"})
    assert reply.status_code == 302 and reply["Location"].startswith("/oauth/login/mfa/?next=")
    assert not Session.objects.filter(user=user).exists()
    assert client.post(reply["Location"], {"code": "abcde-fghij", "next": "/oauth/consent/"}).status_code == 401
    done = client.post(reply["Location"], {"code": codes[1], "next": "/oauth/consent/"})
    assert done.status_code == 302 and done["Location"] == "/oauth/consent/"
    assert Session.objects.get(user=user).terminal == browser_terminal_of(client, "oauth-sign-in-page")
    assert client.get("/oauth/login/mfa/")["Location"] == "/oauth/login/"  # used up


def test_staff_without_a_factor_enrol_at_sign_in_when_required(operator, settings):
    settings.STAFF_MFA_REQUIRED = True
    client = Client()
    reply = admin_password_step(client)
    assert reply["Location"] == "/admin/mfa/enrol/"
    assert client.get("/admin/accounts/user/")["Location"] == "/admin/mfa/enrol/"
    # The password first, as through the API: the session cookie alone neither sees a secret nor adds one.
    asked = client.get("/admin/mfa/enrol/")
    assert asked.status_code == 200 and b"totp-secret" not in asked.content and b'name="password"' in asked.content
    assert b"The current password is wrong." in client.post("/admin/mfa/enrol/", {"code": "000000"}).content
    assert not TotpDevice.objects.filter(user=operator).exists()
    page = client.post("/admin/mfa/enrol/", {"password": PASSWORD})
    assert page.status_code == 200 and b"totp-secret" in page.content and b"<div id=\"qr\"><svg" in page.content
    wrong = client.post("/admin/mfa/enrol/", {"code": "000000"})
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', wrong.content).group(1)
    assert secret in page.content  # the same enrolment is shown again
    done = client.post("/admin/mfa/enrol/", {"code": totp_code(operator)})
    assert done.status_code == 200 and done.content.count(b"<li><code>") == 10
    assert mfa_methods(operator) == ["totp", "recovery_code"]
    assert client.get("/admin/accounts/user/").status_code == 200
    # Enrolled: the page sends them on, a GET or a POST alike (a POST was a 500 here).
    assert client.get("/admin/mfa/enrol/")["Location"] == "/admin/"
    assert client.post("/admin/mfa/enrol/", {"code": "123456"})["Location"] == "/admin/"
    assert mfa_methods(operator) == ["totp", "recovery_code"]


def test_the_password_given_to_enrol_holds_for_a_while_only(operator, settings, monkeypatch):
    settings.STAFF_MFA_REQUIRED = True
    client = Client()
    admin_password_step(client)
    assert b"totp-secret" in client.post("/admin/mfa/enrol/", {"password": PASSWORD}).content
    monkeypatch.setattr(browser, "ENROLMENT_SECONDS", 0)  # the answer has run out: asked again, nothing added
    late = client.post("/admin/mfa/enrol/", {"code": totp_code(operator)})
    assert b"The current password is wrong." in late.content and b"totp-secret" not in late.content
    assert mfa_methods(operator) == []


def test_staff_are_not_asked_to_enrol_unless_required(operator):
    assert admin_password_step(Client())["Location"] == "/admin/accounts/user/"


def page_options(page) -> dict:
    match = re.search(rb'<script id="webauthn-options" type="application/json">(.*?)</script>', page.content)
    return json.loads(match.group(1))


def test_the_oauth_page_takes_a_passkey(user):
    authenticator = passkey_on(user)
    client = Client()
    location = client.post("/oauth/login/", {"login": "alice", "password": PASSWORD, "next": ""})["Location"]
    page = client.get(location)
    assert b'id="use-passkey"' in page.content
    options = page_options(page)
    forged = SoftAuthenticator()
    forged.credential_id = authenticator.credential_id
    assert client.post(location, {"webauthn": json.dumps(forged.get(options))}).status_code == 401
    assert client.post(location, {"webauthn": "not json"}).status_code == 401
    done = client.post(location, {"webauthn": json.dumps(authenticator.get(options))})
    assert done.status_code == 200 and b"signed in as <strong>alice</strong>" in done.content
    assert AuditEvent.objects.filter(user=user, action="mfa.failed").count() == 2


def test_the_admin_offers_the_passkey_only_to_accounts_with_one(operator):
    totp_on(operator)
    client = Client()
    page = client.get(admin_password_step(client)["Location"])
    assert b"use-passkey" not in page.content and b"webauthn-options" not in page.content


def test_the_oauth_page_signs_in_with_a_passkey_instead_of_the_password(user):
    authenticator = passkey_on(user)
    client = Client()
    page = client.get("/oauth/login/?next=/oauth/consent/")
    assert b'data-options-url="/auth/login/passkey/options"' in page.content
    options = client.post("/auth/login/passkey/options").json()["data"]
    wrong = client.post("/oauth/login/passkey/", {"passkey_token": options["passkey_token"], "next": "/oauth/consent/",
                                                  "webauthn": json.dumps(SoftAuthenticator().get(options["webauthn"]))})
    assert wrong.status_code == 401 and b"cannot sign in" in wrong.content
    authenticator.verifies_user = False  # the right key, but only touched: no door takes it instead of the password
    options = client.post("/auth/login/passkey/options").json()["data"]
    touched = client.post("/oauth/login/passkey/", {
        "passkey_token": options["passkey_token"], "next": "/oauth/consent/",
        "webauthn": json.dumps(authenticator.get(options["webauthn"]))})
    assert touched.status_code == 401 and not Session.objects.filter(user=user).exists()
    authenticator.verifies_user = True
    options = client.post("/auth/login/passkey/options").json()["data"]
    done = client.post("/oauth/login/passkey/", {"passkey_token": options["passkey_token"], "next": "/oauth/consent/",
                                                 "webauthn": json.dumps(authenticator.get(options["webauthn"]))})
    assert done.status_code == 302 and done["Location"] == "/oauth/consent/"
    assert Session.objects.get(user=user).terminal == browser_terminal_of(client, "oauth-sign-in-page")


@pytest.mark.parametrize("credential_id", ["x\x00", "\ud800"])
def test_the_oauth_passkey_page_refuses_a_hostile_credential_id(user, credential_id):
    passkey_on(user)
    client = Client()
    options = client.post("/auth/login/passkey/options").json()["data"]
    webauthn = json.dumps({"id": credential_id, "response": {"userHandle": "AA"}})  # escaped: \u0000, \ud800
    reply = client.post("/oauth/login/passkey/", {"passkey_token": options["passkey_token"], "webauthn": webauthn})
    assert reply.status_code == 401 and b"cannot sign in" in reply.content


def test_staff_coming_in_by_the_oauth_page_must_enrol_too(operator, settings):
    settings.STAFF_MFA_REQUIRED = True
    client = Client()
    client.post("/oauth/login/", {"login": "ops", "password": PASSWORD, "next": ""})
    assert client.get("/admin/accounts/user/")["Location"] == "/admin/mfa/enrol/"
    settings.STAFF_MFA_REQUIRED = False
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/mfa/enrol/")["Location"] == "/admin/"


def _second_factor_step(client: Client, operator, door: str):
    """`operator`, with the authenticator app on, signs in with the password at the OAuth page or the admin's."""
    totp_on(operator)
    if door == "oauth":
        return client.post("/oauth/login/", {"login": "ops", "password": PASSWORD, "next": "/oauth/consent/"})
    return admin_password_step(client)


@pytest.mark.parametrize("door", ["oauth", "admin"])
@pytest.mark.parametrize("written", ["{} {}", "{}-{}", " {}  {} "])
def test_the_pages_take_a_code_written_as_authenticator_apps_show_it(operator, door, written):
    """The pages sent anything but bare digits on as a recovery code: a right code typed "626 448" was refused
    there (the API took it) and counted toward the lockout as a wrong factor."""
    client = Client()
    step = _second_factor_step(client, operator, door)
    code = totp_code(operator)
    done = client.post(step["Location"], {"code": written.format(code[:3], code[3:]), "next": "/oauth/consent/"})
    assert done.status_code == 302 and Session.objects.filter(user=operator).exists()
    assert not AuditEvent.objects.filter(user=operator, action="mfa.failed").exists()


@pytest.mark.parametrize("door", ["oauth", "admin"])
def test_an_empty_code_on_the_pages_is_no_wrong_factor(operator, door):
    client = Client()
    step = _second_factor_step(client, operator, door)
    for _ in range(2):
        assert client.post(step["Location"], {"code": "  ", "next": "/oauth/consent/"}).status_code in (400, 401)
    assert not AuditEvent.objects.filter(user=operator, action="mfa.failed").exists()
    done = client.post(step["Location"], {"code": totp_code(operator), "next": "/oauth/consent/"})
    assert done.status_code == 302  # the sign-in still waits for its factor


def test_staff_without_a_factor_have_no_operator_power_through_the_api_either(operator, settings):
    """STAFF_MFA_REQUIRED held the back office only: the same account, signed in through the API, searched and
    changed other accounts without ever enrolling."""
    settings.STAFF_MFA_REQUIRED = True
    client = client_for(operator)
    refused = envelope(client.get("/users/"), errors.PermissionDeniedError)
    assert refused["msg"] == "Operators must enrol a second factor before using their powers."
    envelope(client.get("/auth/me"))  # their own account stays theirs, to enrol through the API
    totp_on(operator)
    envelope(client.get("/users/"))


def test_a_factor_turned_off_through_the_api_sends_staff_back_to_enrol(operator, settings):
    """The back office remembered, in the browser's session, that the account had a factor: turned off
    through the API, the browser kept its pass until it signed out."""
    settings.STAFF_MFA_REQUIRED = True
    client = Client()
    step = _second_factor_step(client, operator, "admin")
    client.post(step["Location"], {"code": totp_code(operator)})
    assert client.get("/admin/accounts/user/").status_code == 200
    later = timezone.now() + timedelta(minutes=2)
    mfa.totp_disable(user=operator, password=PASSWORD, code=totp_code(operator, later), ip="127.0.0.1", now=later)
    assert client.get("/admin/accounts/user/")["Location"] == "/admin/mfa/enrol/"
