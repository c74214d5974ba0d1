"""The policy in DRF's terms: every view names the operation of each action, and the policy decides."""

from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import BasePermission

from accountsite import policy
from accountsite.errors import PermissionDeniedError
from accountsite.policy import Caller, Op


def _operation(request: Any, view: Any) -> Op | None:
    method = request.method.lower()
    if getattr(view, method, None) is None:  # no handler: the view answers 405 next, touching nothing
        return Op.PUBLIC_READ
    if method == "options":  # describes the endpoint (accountsite.metadata.EndpointMetadata), touches no data
        return Op.PUBLIC_READ
    # A viewset maps HEAD to its GET action; a plain view's HEAD is its GET without the body.
    action = getattr(view, "action", None) or ("get" if method == "head" else method)
    operations: Mapping[str, Op] = getattr(view, "operations", {})
    return operations.get(action)


class OperationPermission(BasePermission):
    """The default permission of every API view: the caller must be allowed the action's operation on
    someone (their own account, or another one). Views whose target is an account ask again once they
    have loaded it (PolicyMixin.authorize). An action that names no operation is refused: the table
    fails closed."""

    def has_permission(self, request: Any, view: Any) -> bool:
        op = _operation(request, view)
        if op is None:
            raise PermissionDeniedError()
        error = policy.could(Caller.of(request), op)
        if error is not None:
            raise error
        return True


class PolicyMixin:
    """For views: `operations` maps each action (or HTTP method) to its operation; `authorize` and
    `allows` ask the policy about a target account once the view has loaded it."""

    operations: Mapping[str, Op] = {}
    request: Any

    def caller(self) -> Caller:
        return Caller.of(self.request)

    def authorize(self, op: Op, target: Any = None) -> None:
        policy.authorize(self.caller(), op, target)

    def allows(self, op: Op, target: Any = None) -> bool:
        return policy.allows(self.caller(), op, target)
