"""The envelope on every path, body parsing and limits, schema, docs, health."""

import gzip
import json
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import RevokeReason, Session, User
from accounts.services import sessions
from accountsite import errors
from tests.conftest import envelope
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SECTION_2_PATHS = [
    "/auth/register", "/register/", "/auth/login", "/login/", "/auth/refresh", "/auth/logout",
    "/auth/sessions", "/auth/sessions/{id}", "/auth/password", "/auth/unregister", "/auth/me", "/auth/",
]


# docs/errors.md's table, written as numbers on purpose:
# this is the one place the suite pins the wire values, so every other test names the error class instead.
DOCUMENTED_CODES = {
    errors.ServiceError: (1001, 500), errors.DependencyDownError: (1001, 503),
    errors.InvalidParametersError: (1007, 400), errors.NotFoundError: (1009, 404),
    errors.MethodNotAllowedError: (1010, 405), errors.RequestTooLargeError: (1013, 413),
    errors.TooManyRequestsError: (1029, 429), errors.NotAuthenticatedError: (7005, 401),
    errors.PermissionDeniedError: (7006, 403), errors.AccountNotActivatedError: (7008, 403),
    errors.AccountDisabledError: (7009, 403), errors.LoginNameTakenError: (8002, 409),
    errors.EmailTakenError: (8003, 409), errors.WrongPasswordError: (8004, 400),
    errors.InvalidSecretError: (8005, 400), errors.QuotaExistsError: (8006, 409),
    errors.InsufficientBalanceError: (8007, 402), errors.QuotaExceededError: (8008, 403),
    errors.MembershipChangeError: (8009, 409), errors.CostMismatchError: (8010, 409),
    errors.RepositoryExistsError: (8011, 409), errors.IdempotencyKeyReusedError: (8012, 422),
}


def test_error_classes_carry_the_documented_codes_and_statuses():
    classes, pending = set(), [errors.ServiceError]
    while pending:
        error = pending.pop()
        classes.add(error)
        pending.extend(error.__subclasses__())
    assert classes == set(DOCUMENTED_CODES), "an error class docs/errors.md does not list (or the reverse)"
    assert {error: (error.code, error.status_code) for error in classes} == DOCUMENTED_CODES


def test_success_envelope(user_client):
    body = envelope(user_client.get("/auth/me"), status=200)
    assert body["msg"] == "ok" and body["data"]["loginname"] == "alice"
    assert set(body) == {"code", "msg", "data"}


@pytest.mark.parametrize("path", ["/no/such/path", "/auth/nothing", "/auth/sessions/not-a-uuid", "/static/x.js"])
def test_unknown_path_is_1009(anon_client, path):
    response = anon_client.get(path)
    envelope(response, errors.NotFoundError)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/auth/login"), ("put", "/auth/login"), ("get", "/auth/register"), ("delete", "/register/"),
    ("get", "/auth/refresh"),
])
def test_wrong_method_is_1010(anon_client, method, path):
    envelope(getattr(anon_client, method)(path), errors.MethodNotAllowedError)


@pytest.mark.parametrize(("method", "path"), [("get", "/auth/logout"), ("delete", "/auth/me"),
                                              ("post", "/auth/sessions"), ("get", "/auth/password")])
def test_wrong_method_signed_in_is_1010(user_client, method, path, unchanged):
    envelope(getattr(user_client, method)(path), errors.MethodNotAllowedError)
    unchanged()


@pytest.mark.parametrize("body", ['{"username": "x", ', "{'single': 'quotes'}", "[1, 2", "\xff\xfe"])
def test_malformed_json_is_1007(anon_client, body, unchanged):
    response = anon_client.post("/auth/login", data=body.encode("latin-1"), content_type="application/json")
    body = envelope(response, errors.InvalidParametersError)
    assert "Malformed" in body["msg"]
    unchanged()


def test_malformed_json_signed_in_changes_nothing(user_client, unchanged):
    response = user_client.generic("PATCH", "/auth/me", '{"nickname": ', content_type="application/json")
    envelope(response, errors.InvalidParametersError)
    unchanged()


def test_unsupported_media_type_is_1007_415(anon_client, unchanged):
    response = anon_client.post("/auth/register", data="<user>x</user>", content_type="application/xml")
    assert envelope(response, errors.InvalidParametersError, status=415)["msg"] == \
        'Unsupported media type "application/xml" in request.'
    unchanged()


@pytest.mark.parametrize("content_type", ["multipart/mixed; boundary=" + "b" * 5000, "x" * 300 + "/xml",
                                          "text/<script>"])
def test_a_415_names_the_media_type_alone_and_only_a_well_formed_one(anon_client, content_type):
    response = anon_client.post("/auth/register", data="x", content_type=content_type)
    message = envelope(response, errors.InvalidParametersError, status=415)["msg"]
    assert len(message) < 100 and "bbbb" not in message and "xxxx" not in message and "<" not in message


def test_body_too_large_is_1013(anon_client, settings, unchanged):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    data = {"username": "bigbody", "password": PASSWORD, "intro": "x" * 300}
    envelope(anon_client.post("/auth/register", data, format="json"), errors.RequestTooLargeError)
    unchanged()
    # Just under the limit it goes through.
    data["intro"] = "short"
    envelope(anon_client.post("/auth/register", data, format="json"), status=201)


@pytest.mark.parametrize("fmt", ["xml", "api", "yaml", "html"])
def test_an_unknown_format_is_406_not_a_missing_object(user_client, user, fmt):
    """`?format=` names the reply's format: one the API does not write is 1007 (406), as an `Accept` it
    cannot meet is, not 1009 for the profile that exists; `json` is the one it writes."""
    body = envelope(user_client.get(f"/users/{user.username}?format={fmt}"), errors.InvalidParametersError, status=406)
    assert fmt not in body["msg"] and body["msg"].endswith("use json.")
    assert envelope(user_client.get(f"/users/{user.username}?format=json"))["data"]["loginname"] == user.username


def test_an_unknown_format_names_the_formats_of_that_route(anon_client):
    """The schema is written in YAML and JSON: its refusal says so, where the API's says json."""
    body = envelope(anon_client.get("/schema/?format=xml"), errors.InvalidParametersError, status=406)
    assert body["msg"] == "Unknown reply format in ?format=: leave it out, or use yaml or json."
    assert anon_client.get("/schema/?format=yaml").status_code == 200


def test_no_cache_keeps_an_api_reply_and_every_refusal_carries_the_security_headers(user, user_client, settings):
    """Token replies (RFC 6749 5.1), a developer's secret and anyone's data: `Cache-Control: no-store`, the
    early refusals (411, 413) included, which also carry nosniff and the frame options. Static files keep
    their own caching."""
    login = APIClient().post("/auth/login", {"username": user.username, "password": PASSWORD}, format="json")
    chunked = user_client.generic("PATCH", "/auth/me", "{}", content_type="application/json",
                                  HTTP_TRANSFER_ENCODING="chunked")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    too_large = APIClient().post("/auth/login", {"username": "x" * 20}, format="json")
    for reply in (login, user_client.get("/auth/me"), user_client.get("/auth/sessions"), chunked, too_large):
        assert reply["Cache-Control"] == "no-store", reply
        assert reply["X-Content-Type-Options"] == "nosniff" and reply["X-Frame-Options"] == "DENY", reply
    assert login.status_code == 200 and chunked.status_code == 411 and too_large.status_code == 413
    static = Client().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")


@pytest.mark.parametrize("number", ["1e999999", "-1e999999", "1.0e400"])
def test_a_number_past_a_floats_range_is_malformed_not_inf(user_client, unchanged, number):
    reply = user_client.generic("PATCH", "/auth/me", f'{{"nickname": {number}}}', content_type="application/json")
    envelope(reply, errors.InvalidParametersError)
    unchanged()


@pytest.mark.parametrize(("body", "charset", "reason"), [
    ('{"nickname": ' + "9" * 5000 + "}", "utf-8", "a number with too many digits"),
    ('{"nickname": "caf\xe9"}', "latin-1", "the body is not valid utf-8 text"),
    ('{"nickname": NaN}', "utf-8", "NaN is not a JSON number"),
    ('{"nickname": ', "utf-8", "Expecting value: line 1 column 14 (char 13)"),
])
def test_a_malformed_body_is_told_in_the_apis_words(user_client, unchanged, body, charset, reason):
    """Python's own messages named its internals (`sys.set_int_max_str_digits()`, the codec's byte offsets)."""
    reply = user_client.generic("PATCH", "/auth/me", body.encode(charset), content_type="application/json")
    message = envelope(reply, errors.InvalidParametersError)["msg"]
    assert message == f"Malformed request body: JSON parse error - {reason}"
    unchanged()


@pytest.mark.parametrize("content_type", ["application/json; charset=latin-1", "text/json; charset=bz2_codec",
                                          "application/json; charset=no-such-charset"])
def test_a_json_body_is_read_as_utf8_whatever_charset_it_names(user_client, content_type):
    """RFC 8259: JSON between systems is UTF-8 and its media type has no charset parameter. Read by the named
    charset, a UTF-8 body labelled latin-1 stored "cafÃ©" for "café"."""
    reply = user_client.generic("PATCH", "/auth/me", '{"nickname": "café"}'.encode(), content_type=content_type)
    assert envelope(reply)["data"]["nickname"] == "café"


def test_latin1_bytes_are_malformed_json_even_when_labelled_latin1(user_client, unchanged):
    reply = user_client.generic("PATCH", "/auth/me", '{"nickname": "caf\xe9"}'.encode("latin-1"),
                                content_type="application/json; charset=latin-1")
    assert envelope(reply, errors.InvalidParametersError)["msg"].endswith("the body is not valid utf-8 text")
    unchanged()


def test_a_compressed_body_is_415(user_client, unchanged):
    compressed = gzip.compress(b'{"nickname": "Zipped"}')
    reply = user_client.generic("PATCH", "/auth/me", compressed, content_type="application/json",
                                HTTP_CONTENT_ENCODING="gzip")
    assert "uncompressed" in envelope(reply, errors.InvalidParametersError, status=415)["msg"]
    unchanged()
    plain = user_client.generic("PATCH", "/auth/me", b'{"nickname": "Plain"}', content_type="application/json",
                                HTTP_CONTENT_ENCODING="identity")
    assert envelope(plain)["data"]["nickname"] == "Plain"


def test_a_body_in_chunks_is_refused_not_read_as_empty(user_client, unchanged):
    """Django reads a body by its Content-Length: a chunked one would arrive empty and the request mean
    something else, so it is refused (1007, 411 Length Required) and changes nothing."""
    response = user_client.generic("PATCH", "/auth/me", '{"nickname": "Chunked"}', content_type="application/json",
                                   HTTP_TRANSFER_ENCODING="chunked")
    body = envelope(response, errors.InvalidParametersError, status=411)
    assert "Content-Length" in body["msg"]
    unchanged()


def test_throttled_is_1029_with_retry_after(anon_client, settings):
    settings.ACCOUNTS_REGISTRATIONS_PER_IP = 1
    envelope(anon_client.post("/auth/register", {"username": "first", "password": PASSWORD}, format="json"), status=201)
    response = anon_client.post("/auth/register", {"username": "second", "password": PASSWORD}, format="json")
    envelope(response, errors.TooManyRequestsError)
    assert 1 <= int(response["Retry-After"]) <= settings.ACCOUNTS_REGISTRATION_WINDOW
    assert not User.objects.filter(username="second").exists()


@pytest.mark.urls("tests.accounts.crash_urls")
def test_unhandled_exception_in_api_view_is_1001_without_details(anon_client):
    response = anon_client.get("/crash/api")
    body = envelope(response, errors.ServiceError)
    text = response.content.decode().lower()
    for leak in ("traceback", "select", "no_such_table", "secret_column", "file \"", ".py"):
        assert leak not in text, text
    assert body["msg"] == "Internal error."


@pytest.mark.urls("tests.accounts.crash_urls")
def test_unhandled_exception_outside_drf_is_1001():
    client = APIClient(raise_request_exception=False)
    response = client.get("/crash/plain")
    envelope(response, errors.ServiceError)
    assert "xyz" not in response.content.decode() and "Traceback" not in response.content.decode()


@pytest.mark.urls("tests.accounts.crash_urls")
def test_crash_urlconf_keeps_real_routes(anon_client):
    envelope(anon_client.get("/healthz"), status=200)


def test_numbers_as_strings_and_numbers_accepted(anon_client):
    # "all" is a boolean; a number-like login and terminal arrive as JSON numbers.
    reply = anon_client.post("/auth/register", {"username": 12345678901, "password": PASSWORD, "terminal": 7},
                             format="json")
    body = envelope(reply, status=201)
    assert body["data"]["user"]["loginname"] == "12345678901" and body["data"]["terminal"] == "7"
    login = anon_client.post("/auth/login", {"username": 12345678901, "password": PASSWORD, "terminal": 7},
                             format="json")
    body = envelope(login, status=200)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['data']['access']}")
    envelope(client.post("/auth/logout", {"all": True}, format="json"), status=200)
    assert not Session.objects.filter(revoked_at__isnull=True).exists()


def test_form_bodies_accepted(anon_client):
    reply = anon_client.post("/auth/register", {"username": "formuser", "password": PASSWORD, "nickname": "F"})
    assert reply.request["CONTENT_TYPE"].startswith("multipart/form-data")
    envelope(reply, status=201)
    encoded = f"username=formuser&password={PASSWORD}&terminal=web"
    reply = anon_client.post("/auth/login", encoded, content_type="application/x-www-form-urlencoded")
    assert envelope(reply, status=200)["data"]["terminal"] == "web"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reply.json()['data']['access']}")
    encoded = f"oldPassword={PASSWORD}&newPassword=another-Long-passw0rd"
    envelope(client.post("/auth/password", encoded, content_type="application/x-www-form-urlencoded"), status=200)
    assert User.objects.get(username="formuser").check_password("another-Long-passw0rd")


def test_schema_documents_every_section_2_path(anon_client):
    response = anon_client.get("/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    # The optional trailing slash of the routes shows up in the schema; both spellings are served.
    paths = {re.sub(r"\{[^}]+\}", "{id}", path).rstrip("/") for path in schema["paths"]}
    missing = [path for path in SECTION_2_PATHS if path.rstrip("/") not in paths]
    assert not missing, sorted(paths)
    assert "/auth/" in schema["paths"] and "/register/" in schema["paths"]
    assert "ErrorEnvelope" in schema["components"]["schemas"]


REFERENCE = ["/docs/", "/schema/"]


@pytest.mark.parametrize("path", REFERENCE)
@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
def test_the_reference_answers_other_methods_with_405_in_the_envelope(path, method):
    response = Client(raise_request_exception=False).generic(method, path)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {"code": 1010, "msg": f'Method "{method}" not allowed.', "data": None}
    assert Client().head(path).status_code == 200


@pytest.mark.parametrize("path", REFERENCE)
@pytest.mark.parametrize("accept", ["*/*", "application/json", "text/html"])
def test_the_reference_answers_options_as_every_route(path, accept):
    """/docs/'s OPTIONS went to DRF's metadata through the page's HTML renderer, which has no template for it
    (a 500); /schema/'s came out in YAML."""
    response = Client().options(path, HTTP_ACCEPT=accept)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["data"]["methods"] == ["GET", "HEAD", "OPTIONS"]


@pytest.mark.parametrize(("path", "unmet"), [("/docs/", "application/json"), ("/schema/", "text/html")])
@pytest.mark.parametrize("token", ["not-a-token", "revoked"])
def test_the_reference_reads_no_token_and_refuses_an_unmet_accept_in_the_envelope(user, path, unmet, token):
    """A refusal went through the document's renderer: /schema/'s in YAML; /docs/'s HTML renderer read
    request.user in its template and so checked the token there, past DRF's error handling, and a revoked
    token with an Accept the page cannot meet was a 500."""
    if token == "revoked":
        session, pair = sessions.session_start(user=user, terminal="laptop", ip="127.0.0.1", user_agent="UA")
        sessions.session_revoke(session=session, reason=RevokeReason.LOGOUT)
        token = pair.access
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")
    refused = client.get(path, HTTP_ACCEPT=unmet)
    assert refused.status_code == 406 and refused.json() == {
        "code": 1007, "msg": "Could not satisfy the request Accept header.", "data": None}
    assert client.get(path).status_code == 200  # public documents: a bad token is not read


def test_docs_serve_swagger_ui_from_the_package(anon_client):
    response = anon_client.get("/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert not external, external
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html)
    assert any("swagger-ui-bundle" in asset for asset in assets), html
    # The assets are served by the app itself (DEBUG is off here, as in production).
    for asset in assets:
        served = anon_client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])


def test_healthz(anon_client):
    body = envelope(anon_client.get("/healthz"), status=200)
    assert body["data"] == {"database": "ok", "cache": "ok"}


def test_head_answers_as_get_does_on_every_path_without_parameters(anon_client, user_client):
    """HEAD is GET without the body (RFC 9110 9.3.2): a load balancer probing /healthz with HEAD got 7006."""
    schema = json.loads(anon_client.get("/schema/?format=json").content)
    paths = [path for path, operations in schema["paths"].items() if "get" in operations and "{" not in path]
    paths.append("/healthz")  # every path answers without its slash too; the schema lists /healthz/
    assert {"/healthz/", "/", "/auth/me/", "/oauth/"} <= set(paths)
    for client in (anon_client, user_client):
        for path in paths:
            got, head = client.get(path), client.head(path)
            assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
            assert head.content == b"", path


def test_seed_004_clients_send_and_accept_text_json(admin_client, user):
    """Seed 004's examples send their bodies as `Content-Type: text/json;charset=UTF-8` and ask for replies
    with `Accept: text/json;charset=UTF-8`: the same JSON, and the same envelope under the type they asked for."""
    legacy = "text/json;charset=UTF-8"
    path = f"/quota/{user.username}/deposit"
    reply = admin_client.put(path, json.dumps({"quota": "300"}), content_type=legacy, HTTP_ACCEPT=legacy)
    assert reply.status_code == 200 and reply["Content-Type"].startswith("text/json"), reply.content
    body = json.loads(reply.content)
    assert body["code"] == 0 and body["data"]["quotaBytes"] == 300 * 1024 * 1024
    refused = admin_client.put(path, '{"quota": ', content_type=legacy, HTTP_ACCEPT=legacy)
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/json")
    assert json.loads(refused.content)["code"] == errors.InvalidParametersError.code
    # Asking for neither, or for both, still gives application/json.
    for accept in ("", "*/*", "application/json, text/json"):
        reply = admin_client.get(path, HTTP_ACCEPT=accept)
        assert reply["Content-Type"] == "application/json", (accept, reply["Content-Type"])


def test_invalid_content_length_is_1007(anon_client, unchanged):
    response = anon_client.post("/auth/login", "{}", content_type="application/json", CONTENT_LENGTH="12abc")
    envelope(response, errors.InvalidParametersError)
    unchanged()


def test_the_secrets_scan_catches_a_leak(user):
    """The scan every test in this package runs on replies does fail on a password key or a stored hash."""
    from django.http import JsonResponse

    from tests.accounts.conftest import assert_no_secrets

    assert_no_secrets(JsonResponse({"code": 0, "msg": "ok", "data": {"loginname": "alice"}}))
    leaks = [{"user": {"password": "x"}}, {"old_password": None}, {"note": user.password},
             [{"hash": "argon2$argon2id$v=19$m=19456,t=2,p=1$abc$def"}]]
    for data in leaks:
        with pytest.raises(AssertionError):
            assert_no_secrets(JsonResponse({"code": 0, "msg": "ok", "data": data}))


def test_too_many_form_fields_is_1013(anon_client, settings, unchanged):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    encoded = "&".join(f"field{index}=1" for index in range(20)) + f"&username=formuser&password={PASSWORD}"
    response = anon_client.post("/auth/register", encoded, content_type="application/x-www-form-urlencoded")
    envelope(response, errors.RequestTooLargeError)
    unchanged()


def test_json_nested_too_deeply_is_1007(anon_client, unchanged):
    body = '{"username": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = anon_client.post("/auth/login", body, content_type="application/json")
    assert "nested" in envelope(response, errors.InvalidParametersError)["msg"]
    unchanged()


def test_healthz_reports_a_cache_that_does_not_keep_values(anon_client):
    from django.test import override_settings

    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        response = anon_client.get("/healthz")
    body = envelope(response, errors.DependencyDownError)
    assert body["error"] == {"database": "ok", "cache": "down"}


def test_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/auth/sessions/{id}" in target.read_text()


def test_the_root_names_the_service_and_links_to_the_rest(anon_client):
    from accountsite import VERSION

    data = envelope(anon_client.get("/"))["data"]
    assert data["service"] == "accountsite" and data["version"] == VERSION
    assert data["links"] == {
        "docs": "http://testserver/docs/", "schema": "http://testserver/schema/",
        "admin": "http://testserver/admin/", "health": "http://testserver/healthz",
        "openid_configuration": "http://testserver/.well-known/openid-configuration",
    }
    for link in data["links"].values():
        assert anon_client.get(link.removeprefix("http://testserver")).status_code in (200, 302)


@pytest.mark.parametrize("method, path", [("get", "/auth/me"), ("post", "/auth/login"), ("get", "/admin/login/")])
def test_an_unknown_host_is_a_clear_400_logged_in_one_line(caplog, unchanged, method, path):
    """A Host outside ALLOWED_HOSTS is a client's (or a scanner's) mistake: the reply says what is wrong, and
    the log keeps one warning without Django's traceback, not an error per request."""
    with caplog.at_level("INFO", logger="django.security"):
        response = getattr(Client(HTTP_HOST="evil.example"), method)(path)
    body = envelope(response, errors.InvalidParametersError)
    assert body["msg"] == "Unknown host: this service does not answer to that Host header."
    [record] = [record for record in caplog.records if record.name == "django.security.DisallowedHost"]
    assert (record.levelname, record.exc_info, record.exc_text) == ("WARNING", None, None)
    assert "evil.example" in record.getMessage()


_MANY_FIELDS = "&".join(f"f{index}=1" for index in range(2000))
_MANY_FILES = "".join(f'--zz\r\nContent-Disposition: form-data; name="f{index}"; filename="f{index}.txt"\r\n\r\nx\r\n'
                      for index in range(150)) + "--zz--\r\n"


@pytest.mark.parametrize("path, content_type, body, logger", [
    ("/oauth/token/", "application/x-www-form-urlencoded", _MANY_FIELDS, "django.security.TooManyFieldsSent"),
    ("/oauth/revoke_token/", "application/x-www-form-urlencoded", _MANY_FIELDS, "django.security.TooManyFieldsSent"),
    ("/oauth/token/", "multipart/form-data; boundary=zz", _MANY_FILES, "django.security.TooManyFilesSent"),
])
def test_too_many_fields_is_a_413_logged_in_one_line(caplog, unchanged, path, content_type, body, logger):
    """A form with more fields or files than Django reads, sent to a view outside DRF (the OAuth endpoints), is
    answered 413 in the envelope; Django logged it as an ERROR with its traceback for each request, which any
    client could repeat to fill the log and page whoever watches for errors."""
    with caplog.at_level("INFO", logger="django.security"):
        response = Client().generic("POST", path, body, content_type=content_type)
    envelope(response, errors.RequestTooLargeError)
    [record] = [record for record in caplog.records if record.name == logger]
    assert (record.levelname, record.exc_info, record.exc_text) == ("WARNING", None, None)
    unchanged()


@pytest.mark.parametrize(("accept", "status", "content_type"), [
    ("application/json;q=0", 406, "application/json"),
    ("*/*;q=0", 406, "application/json"),
    ("text/json;q=0, application/json;q=0.000", 406, "application/json"),
    ("application/json;q=0.5", 200, "application/json"),
    ("*/*;q=0, application/json", 200, "application/json"),
    ("application/json;q=0, */*", 200, "text/json"),  # JSON refused by name: the other spelling of it
])
def test_a_media_range_weighted_zero_is_refused_not_served(user_client, accept, status, content_type):
    """RFC 9110 12.4.2: q=0 means "not acceptable". DRF ignores the weights, so it answered JSON anyway."""
    response = user_client.get("/auth/me", HTTP_ACCEPT=accept)
    assert (response.status_code, response["Content-Type"].split(";")[0]) == (status, content_type)
    if status == 406:
        envelope(response, errors.InvalidParametersError, status=406)
