"""The back office's bad-input battery: every registered model's list, object pages and change form, as a
superuser, with hostile values in each list parameter and in each form field, one at a time: never a 5xx.
Runs on PostgreSQL in the PostgreSQL pass, where a number past a column's integers is an error in the
database (on SQLite, in its driver). Each 500 it was written after is named in CHANGELOG's Security."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

from accounts.oauth import applications
from accounts.services import sessions
from membership.models import TierType
from membership.services import wallet_topup
from repos.services import commit_create, repository_create
from tests.conftest import signed_in_client
from tests.factories import UserFactory
from tests.quotas.helpers import give_tier

pytestmark = pytest.mark.django_db

HOSTILE = ["", "-1", "99999999999999999999", "-99999999999999999999", "x", "\uff11", "1e999", "1.5", "NaN",
           "9999-12-31 23:59:59", "<b>", "a" * 3000]
LIST_PARAMETERS = ["q", "o", "p", "e", "all", "_to_field", "_popup", "_changelist_filters"]
MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def rows(admin_user):
    """A row of every model the back office lists, all about alice."""
    alice = give_tier(UserFactory(username="alice"), TierType.GOLD)
    wallet_topup(user=alice, amount=Decimal("50.00"), actor=admin_user)
    commit_create(repo=repository_create(owner=alice, name="r1"), author=alice, content="c")
    sessions.session_start(user=alice, terminal="laptop", ip="198.51.100.7", user_agent="UA")
    app = applications.application_create(owner=alice, redirect_uris="https://app.example/cb").application
    soon = timezone.now() + timedelta(hours=1)
    id_token = IDToken.objects.create(user=alice, application=app, expires=soon, scope="openid")
    token = AccessToken.objects.create(user=alice, application=app, token="a" * 30, scope="openid read",
                                       expires=soon, id_token=id_token)
    RefreshToken.objects.create(user=alice, application=app, token="r" * 30, access_token=token)
    Grant.objects.create(user=alice, application=app, code="g" * 30, expires=soon, scope="read",
                         redirect_uri="https://app.example/cb")


def _url(model, page: str, *args) -> str | None:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)
    except NoReverseMatch:
        return None


def _assert_answered(response, context) -> None:
    assert response.status_code < 500, (context, response.status_code, response.content[:300])


def test_the_battery_covers_every_model():
    assert len(MODELS) >= 14


@pytest.mark.parametrize("model", MODELS, ids=[model._meta.label for model in MODELS])
def test_hostile_list_parameters_never_get_a_5xx(admin_user, rows, model):
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    changelist = _url(model, "changelist")
    for name in LIST_PARAMETERS:
        for value in HOSTILE:
            _assert_answered(site.get(f"{changelist}?{urlencode({name: value})}"), (name, value))


@pytest.mark.parametrize("model", MODELS, ids=[model._meta.label for model in MODELS])
def test_hostile_values_in_every_field_of_a_change_form_never_get_a_5xx(admin_user, rows, model):
    site = signed_in_client(admin_user)
    site.raise_request_exception = False
    model_admin, obj = admin.site._registry[model], model._default_manager.first()
    assert obj is not None, "the rows fixture makes one of every listed model"
    for page in ("change", "delete", "history"):
        url = _url(model, page, obj.pk)
        if url is not None:
            for value in ("", "id", "pk", " "):
                _assert_answered(site.get(f"{url}?_to_field={value}"), (page, value))
    request = RequestFactory().get("/")
    request.user = admin_user
    form = model_admin.get_form(request, obj)(instance=obj)
    valid = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    for name in form.fields:
        for value in HOSTILE:
            reply = site.post(_url(model, "change", obj.pk), {**valid, name: value, "_save": "Save"})
            _assert_answered(reply, (name, value))
