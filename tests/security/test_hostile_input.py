"""Input that crashed the service once (issue 11), through the real URLs and middleware: control characters
in paths and queries, page numbers past the database's integers, OPTIONS, lone surrogates, loose numbers.
They run on SQLite and, in the PostgreSQL pass, on PostgreSQL, which refuses NUL in text outright."""

import base64
import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Session
from accounts.oauth import applications
from accountsite import errors
from accountsite.envelope import EnvelopeRenderer
from accountsite.numbers import money_parse, whole_number_parse
from tests.conftest import client_for, envelope
from tests.factories import AdminFactory, UserFactory
from tests.security.test_permission_matrix import schema_operations
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

# Digits Python's int() and Decimal() read as numbers: Arabic-Indic and fullwidth.
ARABIC_12, FULLWIDTH_12, ARABIC_10, FULLWIDTH_10 = "\u0661\u0662", "\uff11\uff12", "\u0661\u0660", "\uff11\uff10"


def _client(user=None) -> APIClient:
    client = client_for(user) if user is not None else APIClient()
    client.raise_request_exception = False
    return client


# --- control characters, refused before any query -------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("get", "/users/alice%00"), ("get", "/users/alice%01"), ("get", "/users/al%0Aice"), ("get", "/repos/x%00/y"),
    ("put", "/users/x%00/forget/pwd"), ("get", "/vip/alice%7F"), ("get", "/quota/alice%00/repository"),
])
def test_control_characters_in_a_path_name_nothing(method, path, user):
    for client in (_client(), _client(AdminFactory(username="root"))):
        before = snapshot()
        envelope(getattr(client, method)(path, {}, format="json"), errors.NotFoundError)
        before.assert_unchanged()


@pytest.mark.parametrize("query", ["owner=a%00", "owner=a%1F", "q%00=x", "page=1%00", "loginName=%00"])
@pytest.mark.parametrize("path", ["/repos/", "/users/"])
def test_control_characters_in_a_query_are_1007(query, path, user):
    reply = envelope(_client(AdminFactory(username="root")).get(f"{path}?{query}"), errors.InvalidParametersError)
    assert "\x00" not in reply["msg"]


# --- broken percent-escapes in a query ---------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["a=%zz", "a=%2", "a=50%", "a=%%41", "%g1=x", "a=%C3%A9&b=%E"])
@pytest.mark.parametrize(("method", "path"), [
    ("get", "/oauth/authorize/"), ("get", "/oauth/userinfo/"), ("post", "/oauth/revoke_token/"),
    ("post", "/oauth/introspect/"), ("post", "/oauth/token/"), ("get", "/users/"), ("get", "/repos/"),
    ("get", "/auth/me"),
])
def test_a_broken_percent_escape_in_a_query_is_1007_at_every_door(method, path, query, user):
    """oauthlib raised on `%zz` behind the OAuth endpoints (a 500 at authorize, userinfo and revocation),
    where Django reads it as text: one rule for every path, before any view."""
    before = snapshot()
    reply = envelope(getattr(_client(), method)(f"{path}?{query}"), errors.InvalidParametersError)
    assert "%25" in reply["msg"]
    before.assert_unchanged()


def test_a_percent_sign_escaped_as_25_is_searched_for(user):
    client = _client(AdminFactory(username="root"))
    assert client.get("/users/?loginName=50%25").json()["data"]["total"] == 0
    assert client.get("/users/?loginName=al%69ce").json()["data"]["results"][0]["loginname"] == "alice"


# --- pages ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["page=500000000000000000", "page=1000001", "page=99999999999999999999",
                                   "page=0", "page=-1", "page=%EF%BC%91", "page=%D9%A1", "page=%201", "size=1e3",
                                   "size=%EF%BC%92"])
def test_pages_past_the_bound_or_not_in_digits_are_1007(query, user):
    client = _client(AdminFactory(username="root"))
    reply = envelope(client.get(f"/users/?{query}"), errors.InvalidParametersError)
    assert set(reply["error"]) <= {"page", "size"}


def test_the_last_allowed_page_is_an_empty_list_and_size_is_capped(user):
    client = _client(AdminFactory(username="root"))
    assert envelope(client.get("/users/?page=100&size=100000"))["data"] == {
        "total": 2, "total_exact": True, "page": 100, "size": 100, "results": [], "next": None}
    for huge in ("99999999999999999999", "1" + "0" * 30):  # past 64 bits: capped like any size above 100
        assert envelope(client.get(f"/users/?size={huge}"))["data"]["size"] == 100


@pytest.mark.parametrize("query", ["page=101&size=100", "page=501", "page=10001&size=1", "page=1000000"])
def test_pages_past_the_window_are_1007_and_point_to_after(query, user):
    client = _client(AdminFactory(username="root"))
    reply = envelope(client.get(f"/users/?{query}"), errors.InvalidParametersError)
    assert set(reply["error"]) == {"page"} and "after" in reply["error"]["page"][0], reply


# --- OPTIONS ----------------------------------------------------------------------------------------------------

def _concrete(path: str) -> str:
    path = path.replace("/auth/sessions/{id}", "/auth/sessions/6e98652a-4436-476a-8fb8-473c2718fe02")
    return (path.replace("{loginname}", "alice").replace("{owner}", "alice").replace("{name}", "open")
            .replace("{id}", "1").replace("{uid}", "1"))


def test_options_answers_every_route_with_its_methods_and_nothing_private(user):
    paths = sorted({path for _method, path in schema_operations()})
    assert len(paths) > 30
    signed_in = [_client(), _client(user), _client(AdminFactory(username="root"))]
    for path in paths:
        replies = []
        for client in signed_in:
            response = client.options(_concrete(path))
            assert response.status_code == 200, (path, response.content)
            allowed = {method.strip() for method in response["Allow"].split(",")}
            data = envelope(response)["data"]
            assert set(data) == {"name", "methods"} and set(data["methods"]) == allowed, (path, data)
            assert "OPTIONS" in allowed
            replies.append(data)
        assert replies[0] == replies[1] == replies[2], path  # the same whoever asks


# --- lone surrogates and echoed input ----------------------------------------------------------------------------

def test_a_lone_surrogate_is_1007_and_the_message_does_not_echo_it(user):
    client = _client(user)
    before = snapshot()
    for body in ('{"name": "r1", "visibility": "\\ud800"}', '{"name": "\\ud800"}', '{"\\udfff": 1}'):
        response = client.post("/repos/", body, content_type="application/json")
        reply = envelope(response, errors.InvalidParametersError)
        assert "\\ud800" not in response.content.decode() and "\ud800" not in json.dumps(reply)
    before.assert_unchanged()


@pytest.mark.parametrize("body", [
    '{"nickname": "one", "nickname": "two"}',
    '{"nickname": "one", "intro": "a", "intro": "b"}',
    '{"nickname": "one", "github": {"a": 1, "a": 2}}',
])
def test_a_key_named_twice_is_1007_not_the_last_value(body, user):
    """Parsers disagree on which of two values counts: a proxy or a log could read another request."""
    client = _client(user)
    before = snapshot()
    reply = envelope(client.patch("/auth/me", body, content_type="application/json"), errors.InvalidParametersError)
    assert reply["msg"] == "Malformed request body: JSON parse error - an object names the same key twice"
    before.assert_unchanged()
    reply = envelope(client.patch("/auth/me", '{"nickname": "two"}', content_type="application/json"))
    assert reply["data"]["nickname"] == "two"


_MULTIPART_TWICE = ('--X\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1\r\n'
                    '--X\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1000\r\n--X--\r\n')
_MULTIPART_FIELD_AND_FILE = ('--X\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1\r\n'
                             '--X\r\nContent-Disposition: form-data; name="amount"; filename="a"\r\n\r\n'
                             '1000\r\n--X--\r\n')


@pytest.mark.parametrize(("body", "content_type"), [
    ("amount=1&amount=1000", "application/x-www-form-urlencoded"),
    ("amount=1&note=a&note=b", "application/x-www-form-urlencoded"),
    (_MULTIPART_TWICE, "multipart/form-data; boundary=X"),
    (_MULTIPART_FIELD_AND_FILE, "multipart/form-data; boundary=X"),
])
def test_a_form_field_named_twice_is_1007_not_the_last_value(body, content_type, user):
    """As a JSON key named twice: Django's form parsers keep the last value, so `amount=1&amount=1000`
    credited 1000.00 (and `redirect_uris=a&redirect_uris=b` kept b alone)."""
    client = _client(AdminFactory(username="root"))
    before = snapshot()
    reply = envelope(client.post("/vip/alice/topup", body, content_type=content_type),
                     errors.InvalidParametersError)
    assert reply["msg"] == "Malformed request body: Form parse error - a field is given more than once"
    before.assert_unchanged()
    envelope(client.post("/vip/alice/topup", "amount=1", content_type="application/x-www-form-urlencoded"),
             status=201)


@pytest.mark.parametrize("body", [b"nickname=%FF%FE", b"nickname=%ED%A0%80", b"nickname=caf\xe9", b"nick%FF=x"])
def test_a_form_body_that_is_not_utf8_is_1007_not_replacement_characters(body, user):
    """A JSON body that is not UTF-8 is refused; a form body's bad bytes became U+FFFD (or Latin-1 letters)
    and were stored in the profile."""
    client = _client(user)
    before = snapshot()
    reply = envelope(client.patch("/auth/me", body, content_type="application/x-www-form-urlencoded"),
                     errors.InvalidParametersError)
    assert reply["msg"] == "Malformed request body: Form parse error - the body is not valid utf-8 text"
    before.assert_unchanged()
    reply = envelope(client.patch("/auth/me", "nickname=caf%C3%A9", content_type="application/x-www-form-urlencoded"))
    assert reply["data"]["nickname"] == "caf\u00e9"


@pytest.mark.parametrize("part", [b'name="nickname"\r\n\r\ncaf\xe9', b'name="nickname"\r\n\r\n\xff\xfe',
                                  b'name="nickname"\r\n\r\n\xed\xa0\x80'])
def test_a_multipart_field_that_is_not_utf8_is_1007_not_replacement_characters(part, user):
    """As in a form body: Django's multipart parser read the bad bytes as U+FFFD, stored in the profile."""
    client = _client(user)
    before = snapshot()
    body = b"--X\r\nContent-Disposition: form-data; " + part + b"\r\n--X--\r\n"
    reply = envelope(client.patch("/auth/me", body, content_type="multipart/form-data; boundary=X"),
                     errors.InvalidParametersError)
    assert reply["msg"] == "Malformed request body: Form parse error - the body is not valid utf-8 text"
    before.assert_unchanged()
    good = "--X\r\nContent-Disposition: form-data; name=\"nickname\"\r\n\r\ncaf\u00e9\r\n--X--\r\n".encode()
    reply = envelope(client.patch("/auth/me", good, content_type="multipart/form-data; boundary=X"))
    assert reply["data"]["nickname"] == "caf\u00e9"


def test_a_refused_choice_names_the_allowed_values_not_the_input(user):
    reply = envelope(_client(user).post("/repos/", {"name": "r1", "visibility": "<b>x</b>"}, format="json"),
                     errors.InvalidParametersError)
    assert reply["error"]["visibility"] == ["Not one of the allowed values: public, private."]


def test_the_renderer_never_fails_on_a_message():
    rendered = EnvelopeRenderer().render({"code": 1007, "msg": "bad \ud800 input", "data": None})
    assert json.loads(rendered)["code"] == 1007


# --- numbers: ASCII digits only, money without exponents or floats -----------------------------------------------

@pytest.mark.parametrize("raw", [ARABIC_12, FULLWIDTH_12, " 12 ", "12 ", "1e3", "1.5", 1.5, 2.0, True, "", "+",
                                 "0x10", "1_000", "1" * 20, None, [], "12\x00"])
def test_whole_numbers_refuse_anything_but_ascii_digits(raw):
    with pytest.raises(ValueError):
        whole_number_parse(raw)


@pytest.mark.parametrize(("raw", "value"), [(12, 12), ("12", 12), ("-1", -1), ("+7", 7), ("9" * 19, int("9" * 19))])
def test_whole_numbers(raw, value):
    assert whole_number_parse(raw) == value


@pytest.mark.parametrize("raw", ["1e3", "1E3", 1.5, 10.0, FULLWIDTH_10, ARABIC_10, " 10", "10.", ".5", "1.001",
                                 "NaN", "Infinity", True, "1" * 13, 10**12])
def test_money_refuses_exponents_floats_and_other_digits(raw):
    with pytest.raises(ValueError):
        money_parse(raw)


@pytest.mark.parametrize(("raw", "value"), [(10, "10"), ("10", "10"), ("10.5", "10.5"), ("0.01", "0.01"),
                                            ("999999999999.99", "999999999999.99")])
def test_money(raw, value):
    assert money_parse(raw) == Decimal(value)


@pytest.mark.parametrize(("path", "body"), [
    ("/quota/alice/repository", {"public": ARABIC_12}), ("/quota/alice/repository", {"public": FULLWIDTH_12}),
    ("/quota/alice/repository", {"public": " 12 "}), ("/quota/alice/pullnum", {"quota": "1e3"}),
    ("/quota/alice/deposit", {"quota": FULLWIDTH_12, "unit": "M"}), ("/quota/alice/deposit", {"quota": 1.5}),
])
def test_quotas_take_ascii_digits_only(path, body, user):
    client = _client(AdminFactory(username="root"))
    before = snapshot()
    reply = envelope(client.put(path, body, format="json"), errors.InvalidParametersError)
    assert set(reply["error"]) <= {"public", "quota"}  # "public" is refused under the spelling sent
    before.assert_unchanged()


@pytest.mark.parametrize(("amount", "message"), [
    ("9999999999999.99", "An amount is at most 999999999999.99."), (10**12, "An amount is at most 999999999999.99."),
    ("9" * 40, "An amount is at most 999999999999.99."),
    ("9" * 41, 'An amount such as "10.50" is required: digits with at most two decimal places.'),
])
def test_an_amount_past_every_balance_says_so(amount, message, user):
    admin = _client(AdminFactory(username="root"))
    before = snapshot()
    reply = envelope(admin.post("/vip/alice/topup", {"amount": amount}, format="json"), errors.InvalidParametersError)
    assert reply["error"] == {"amount": [message]}
    before.assert_unchanged()


@pytest.mark.parametrize("amount", ["1e3", 1.5, 100.0, FULLWIDTH_10, " 10"])
def test_money_input_refuses_exponents_and_floats(amount, user):
    admin, owner = _client(AdminFactory(username="root")), _client(user)
    before = snapshot()
    envelope(admin.post("/vip/alice/topup", {"amount": amount}, format="json"), errors.InvalidParametersError)
    envelope(owner.put("/vip/alice", {"userType": 4, "cost": amount}, format="json"),
             errors.InvalidParametersError)
    before.assert_unchanged()


def test_a_vip_cost_query_takes_ascii_digits_only(user):
    assert envelope(_client(user).get("/vip/alice/cost?type=4"), status=200)["data"]["cost"]
    envelope(_client(user).get("/vip/alice/cost?type=%EF%BC%94"), errors.InvalidParametersError)
    envelope(_client(user).get("/vip/alice/cost?type=4&validity=%D9%A1"), errors.InvalidParametersError)


# --- names: printable, no text-direction controls ---------------------------------------------------------------

@pytest.mark.parametrize(("path", "body"), [
    ("/auth/me", {"nickname": "admin\u202egnp.exe"}), ("/auth/me", {"real_name": "Bob\u2067x"}),
    ("/auth/me", {"school": "MIT\u200f"}), ("/auth/me", {"nickname": "two\nlines"}),
    ("/auth/me", {"real_name": "bel\x07"}),
    ("/auth/me", {"intro": "fine\nbut \u202e"}), ("/auth/me", {"comment": "bell \x07"}),
    ("/users/alice", {"nickName": "x\u202ey"}),
    # The line and paragraph separators break a line as a line feed does (they are not category Cc).
    ("/auth/me", {"nickname": "two\u2028lines"}), ("/users/alice", {"school": "MIT\u2029x"}),
    ("/auth/me", {"website": "https://exa\u2028mple.com"}),
])
def test_a_name_with_a_control_or_direction_mark_is_1007(user, path, body):
    """A right-to-left override reversed the consent page's sentence around an app or user name."""
    client = _client(user)
    before = snapshot()
    reply = envelope(client.patch(path, body, format="json"), errors.InvalidParametersError)
    assert "No control characters or text-direction marks here." in json.dumps(reply["error"])
    before.assert_unchanged()


def test_an_intro_keeps_its_line_breaks_and_names_their_scripts(user):
    body = {"intro": "line one\nline two\ttab", "nickname": "\u05e9\u05dc\u05d5\u05dd",
            "real_name": "\u0645\u0631\u062d\u0628\u0627"}
    reply = envelope(_client(user).patch("/auth/me", body, format="json"))
    assert reply["data"]["intro"] == "line one\nline two\ttab"


def test_an_app_name_with_a_direction_mark_is_1007(user):
    client = _client(user)
    envelope(client.post("/developer/apps/", {"name": "<b>app</b>\u202eevil"}, format="json"),
             errors.InvalidParametersError)
    assert envelope(client.post("/developer/apps/", {"name": "\u0645\u0631\u062d\u0628\u0627 app"}, format="json"),
                    status=201)["data"]["name"] == "\u0645\u0631\u062d\u0628\u0627 app"


@pytest.mark.parametrize("token", ["eyA.b.c.d.e", "eyJhbGciOiJub25lIn0.e30.x.y.z", "ey....", "eyJ.e30.x.y"])
@pytest.mark.parametrize("path", ["/auth/me", "/repos/", "/users/alice"])
def test_a_dotted_token_that_is_no_jwt_of_ours_is_7005(token, path, user):
    """oauthlib reads a Bearer token starting "ey" with four dots as an ID token (JWE-shaped) and DOT's check of
    it raised jwcrypto's InvalidJWSObject: a 500 and a logged traceback for any caller."""
    client = _client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    envelope(client.get(path), errors.NotAuthenticatedError)


def test_a_repository_description_and_a_ledger_note_refuse_control_and_direction_marks(user):
    """Both are shown to others (a public repository to anyone, a top-up's note to the wallet's owner) as the
    profile's intro is, which already refused them: a right-to-left override spoofed the text after it."""
    from membership.models import TierType
    from repos.services import repository_create
    from tests.quotas.helpers import give_tier

    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="r1")
    client, operator = _client(user), _client(AdminFactory(username="root"))
    before = snapshot()
    for description in ("x\u202eevil", "bell\x07", "esc\x1b[31m"):
        envelope(client.post("/repos/", {"name": "r2", "description": description}, format="json"),
                 errors.InvalidParametersError)
        envelope(client.patch("/repos/alice/r1", {"description": description}, format="json"),
                 errors.InvalidParametersError)
    for note in ("x\u202eevil", "two\nlines", "\x01"):
        envelope(operator.post("/vip/alice/topup", {"amount": "1", "note": note}, format="json"),
                 errors.InvalidParametersError)
    before.assert_unchanged()
    reply = envelope(client.patch("/repos/alice/r1", {"description": "line one\nline two\ttab"}, format="json"))
    assert reply["data"]["description"] == "line one\nline two\ttab"


# --- JSON nested past Python's recursion limit, where no body parser stands guard -----------------------------

# A token of three segments whose (unsigned) header is an array nested 1,500 deep: about 2 kB.
DEEP_TOKEN = base64.urlsafe_b64encode(b"[" * 1500).rstrip(b"=").decode() + ".e30.AAAA"


@pytest.mark.parametrize("header", [{"HTTP_AUTHORIZATION": f"Bearer {DEEP_TOKEN}"},
                                    {"HTTP_AUTHORIZATION": f"Token {DEEP_TOKEN}"}, {"HTTP_TOKEN": DEEP_TOKEN}])
@pytest.mark.parametrize("path", ["/auth/me", "/repos/", "/auth/sessions"])
def test_a_forged_token_whose_header_nests_deep_is_7005(path, header):
    """The header was parsed before the signature was checked, and the JSON's RecursionError was a 500."""
    envelope(_client().get(path, **header), errors.NotAuthenticatedError)


def test_a_forged_refresh_token_whose_header_nests_deep_is_7005(user):
    before = snapshot()
    envelope(_client().post("/auth/refresh", {"refresh": DEEP_TOKEN}, format="json"), errors.NotAuthenticatedError)
    before.assert_unchanged()


@pytest.mark.parametrize("page", ["/oauth/login/passkey/", "/oauth/login/mfa/"])
def test_the_sign_in_pages_refuse_a_passkey_answer_nested_deep(page):
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    form = browser.get("/oauth/login/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    reply = browser.post(page, {"csrfmiddlewaretoken": csrf, "passkey_token": "x", "webauthn": "[" * 1500})
    assert reply.status_code in (302, 401), reply.status_code


# --- the OAuth client endpoints ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["\u00e9", "\u00ff\u00fe", "w6k=\u202e"])
@pytest.mark.parametrize(("path", "body"), [
    ("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": "x"}),
    ("/oauth/revoke_token/", {"token": "x"}), ("/oauth/introspect/", {"token": "x"}),
])
def test_basic_credentials_that_are_not_ascii_are_invalid_client(path, body, value):
    reply = _client().post(path, body, HTTP_AUTHORIZATION=f"Basic {value}")
    assert (reply.status_code, reply.json()["error"]) == (401, "invalid_client"), reply.content
    assert reply["WWW-Authenticate"] == 'Basic realm="oauth"'


@pytest.mark.parametrize("path", ["/oauth/token/", "/oauth/revoke_token/", "/oauth/introspect/"])
def test_the_client_endpoints_refuse_a_parameter_given_twice(path, user):
    """`token=A&token=B` revoked B and answered 200, so the client took A for ended (introspection told of
    one or the other by their order)."""
    issued = applications.application_create(owner=UserFactory(username="twicedev"), redirect_uris="https://a.example/cb")
    credentials = base64.b64encode(f"{issued.application.client_id}:{issued.client_secret}".encode()).decode()
    reply = Client().post(path, "token=first&token=second&grant_type=refresh_token&refresh_token=x",
                          content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_request"), reply.content


# --- addresses ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hop", ["fe80::1%" + "e" * 32, "fe80::1%eth0"])
def test_an_ipv6_zone_in_a_trusted_hop_is_dropped(settings, hop):
    """A zone past 39 characters in all reached PostgreSQL's inet, which refused it (a 500)."""
    settings.ACCOUNTS_TRUSTED_PROXIES = 1
    reply = _client().post("/auth/register", {"username": "zoned", "password": "Correct-horse-9-battery"},
                           format="json", HTTP_X_FORWARDED_FOR=hop)
    envelope(reply)
    assert Session.objects.get(user__username="zoned").ip == "fe80::1"
