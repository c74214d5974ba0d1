"""Regression tests for a black-box review of the API as a new user and as an attacker, one section per
finding: each request as it was sent, what it gets now, and that the legitimate request beside it works."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Session, User, UserStatus
from accountsite import errors
from membership.models import TierType
from quotas.models import Quota, QuotaKind
from repos.models import Repository, Visibility
from repos.services import repository_create
from tests.conftest import app_client, browser_sign_in, client_for, envelope, staff_user
from tests.factories import PASSWORD
from tests.quotas.helpers import give_tier, row
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


# --- A name that is no field of a user record is a mistake (1007), not a missing permission (7006) ---------------

@pytest.mark.parametrize(("path", "caller"), [("/users/alice", "admin"), ("/users/alice", "self"),
                                              ("/auth/me", "self"), ("/auth/me", "admin")])
def test_a_misspelt_field_is_1007_naming_the_fields_for_anyone(user, admin_user, path, caller):
    client = client_for(user if caller == "self" else admin_user)
    before = snapshot()
    body = envelope(client.patch(path, {"invalid_att": "2099-01-01T00:00:00Z"}, format="json"),
                    errors.InvalidParametersError)
    assert list(body["error"]) == ["invalid_att"] and "The fields are:" in body["error"]["invalid_att"][0]
    before.assert_unchanged()


@pytest.mark.parametrize("field", ["email", "is_superuser", "is_staff", "last_login", "username", "role"])
def test_a_field_of_the_record_the_caller_may_not_set_here_stays_7006(user, user_client, unchanged, field):
    body = envelope(user_client.patch("/auth/me", {field: "x"}, format="json"), errors.PermissionDeniedError)
    assert body["error"] == {"fields": [field]}
    unchanged()


def test_auth_me_takes_the_profile_spellings_users_takes(user, user_client):
    body = envelope(user_client.patch("/auth/me", {"nickName": "Ally", "userName": "Alice A."}, format="json"))
    assert (body["data"]["nickname"], body["data"]["real_name"]) == ("Ally", "Alice A.")


# --- Too many fields: a JSON body as a form body, and a query string (1013), replies smaller than the request -----

def test_a_json_body_with_more_keys_than_a_form_may_send_fields_is_1013(settings, user, unchanged):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    nested = {"username": "alice", "password": PASSWORD, "terminal": {f"k{i}": i for i in range(48)}}
    response = APIClient().post("/auth/login", json.dumps(nested), content_type="application/json")
    body = envelope(response, errors.RequestTooLargeError)
    assert body["msg"] == "Request too large: too many fields or files."
    unchanged()


def test_many_unknown_fields_are_all_in_error_and_the_message_names_five(user, unchanged):
    keys = {f"key_{'x' * 50}_{i}": i for i in range(500)}
    request = json.dumps({"username": "alice", "password": PASSWORD, **keys})
    response = APIClient().post("/auth/login", request, content_type="application/json")
    body = envelope(response, errors.InvalidParametersError)
    assert set(body["error"]) == set(keys)
    assert body["msg"].count("key_") == 5 and " and 495 more; the fields are: " in body["msg"]
    assert len(response.content) < 3 * len(request)  # each name once in `error`, five in `msg`
    unchanged()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_an_unknown_name_that_is_no_field_name_is_never_echoed(user, unchanged, content_type):
    """curl -d '{"username": ..., "password": ...}' sends JSON as a form: its one field's name is the whole
    body, password included. Names that do not look like field names (or are longer than 64 characters) are
    counted, never echoed."""
    secret_body = json.dumps({"username": "alice", "password": PASSWORD})
    client = APIClient()
    if content_type.startswith("multipart"):
        response = client.post("/auth/login", {secret_body: "", "x" * 500: "", "nickname_typo": "1"})
    else:
        response = client.post("/auth/login", secret_body, content_type=content_type)
    body = envelope(response, errors.InvalidParametersError)
    assert PASSWORD not in response.content.decode() and "x" * 65 not in response.content.decode()
    assert "not shown" in body["msg"] and "non_field_errors" in body["error"]
    if content_type.startswith("multipart"):
        assert "nickname_typo" in body["error"]
        assert body["msg"].startswith("Invalid parameters: unknown fields nickname_typo and 2 whose names are not "
                                      "shown (a JSON body sent as a form? send it as application/json); ")
    else:
        assert body["msg"].startswith("Invalid parameters: an unknown field whose name is not shown (a JSON body "
                                      "sent as a form? send it as application/json); ")
    unchanged()


def test_a_query_string_with_too_many_parameters_is_1013_saying_so(settings, user, user_client):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    query = "&".join(f"k{i}={i}" for i in range(21))
    body = envelope(user_client.get(f"/users/alice?{query}"), errors.RequestTooLargeError)
    assert body["msg"] == "Request too large: too many fields or files."


# --- An operator's change permission includes the view permission, as in Django's admin -------------------------

@pytest.fixture
def private_repo(user):
    give_tier(user, TierType.GOLD)
    return repository_create(owner=user, name="hidden", visibility=Visibility.PRIVATE)


def test_an_operator_who_may_change_repositories_finds_private_ones(private_repo):
    editor = client_for(staff_user("editor", permissions=("repos.change_repository",)))
    envelope(editor.get("/repos/alice/hidden"))
    body = envelope(editor.patch("/repos/alice/hidden", {"description": "checked"}, format="json"))
    assert body["data"]["description"] == "checked"


def test_an_operator_who_may_only_delete_does_not_find_private_ones(private_repo):
    deleter = client_for(staff_user("deleter", permissions=("repos.delete_repository",)))
    before = snapshot()
    envelope(deleter.delete("/repos/alice/hidden"), errors.NotFoundError)
    before.assert_unchanged()


# --- The right password of an account that may not sign in gets the sign-in's answer ----------------------------

@pytest.mark.parametrize(("status", "error"), [(UserStatus.FROZEN, errors.AccountDisabledError),
                                                (UserStatus.INVALID, errors.AccountDisabledError),
                                                (UserStatus.INACTIVE, errors.AccountNotActivatedError)])
def test_pwd_validate_answers_as_the_sign_in_for_an_account_that_may_not_sign_in(user, status, error):
    User.objects.filter(pk=user.pk).update(status=status)
    envelope(APIClient().get("/users/alice/pwd/validate", {"pwd": PASSWORD}), error)
    envelope(APIClient().post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json"), error)
    envelope(APIClient().get("/users/alice/pwd/validate", {"pwd": "wrong-password"}), errors.WrongPasswordError)


# --- A sign-in names one account ---------------------------------------------------------------------------------

def test_a_sign_in_naming_two_accounts_is_1007_and_starts_no_session(user, other, unchanged):
    response = APIClient().post("/auth/login", {"username": "bob", "email": user.email, "password": PASSWORD},
                                format="json")
    body = envelope(response, errors.InvalidParametersError)
    assert set(body["error"]) == {"username", "email"}
    unchanged()


def test_an_empty_sign_in_names_both_missing_fields(user):
    body = envelope(APIClient().post("/auth/login", {}, format="json"), errors.InvalidParametersError)
    assert body["error"] == {"password": ["This field is required."], "username": ["Give username, email or login."]}
    body = envelope(APIClient().post("/auth/login", {"password": PASSWORD}, format="json"),
                    errors.InvalidParametersError)
    assert body["error"] == {"username": ["Give username, email or login."]}


def test_a_sign_in_naming_one_account_twice_is_fine(user):
    body = envelope(APIClient().post("/auth/login", {"username": "alice", "login": "ALICE", "password": PASSWORD},
                                     format="json"))
    assert body["data"]["user"]["loginname"] == "alice"


# --- A device label is one line of plain text --------------------------------------------------------------------

@pytest.mark.parametrize("terminal", ["\u202etxt.exe", "phone\nlaptop", "tab\x07"])
def test_a_terminal_label_with_control_or_direction_characters_is_1007(user, unchanged, terminal):
    body = envelope(APIClient().post("/auth/login", {"username": "alice", "password": PASSWORD, "terminal": terminal},
                                     format="json"), errors.InvalidParametersError)
    assert list(body["error"]) == ["terminal"]
    assert not Session.objects.exists()
    unchanged()


# --- An administrator's quotas are a superuser's to change ---------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "data"), [
    ("put", "/quota/root/repository", {"quotaPublic": 1}),
    ("post", "/quota/root/deposit/use", {"use": 1, "unit": "M"}),
    ("post", "/quota/root/repository/use", {"usePublic": 0}),
])
def test_an_operator_may_not_change_an_administrators_quotas(admin_user, user, method, path, data):
    operator = client_for(staff_user("support-op", permissions=("quotas.change_quota", "quotas.view_quota")))
    before = snapshot()
    envelope(getattr(operator, method)(path, data, format="json"), errors.PermissionDeniedError)
    before.assert_unchanged()
    envelope(operator.put("/quota/alice/repository", {"quotaPublic": 1}, format="json"))
    envelope(client_for(admin_user).put("/quota/root/repository", {"quotaPublic": 1}, format="json"))


def test_in_the_back_office_an_administrators_quota_is_read_only_to_an_operator(admin_user, user):
    site = Client()
    browser_sign_in(site, staff_user("support-op", permissions=("quotas.change_quota", "quotas.view_quota")))
    theirs, alices = (Quota.objects.get(user=owner, kind=QuotaKind.DEPOSIT) for owner in (admin_user, user))
    before = snapshot()
    assert site.post(f"/admin/quotas/quota/{theirs.pk}/change/", {"quota": "1M"}).status_code == 403
    page = site.get(f"/admin/quotas/quota/{theirs.pk}/change/")
    assert page.status_code == 200 and b'name="quota"' not in page.content
    before.assert_unchanged()
    assert site.post(f"/admin/quotas/quota/{alices.pk}/change/", {"quota": "1M"}).status_code == 302


# --- Replies say what is wrong ----------------------------------------------------------------------------------

def test_an_apps_token_without_the_scope_is_told_which_scope(user):
    reader = app_client(user, "read")
    before = snapshot()
    body = envelope(reader.post("/repos/", {"name": "data"}, format="json"), errors.PermissionDeniedError)
    assert body["error"] == {"scope": "write"} and "'write' scope" in body["msg"]
    before.assert_unchanged()


def test_use_errors_name_the_field_under_the_name_the_api_reads(user, user_client):
    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="kept")
    for spelling in ("usePublic", "public"):
        body = envelope(user_client.post("/quota/alice/repository/use", {spelling: 0}, format="json"),
                        errors.InvalidParametersError)
        assert list(body["error"]) == ["usePublic"]
    body = envelope(user_client.post("/quota/alice/repository/use", {"usePublic": -1}, format="json"),
                    errors.InvalidParametersError)
    assert list(body["error"]) == ["usePublic"]


def test_an_unlimited_quota_past_the_largest_count_says_so(user, admin_client):
    envelope(admin_client.put("/quota/alice/pullnum", {"quota": -1}, format="json"))
    envelope(admin_client.post("/quota/alice/pullnum/use", {"use": 10}, format="json"))
    before = snapshot()
    body = envelope(admin_client.post("/quota/alice/pullnum/use", {"use": 2**63 - 1}, format="json"),
                    errors.QuotaExceededError)
    assert "of -1" not in body["msg"] and "no limit" in body["msg"] and str(2**63 - 1) in body["msg"]
    before.assert_unchanged()
    assert row(user, QuotaKind.PULLS).use == 10


@pytest.mark.parametrize(("raw", "page", "use", "years"), [
    ("99999999999999999999999", "Must be at most 1000000.", f"Must be at most {2**63 - 1}.", "Must be at most 10."),
    ("-99999999999999999999999", "Must be at least 1.", "Must be at least 0.", "Must be at least 1."),
    ("1.5", "A whole number is required.", "A whole number is required.", "A whole number is required."),
])
def test_a_number_too_large_is_told_so_in_a_query_and_a_body(user, user_client, admin_client, raw, page, use, years):
    """Each field names its own bounds, however many digits the number has."""
    body = envelope(user_client.get("/repos/", {"page": raw}), errors.InvalidParametersError)
    assert body["error"] == {"page": [page]}
    body = envelope(admin_client.post("/quota/alice/pullnum/use", {"use": raw}, format="json"),
                    errors.InvalidParametersError)
    assert body["error"] == {"use": [use]}
    body = envelope(user_client.get("/vip/alice/cost", {"type": 4, "validity": raw}), errors.InvalidParametersError)
    assert body["error"] == {"validity": [years]}
    assert not Repository.objects.exists()
