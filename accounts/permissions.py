"""Which operations a write to a user record asks the policy for (accountsite.policy), by its fields."""

import functools
from collections.abc import Mapping
from typing import Any

from accounts.models import User
from accounts.serializers import UserAdminUpdateInputSerializer, UserSerializer
from accountsite import policy
from accountsite.errors import PermissionDeniedError
from accountsite.policy import Caller, Op
from accountsite.requests import input_names, spellings_used, unknown_fields

# The fields only an operator may set, and the operation each needs.
UPDATE_FIELDS: Mapping[str, Op] = {
    "status": Op.STATUS_SET, "role": Op.ROLE_SET, "userType": Op.TIER_SET, "invalid_at": Op.TIER_SET,
    "password": Op.PASSWORD_SET,
}
CREATE_FIELDS: Mapping[str, Op] = {"status": Op.STATUS_SET, "role": Op.ROLE_SET, "userType": Op.TIER_SET}


@functools.cache
def _record_names() -> frozenset[str]:
    """Every name a field of a user record goes by: the model's fields, the full record's, and every spelling
    an operator's edit accepts."""
    model_fields = {name for field in User._meta.concrete_fields for name in (field.name, field.attname)}
    login_name = {"loginName"}  # seed 004's spelling (its search filter), which nobody sets here either
    return frozenset(model_fields | set(UserSerializer().fields) | input_names(UserAdminUpdateInputSerializer)[1]
                     | login_name)


def assert_fields_allowed(data: Any, serializer_class: type) -> None:
    """Refuses a request that tries to set a field of the user record that the caller may not set here
    (7006, naming the fields). A name that is no field of a user record at all is a mistake, which
    valid_input refuses with the fields this endpoint takes (1007)."""
    extra = [name for name in unknown_fields(data, serializer_class) if name in _record_names()]
    if extra:
        raise PermissionDeniedError(f"You may not change: {', '.join(extra)}.", error={"fields": extra})


def authorize_fields(caller: Caller, data: Any, serializer_class: type | None, *, target: Any,
                     fields: Mapping[str, Op] = UPDATE_FIELDS, profile: bool = True) -> None:
    """Asks the policy for each operation a write to a user record needs: one per operator-only field it
    names, and the profile update for the rest (or for an empty body, so a stranger's empty write is
    refused too). A refusal names the fields the caller may not set, as the body spelt them."""
    names = spellings_used(data, serializer_class)
    needed: dict[Op, list[str]] = {}
    for name in sorted(names):
        if name in fields:
            needed.setdefault(fields[name], []).append(names[name])
        elif profile:
            needed.setdefault(Op.PROFILE_UPDATE, []).append(names[name])
    if profile and not names:
        needed[Op.PROFILE_UPDATE] = []
    for op, op_fields in needed.items():
        error = policy.refusal(caller, op, target)
        if isinstance(error, PermissionDeniedError) and op_fields and op != Op.PROFILE_UPDATE:
            raise PermissionDeniedError(f"You may not change: {', '.join(op_fields)}.", error={"fields": op_fields})
        if error is not None:
            raise error
