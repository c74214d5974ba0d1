"""Every back-office list, asked for lookups a URL can name but no filter of ours makes: never a 500.

Django lets a list's query string use any lookup on a field the list filters on (or on its date
hierarchy). The database, or Python while the query is built, then refused some values: a bad pattern
(`__regex=(`), a pair that is not one (`__range=1,2`), a year no datetime holds. accountsite.admin's
BoundedListMixin refuses those lookups (Django's 400), and every other answer stays the list or its `?e=1`.
"""

import pytest
from django.contrib import admin
from django.db import models
from django.utils import timezone

from accounts.models import AuditEvent
from tests.conftest import signed_in_client, staff_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOSTILE = ["__year=99999999999999999999", "__iso_year=99999999999999999999", "__month=13", "__day=-1",
           "__hour=99999999999999999999", "__week_day=99999999999999999999", "__year=abc", "__year=%D9%A1%D9%A2",
           "__regex=(", "__iregex=(", "__range=1,2", "__in=99999999999999999999", "__exact=99999999999999999999",
           "__gte=99999999999999999999", "__isnull=2", "__date=99999-01-01", "__exact=%ED%A0%80",
           "__in=1," + "9" * 5000, "=" + "9" * 5000]
REFUSED = {"__year=99999999999999999999", "__iso_year=99999999999999999999", "__month=13", "__day=-1",
           "__hour=99999999999999999999", "__week_day=99999999999999999999", "__year=abc", "__year=%D9%A1%D9%A2",
           "__regex=(", "__iregex=(", "__range=1,2"}


def filtered_fields(model_admin) -> list[str]:
    """The fields a list filters on (by name or with its own filter class) and its date hierarchy."""
    names = [entry[0] if isinstance(entry, tuple) else entry for entry in model_admin.list_filter]
    fields = [name for name in names if isinstance(name, str)]
    return fields + ([model_admin.date_hierarchy] if model_admin.date_hierarchy else [])


LISTS = sorted(
    (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", field)
    for model, model_admin in admin.site._registry.items() for field in filtered_fields(model_admin)
)


def test_every_list_with_filters_is_probed():
    assert {"/admin/accounts/user/", "/admin/accounts/session/", "/admin/accounts/auditevent/",
            "/admin/membership/ledgerentry/", "/admin/oauth2_provider/application/"} <= {url for url, _ in LISTS}


@pytest.mark.parametrize(("url", "field"), LISTS)
def test_hostile_lookups_on_a_filtered_field_are_refused_or_answered(operator, admin_user, url, field):
    operator.raise_request_exception = False  # Django answers a refused lookup itself, with its 400
    UserFactory(username="alice")
    AuditEvent.objects.create(action="user.freeze", user=admin_user, created_at=timezone.now())
    for suffix in HOSTILE:  # written as they go in a query string (%ED%A0%80: a lone surrogate's bytes)
        response = operator.get(f"{url}?{field}{suffix}")
        assert response.status_code < 500, (url, field + suffix)
        if suffix in REFUSED:
            assert response.status_code == 400, (url, field + suffix, response.status_code)
    assert operator.get(url).status_code == 200


def unoffered_columns(model_admin) -> list[str]:
    """The columns of a list's own table that it neither displays nor filters on (nor is the key, nor a
    relation): no URL may filter on them."""
    offered = {name.split("__")[0] for name in [*model_admin.list_display, *filtered_fields(model_admin)]
               if isinstance(name, str)}
    offered |= {entry.parameter_name for entry in model_admin.list_filter  # filters that read their own parameter
                if isinstance(entry, type) and issubclass(entry, admin.SimpleListFilter)}
    return [field.name for field in model_admin.model._meta.concrete_fields
            if not (field.primary_key or field.is_relation or field.name in offered)]


@pytest.mark.parametrize(("model", "column"), [
    ("accounts.user", "password"), ("oauth2_provider.application", "client_secret"),
    ("oauth2_provider.accesstoken", "token"), ("oauth2_provider.accesstoken", "token_checksum"),
    ("oauth2_provider.refreshtoken", "token"), ("oauth2_provider.grant", "code"),
    ("accounts.session", "refresh_jti"), ("repos.repository", "secret_hash"),
])
def test_a_list_never_filters_on_a_secret_column(model, column):
    """A support operator read a superuser's whole password hash with `?password__gte=...`, one comparison
    at a time: a column the list does not show is no filter."""
    app_label, model_name = model.split(".")
    model_admin = next(model_admin for registered, model_admin in admin.site._registry.items()
                       if (registered._meta.app_label, registered._meta.model_name) == (app_label, model_name))
    assert column in unoffered_columns(model_admin)


LISTED_COLUMNS = sorted(
    (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", column)
    for model, model_admin in admin.site._registry.items()
    for column in unoffered_columns(model_admin)
)


@pytest.mark.parametrize(("url", "column"), LISTED_COLUMNS)
def test_no_list_filters_on_a_column_it_neither_shows_nor_offers(operator, url, column):
    operator.raise_request_exception = False
    for lookup in ("__startswith=a", "__gte=a", "=a", "__isnull=1"):
        assert operator.get(f"{url}?{column}{lookup}").status_code == 400, (url, column + lookup)


def test_a_support_operator_cannot_read_a_password_hash_off_the_user_list(admin_user):
    support = signed_in_client(staff_user("helper", "support"))
    support.raise_request_exception = False
    listed = support.get(f"/admin/accounts/user/?username={admin_user.username}")
    assert listed.status_code == 200 and f"/admin/accounts/user/{admin_user.pk}/change/" in listed.content.decode()
    for lookup in ("password__startswith=argon2", "password__gte=a", "password__startswith=zzz"):
        assert support.get(f"/admin/accounts/user/?username={admin_user.username}&{lookup}").status_code == 400


@pytest.mark.parametrize("query", [
    "/admin/accounts/user/?sessions__id=1", "/admin/accounts/user/?recovery_codes__code_hash__startswith=a",
    "/admin/oauth2_provider/application/?accesstoken__token__startswith=a",
    "/admin/repos/repository/?commits__content=a",
])
def test_a_filter_through_a_reverse_relation_is_refused_not_a_crash(operator, query):
    operator.raise_request_exception = False
    assert operator.get(query).status_code in (302, 400)  # Django's refusal, or its `?e=1` for a bad value


DATETIME_LISTS = sorted(
    (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", field)
    for model, model_admin in admin.site._registry.items() for field in filtered_fields(model_admin)
    if isinstance(model._meta.get_field(field), models.DateTimeField)
)
# Datetimes Python reads but the database does not take: an offset of 16 hours or more (PostgreSQL), an
# instant before year 1 or after 9999 in UTC (SQLite's adapter converts to UTC first and overflows).
OUT_OF_RANGE_DATETIMES = ["__gte=2026-01-01+00:00:00%2B16:00", "__lt=2026-01-01+00:00:00-20:00",
                          "__gte=0001-01-01+00:00:00%2B05:00", "__lt=9999-12-31+23:59:59-05:00",
                          "=0001-01-01+01:00:00%2B02:00", "__in=2026-01-01+00:00:00%2B23:59"]


@pytest.mark.parametrize(("url", "field"), DATETIME_LISTS)
def test_a_datetime_the_database_cannot_compare_is_refused_not_a_crash(operator, url, field):
    operator.raise_request_exception = False
    for suffix in OUT_OF_RANGE_DATETIMES:
        response = operator.get(f"{url}?{field}{suffix}")
        assert response.status_code == 400, (url, field + suffix, response.status_code)
    assert operator.get(f"{url}?{field}__gte=2026-01-01+00:00:00%2B15:59").status_code == 200
