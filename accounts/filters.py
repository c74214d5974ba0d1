"""The admin user search (GET /users/, seed 004's /users/search/user): its query parameters as filters."""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend

from accounts.models import User, UserStatus

NOT_A_CHOICE = "Not one of the values this filter takes (the schema lists them)."


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
    role = django_filters.ChoiceFilter(choices=[("common", "common"), ("admin", "admin")], method="filter_role",
                                       label="admin: staff or superuser; common: neither",
                                       error_messages={"invalid_choice": NOT_A_CHOICE})
    userType = django_filters.NumberFilter(method="filter_user_type", min_value=1,
                                           label="the tier in force (a lapsed paid tier reads as the one after it)")

    class Meta:
        model = User
        fields: list[str] = []

    def filter_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        admin = Q(is_staff=True) | Q(is_superuser=True)
        return queryset.filter(admin if value == "admin" else ~admin)

    def filter_user_type(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        # The tier in force, as replies show it: an expired paid tier counts as the one after it.
        return queryset.filter(User.with_tier(value, timezone.now()))


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, left out when the request names none of the view's filters: it would copy
    every filter and build and validate a form to change nothing (about a millisecond of an unfiltered page)."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and filterset_class.base_filters.keys().isdisjoint(request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)
