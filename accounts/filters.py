"""The admin user search (GET /users/, seed 004's /users/search/user): its query parameters as filters."""

import functools
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend

from accounts.models import ADMINISTRATORS, Role, User, UserStatus
from accountsite.numbers import WholeNumberFormField
from accountsite.pagination import with_disjoint_parts

NOT_A_CHOICE = "Not one of the values this filter takes (the schema lists them)."


class WholeNumberFilter(django_filters.NumberFilter):
    """A number filter that reads ASCII digits only (accountsite.numbers), as every number the API reads."""

    field_class = WholeNumberFormField


class UserSearchFilter(django_filters.FilterSet):
    """Substring filters are case-insensitive (trigram-indexed on PostgreSQL); the others are exact.

    Each filter has its label (the schema's description): without one, django-filter words a label from
    the lookup for every request, which was half the cost of reading the filters."""

    loginName = django_filters.CharFilter(field_name="username", lookup_expr="icontains", max_length=64,
                                          label="part of the login name, any case")
    userName = django_filters.CharFilter(field_name="real_name", lookup_expr="icontains", max_length=64,
                                         label="part of the real name, any case")
    nickName = django_filters.CharFilter(field_name="nickname", lookup_expr="icontains", max_length=64,
                                         label="part of the nickname, any case")
    email = django_filters.CharFilter(field_name="email", lookup_expr="icontains", max_length=254,
                                      label="part of the e-mail address, any case")
    # Django's own message for a wrong choice quotes the value; a 400 never echoes the input back.
    status = django_filters.TypedChoiceFilter(choices=UserStatus.choices, coerce=int, label="the account's status",
                                              error_messages={"invalid_choice": NOT_A_CHOICE})
    role = django_filters.ChoiceFilter(choices=Role.choices, method="filter_role",
                                       label="admin: staff or superuser; common: neither",
                                       error_messages={"invalid_choice": NOT_A_CHOICE})
    userType = WholeNumberFilter(method="filter_user_type", min_value=1, max_value=32767,
                                 label="the tier in force (a lapsed paid tier reads as the one after it)")

    class Meta:
        model = User
        fields: list[str] = []

    def filter_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(ADMINISTRATORS if value == Role.ADMIN else ~ADMINISTRATORS)

    def filter_user_type(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        # The tier in force, as replies show it: an expired paid tier counts as the one after it. with_tier ORs
        # two halves, the tier not lapsed and the lapsed one, that no user is in both of.
        return with_disjoint_parts(queryset, User.with_tier(value, timezone.now()))


@functools.cache
def named_only(filterset_class: Any, names: frozenset[str]) -> Any:
    """`filterset_class` with only the filters in `names`, and its form class made once.

    django-filter copies every filter and makes a form class of all their fields for every request; a filter
    the request does not name filters nothing, so a request pays for the ones it names. The form class is
    shared: each form copies its fields when it is made. There are at most 2 ** filters of these classes."""

    class Narrowed(filterset_class):
        form_class = None

        def get_form_class(self) -> Any:
            if Narrowed.form_class is None:
                Narrowed.form_class = super().get_form_class()
            return Narrowed.form_class

    Narrowed.__name__ = Narrowed.__qualname__ = filterset_class.__name__
    Narrowed.base_filters = {name: filter_ for name, filter_ in filterset_class.base_filters.items() if name in names}
    return Narrowed


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, reading only the filters a request names (named_only), and none at all when it
    names none of them: it would build and validate a form to change nothing."""

    def get_filterset(self, request: Any, queryset: QuerySet, view: Any) -> django_filters.FilterSet | None:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        names = frozenset(filterset_class.base_filters.keys() & request.query_params.keys())
        if not names:
            return None  # the backend then returns the queryset as it came
        return named_only(filterset_class, names)(**self.get_filterset_kwargs(request, queryset, view))
