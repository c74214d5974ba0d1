"""Helpers every back-office page shares: service errors shown as messages, and the policy asked for
each action (accountsite.policy), so the admin grants exactly what the API grants."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accountsite import policy
from accountsite.errors import ServiceError
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
