"""Helpers every back-office page shares: service errors shown as messages, the policy asked for each
action (accountsite.policy), so the admin grants exactly what the API grants, constraint violations in
words, and lists that stay fast on tables of millions of rows."""

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models, router
from django.db.models import F, Q, QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.functional import cached_property

from accountsite import policy
from accountsite.errors import ServiceError
from accountsite.pagination import COUNT_CAP, ESTIMATE_FROM, bounded_count
from accountsite.policy import ANOTHER_ACCOUNT, Caller, Op


def operator(request: HttpRequest) -> Caller:
    """The operator behind a back-office request: a first-hand browser sign-in (accounts.browser)."""
    return Caller(user=request.user)


def operator_may(request: HttpRequest, op: Op, target: Any = ANOTHER_ACCOUNT) -> bool:
    """May the signed-in operator do `op` to `target` (by default: to some ordinary account)? Admin
    actions declare `allowed_permissions` whose `has_<name>_permission` methods ask this."""
    return policy.allows(operator(request), op, target)


class ServiceAdminMixin:
    """For ModelAdmins whose saves and actions call services: a ServiceError becomes an error message
    and the form is shown again, instead of a 500 and a log entry for a change that never happened."""

    _REFUSED = "_service_refused"
    message_user: Callable[..., None]

    def run_service(self, request: HttpRequest, call: Callable[[], Any]) -> bool:
        try:
            call()
        except ServiceError as exc:
            setattr(request, self._REFUSED, True)
            self.message_user(request, exc.message, messages.ERROR)
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
    A field with an error is left out of the model's own check, so each violation is told once."""

    constraint_words: Mapping[str, str] = {}

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        model = self._meta.model
        candidate = construct_instance(self, copy.copy(self.instance), self._meta.fields, self._meta.exclude)
        for constraint in model._meta.constraints:
            words = self.constraint_words.get(constraint.name)
            on_form = [name for name in constraint_fields(constraint) if name in self.fields]
            if words is None or not on_form or any(name in self.errors for name in on_form):
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
    `estimated` and `capped` tell the templates which of the two the count is."""

    estimate_from = ESTIMATE_FROM
    count_cap = COUNT_CAP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.estimated = self.capped = False

    @cached_property
    def count(self) -> int:
        count, how = bounded_count(cast(QuerySet, self.object_list), estimate_from=self.estimate_from,
                                   cap=self.count_cap)
        self.estimated, self.capped = how == "estimated", how == "capped"
        return count
