"""Helpers every back-office page shares: service errors shown as messages, the policy asked for each
action (accountsite.policy), so the admin grants exactly what the API grants, constraint violations in
words, and lists that stay fast on tables of millions of rows."""

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import EmptyPage, Paginator
from django.db import connections, models, router
from django.db.models import F, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms.models import construct_instance
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from accountsite import policy
from accountsite.errors import ServiceError
from accountsite.pagination import COUNT_CAP, ESTIMATE_FROM, PagePagination, bounded_count
from accountsite.policy import ANOTHER_ACCOUNT, Caller, Op

# The parts of a date a list's date hierarchy (or a hand-written URL) may filter on, with the values a
# datetime can hold: past them Python raises OverflowError while the query is built, a 500.
_DATE_PARTS: Mapping[str, tuple[int, int]] = {
    "year": (1, 9999), "iso_year": (1, 9999), "month": (1, 12), "day": (1, 31), "week": (1, 53),
    "week_day": (1, 7), "iso_week_day": (1, 7), "quarter": (1, 4), "hour": (0, 23), "minute": (0, 59),
    "second": (0, 59),
}
# Lookups no filter of ours makes, whose values the database parses as it runs the query: a bad pattern or
# pair is an error there, after Django's own checks of the list's parameters.
_REFUSED_LOOKUPS = frozenset({"regex", "iregex", "range"})
_COMPARISONS = frozenset({"exact", "in", "gt", "gte", "lt", "lte"})
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")  # what int() takes of an `__in` item, in ASCII
# PostgreSQL takes a UTC offset below 16 hours (Python's datetimes go to 24): past it the query fails there.
_OFFSET_LIMIT = timedelta(hours=16)


class BoundedListMixin:
    """What every back-office list allows (AccountsAdminSite.register puts it under each ModelAdmin).

    - No facet counts ("Show counts", `?_facets`): they count each choice of each filter over the whole
      list, and at a million users the tier filter's count ran for minutes.
    - Only lookups on what the list shows or offers. Django lets a URL filter on any column of the list's
      own table: `?password__startswith=argon2` then `?password__gte=...` read a password hash out a
      character at a time. A column is a filter here only if the list displays it or filters on it (or it
      is the key, or a relation to a model the operator may see, whose further steps Django checks against
      the list's filters).
    - Only lookups with values the database takes. Django lets a URL use any lookup on a field the list
      filters on; `?id__regex=(`, `?action__range=1,2` or `?registered_at__year=99999999999999999999` were
      500s. They are refused like any lookup the list does not offer (Django's 400).
    - Only actions on ids the list's key can take (response_action), and only pages of such ids
      (get_object): a 20-digit id of a model keyed by its user overflowed SQLite's integers, a 500.
    - No `?_to_field=` naming a reverse relation: Django's check reads a `primary_key` those do not have,
      a 500 (Django's own 400 for any field it refuses).
    - A raw-id field (a user picked by id on an add form) names the object its id points at only to operators
      who may see that model: Django's widget wrote the login name of any id typed, so an operator who may add
      quotas but not see users read every login name by counting ids."""

    show_facets = admin.ShowFacets.NEVER
    message_user: Callable[..., None]  # the ModelAdmin's

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Django filters the list by the ids an action's form posts without checking them: `abc` or `1e3`
        for an integer key, or a NUL, raised while the action ran, a 500. Such ids are refused with a message
        and no action is run (Django's flow for a refused action: back to the list)."""
        if not self._takes_keys(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            self.message_user(request, "Some of the selected items do not exist: no action was run. Select the "
                                       "items on the list again.", messages.ERROR)
            return None
        return super().response_action(request, queryset)  # type: ignore[misc]  # the ModelAdmin's

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # `?_to_field=` sent empty: Django checks no field for it (empty is false), then looks the object up by
        # the field named "" (a 500). Empty names no field, so the object is looked up by its key.
        from_field = from_field or None
        if from_field is None and not self._takes_keys([object_id]):
            return None  # Django's answer for an id that names nothing
        return super().get_object(request, object_id, from_field)  # type: ignore[misc]  # the ModelAdmin's

    def to_field_allowed(self, request: HttpRequest, to_field: str) -> bool:
        try:
            field = self.model._meta.get_field(to_field)  # type: ignore[attr-defined]  # the ModelAdmin's
        except FieldDoesNotExist:
            return False
        if field.auto_created and not field.concrete:  # a reverse relation
            return False
        return super().to_field_allowed(request, to_field)  # type: ignore[misc]  # the ModelAdmin's

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if isinstance(getattr(formfield, "widget", None), widgets.ForeignKeyRawIdWidget) and not may_view(
                request, db_field.related_model):
            formfield.widget = forms.TextInput(attrs={"class": "vForeignKeyRawIdAdminField"})
        return formfield

    def _takes_keys(self, values: list[str]) -> bool:
        """Whether the list's primary key can take each of `values` (and the database compare it)."""
        key = self.model._meta.pk  # type: ignore[attr-defined]  # the ModelAdmin's
        keys = []
        for value in values:
            if "\x00" in value:  # PostgreSQL refuses NUL in any text it is sent
                return False
            try:
                keys.append(key.to_python(value))
            except (ValidationError, ValueError, TypeError):
                return False
        return self._fits(key.name, [str(value) for value in keys])

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        list_filter = self.get_list_filter(request)  # type: ignore[attr-defined]  # the ModelAdmin's
        own_filters = {entry.parameter_name for entry in list_filter
                       if isinstance(entry, type) and issubclass(entry, admin.SimpleListFilter)}
        if lookup in own_filters:  # a filter of ours that reads its parameter itself, and checks it
            return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]
        if not self._offered(lookup.split(LOOKUP_SEP, 1)[0], [*list_filter, *own_filters], request):
            return False
        last = lookup.rsplit(LOOKUP_SEP, 1)[-1]
        if last in _REFUSED_LOOKUPS:
            return False
        if last in _DATE_PARTS:
            low, high = _DATE_PARTS[last]
            if not (value.isascii() and value.isdigit() and len(value) <= 4 and low <= int(value) <= high):
                return False
        path = lookup.rsplit(LOOKUP_SEP, 1)[0] if last in _COMPARISONS else lookup  # `?tier=5`: `tier__exact`
        if not self._fits(path, value.split(",") if last == "in" else [value]):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]  # ModelAdmin's, after it

    def _offered(self, root: str, list_filter: Iterable[Any], request: HttpRequest) -> bool:
        """Whether the list may be filtered on the column `root`: the key, a column or relation the list
        displays or has a filter (`list_filter` also holds the parameters of our own filters) or date
        hierarchy on, or a relation to a model the operator may see. Not a column at all: Django's to
        refuse."""
        try:
            field = self.model._meta.get_field(root)  # type: ignore[attr-defined]
        except FieldDoesNotExist:
            return True
        filtered = {entry[0] if isinstance(entry, list | tuple) else entry for entry in list_filter}
        offered = {*self.get_list_display(request), self.date_hierarchy,  # type: ignore[attr-defined]
                   *(name for name in filtered if isinstance(name, str))}
        listed = root in {name.split(LOOKUP_SEP, 1)[0] for name in offered if isinstance(name, str)}
        if field.is_relation:  # (a reverse relation has no primary_key: tested first)
            # Filtering on a relation tells who has such rows (`?ledger_entries__isnull=False`) and which
            # (`?groups=1`): one the list does not offer only for an operator who may see that model.
            return listed or may_view(request, field.related_model)
        return listed or field.primary_key

    def _fits(self, path: str, items: list[str]) -> bool:
        """Whether each whole number of `items` fits the integer column at `path` (Django checks that for a
        plain integer field's `exact` and comparisons, not for a relation's, nor for `__in`): past it the
        database driver raises while the list is read. Other values are Django's to refuse."""
        first, _, rest = path.partition(LOOKUP_SEP)
        if first == "pk":  # Django's name for the key, whatever its column: a user, for a wallet
            path = self.model._meta.pk.name + (LOOKUP_SEP + rest if rest else "")  # type: ignore[attr-defined]
        try:
            field = get_fields_from_path(self.model, path)[-1]  # type: ignore[attr-defined]  # the ModelAdmin's
        except (FieldDoesNotExist, NotRelationField):
            return True
        return integers_fit(field, items) and datetimes_fit(field, items)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", KeysInRangeMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


def integers_fit(field: models.Field, items: Iterable[str]) -> bool:
    """Whether each whole number of `items` fits `field`'s integer column (a relation's: its target's). Other
    values, and other columns, are Django's to refuse."""
    target = getattr(field, "target_field", field)  # a relation compares its target's values
    try:
        low, high = connections[router.db_for_read(target.model)].ops.integer_field_range(target.get_internal_type())
    except KeyError:  # not an integer column
        return True
    for item in filter(_INTEGER.fullmatch, items):
        if len(item.strip()) > 20:  # past any column's range (and past what int() reads, at 4,300 digits)
            return False
        if (low is not None and int(item) < low) or (high is not None and int(item) > high):
            return False
    return True


def datetimes_fit(field: models.Field, items: Iterable[str]) -> bool:
    """Whether each datetime of `items` is one the database can compare with `field`'s datetime column: an
    offset PostgreSQL takes (below 16 hours: `+16:00` failed there, a 500), and an instant that stays within
    years 1 to 9999 in UTC (`0001-01-01 00:00+05:00` overflowed while SQLite's query was built, a 500).
    Values that are no datetime, and other columns, are Django's to refuse."""
    target = getattr(field, "target_field", field)
    if not isinstance(target, models.DateTimeField):
        return True
    for item in items:
        try:
            value = target.to_python(item)
        except ValidationError:
            continue
        if value is None:
            continue
        if timezone.is_naive(value):  # as Django reads it: in the current time zone
            value = value.replace(tzinfo=timezone.get_current_timezone())
        offset = value.utcoffset()
        if offset is not None and abs(offset) >= _OFFSET_LIMIT:
            return False
        try:
            value.astimezone(UTC)
        except OverflowError:
            return False
    return True


class KeysInRangeMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A many-to-many field of a back-office form (a user's groups, a group's permissions): an id past the
    key column's integers is an invalid choice. Django checks each id's type, then reads the chosen rows
    with `__in`, which the database driver could not send: a 500."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            opts = cast(QuerySet, self.queryset).model._meta  # the form field's, given by the relation
            key = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
            refused = [item for item in value if not integers_fit(key, [str(item)])]
            if refused:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                      params={"pk": refused[0]})
        return super().clean(value)


def operator(request: HttpRequest) -> Caller:
    """The operator behind a back-office request: a first-hand browser sign-in (accounts.browser)."""
    return Caller(user=request.user)


def operator_may(request: HttpRequest, op: Op, target: Any = ANOTHER_ACCOUNT) -> bool:
    """May the signed-in operator do `op` to `target` (by default: to some ordinary account)? Admin
    actions declare `allowed_permissions` whose `has_<name>_permission` methods ask this."""
    return policy.allows(operator(request), op, target)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows looked at in the back office, never added, edited or deleted there: what the services alone write
    (a ledger, an audit trail, a balance that moves with its ledger row). A change page would save the whole
    row as read at the start of its request, undoing whatever a service committed meanwhile."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceAdminMixin:
    """For ModelAdmins whose saves, deletions and actions call services: a ServiceError becomes an error
    message and the form is shown again, instead of a 500 and a log entry for a change that never happened."""

    _REFUSED = "_service_refused"
    message_user: Callable[..., None]

    def run_service(self, request: HttpRequest, call: Callable[[], Any], *, about: Any = None) -> bool:
        """Runs the service call; a refusal is the operator's error message (naming `about`, the object it was
        for, when one of several was)."""
        try:
            call()
        except ServiceError as exc:
            setattr(request, self._REFUSED, True)
            self.message_user(request, exc.message if about is None else f"{about}: {exc.message}", messages.ERROR)
            return False
        return True

    def for_each_allowed(self, request: HttpRequest, op: Op, targets: Iterable[Any],
                         account: Callable[[Any], Any] = lambda target: target) -> list[Any]:
        """The targets the operator may do `op` to (`account(target)` names whose account it is); each
        refused one is reported by name."""
        allowed = []
        for target in targets:
            refusal = policy.refusal(operator(request), op, account(target))
            if refusal is None:
                allowed.append(target)
            else:
                self.message_user(request, f"{target}: {getattr(refusal, 'message', refusal)}", messages.ERROR)
        return allowed

    def refused(self, request: HttpRequest) -> bool:
        return getattr(request, self._REFUSED, False)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None if self.refused(request) else super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None if self.refused(request) else super().log_change(request, obj, message)  # type: ignore[misc]

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        if self.refused(request):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)  # type: ignore[misc]

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        if self.refused(request):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)  # type: ignore[misc]

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        # A refused deletion (the row went meanwhile, say) back to the list with its error, without "deleted".
        if self.refused(request):
            opts = self.opts  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist",
                                                current_app=self.admin_site.name))  # type: ignore[attr-defined]
        return super().response_delete(request, obj_display, obj_id)  # type: ignore[misc]


def may_view(request: HttpRequest, model: type[models.Model]) -> bool:
    """May the operator see rows of `model` in the back office (its view or change permission)?"""
    opts = model._meta
    return any(request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
               for action in ("view", "change"))


def _field_names(expression: Any) -> list[str]:
    """The fields an expression reads (an F, or the Fs inside a function such as Lower("name"))."""
    nodes = [expression] if isinstance(expression, F) else expression.flatten()
    return [node.name for node in nodes if isinstance(node, F)]  # type: ignore[attr-defined]  # not in the stubs


def constraint_fields(constraint: models.BaseConstraint) -> list[str]:
    """The model fields a constraint concerns, in the order it names them."""
    if isinstance(constraint, models.UniqueConstraint):
        if constraint.fields:
            return list(constraint.fields)
        return [name for expression in constraint.expressions for name in _field_names(expression)]
    if isinstance(constraint, models.CheckConstraint) and isinstance(constraint.condition, Q):
        return sorted(constraint.condition.referenced_base_fields)
    return []


class WordedConstraintsForm(forms.ModelForm):
    """A back-office form whose model constraints, when an edit would break one, give an error on the field
    concerned in words (`constraint_words`: constraint name -> sentence), instead of Django's
    'Constraint "..." is violated.' The instance's own values stand in for fields the form does not edit.
    A field with an error is left out of the model's own check, so each violation is told once.

    A constraint is checked only on values its fields' model validators take (the model's check tells the
    rest): a number past the column's integers, which the form's field takes, made the constraint's query
    fail in the database driver, a 500."""

    constraint_words: Mapping[str, str] = {}

    def _refused_by_model(self, name: str) -> bool:
        try:
            self._meta.model._meta.get_field(name).run_validators(self.cleaned_data.get(name))
        except ValidationError:
            return True
        return False

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        model = self._meta.model
        candidate = construct_instance(self, copy.copy(self.instance), self._meta.fields, self._meta.exclude)
        for constraint in model._meta.constraints:
            words = self.constraint_words.get(constraint.name)
            on_form = [name for name in constraint_fields(constraint) if name in self.fields]
            if words is None or not on_form or any(name in self.errors or self._refused_by_model(name)
                                                     for name in on_form):
                continue
            try:
                constraint.validate(model, candidate, exclude=set(self.errors), using=router.db_for_write(model))
            except ValidationError:
                self.add_error(on_form[-1], words)
        return cleaned


class WordedConstraintsMixin:
    """For ModelAdmins whose model has constraints an edit can break: `constraint_words` names each one's
    message (a test checks that every constraint of every such model has words)."""

    constraint_words: Mapping[str, str] = {}
    form: type[forms.ModelForm] = WordedConstraintsForm

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        form.constraint_words = self.constraint_words  # a class made for this call by modelform_factory
        return form


class EstimatedCountPaginator(Paginator):
    """Pages for lists of millions of rows, where COUNT(*) alone would take longer than the page.

    The whole table (no filter) is counted by PostgreSQL's estimate once it holds `estimate_from` rows; a
    filtered list is counted exactly up to `count_cap` rows, past which it reads "more than" the cap.
    `estimated` and `capped` tell the templates which of the two the count is.

    Such a count is not where the list ends: the rows past the cap (or past an estimate below the truth) are
    there to read. A page past the pages it makes is read as asked (empty past the end), up to `max_page`,
    and the page range links on to the page after the one shown; Django's Paginator refused those pages (the
    list's "?e=1" error page) and cut the last counted page at the count."""

    estimate_from = ESTIMATE_FROM
    count_cap = COUNT_CAP
    max_page = PagePagination.max_page  # an offset every database takes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.estimated = self.capped = False

    @cached_property
    def count(self) -> int:
        count, how = bounded_count(cast(QuerySet, self.object_list), estimate_from=self.estimate_from,
                                   cap=self.count_cap)
        self.estimated, self.capped = how == "estimated", how == "capped"
        return count

    @property
    def exact(self) -> bool:
        return self.count is not None and not (self.estimated or self.capped)  # counting says which it is

    def validate_number(self, number: Any) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.exact or not 1 <= int(number) <= self.max_page:
                raise
            return int(number)

    def page(self, number: Any) -> Any:
        if self.exact:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom:bottom + self.per_page]
        # The pages reach this one, and the next while this one is full (the page range links on to it).
        reached = number + 1 if len(rows) == self.per_page and number < self.max_page else number
        self.__dict__["num_pages"] = max(self.num_pages, reached)  # Paginator.num_pages is a cached_property
        return self._get_page(rows, number, self)  # type: ignore[attr-defined]  # Django's hook, not in the stubs
