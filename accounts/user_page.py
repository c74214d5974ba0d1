"""The back office's user page shows the whole account, and its History page what happened to it.

accounts draws the page; the apps above it add their parts, as they register their plans (accounts.plans):
each app's admin module registers panels (`user_panel_register`: membership its tier, wallet and ledger,
quotas the quotas) and describes its own audit actions for people (`audit_describer_register`). A panel
reads a bounded number of rows in a fixed number of queries, so the page costs the same whatever the
account's history, and says None when the operator may not see that part of the account.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from accounts.models import AuditEvent, User, UserStatus


@dataclass(frozen=True)
class UserPanel:
    """A part of the user page: `context(request, user)` is its template's context (None: not shown)."""

    key: str
    title: str
    order: int
    template: str
    context: Callable[[HttpRequest, User], Mapping[str, Any] | None]


USER_PANELS: list[UserPanel] = []


def user_panel_register(panel: UserPanel) -> None:
    USER_PANELS[:] = sorted([*(p for p in USER_PANELS if p.key != panel.key), panel], key=lambda p: p.order)


def user_panels(request: HttpRequest, user: User) -> list[dict[str, Any]]:
    """The panels this operator may see, each with its context."""
    shown = []
    for panel in USER_PANELS:
        context = panel.context(request, user)
        if context is not None:
            shown.append({"key": panel.key, "title": panel.title, "template": panel.template, "context": context})
    return shown


@dataclass(frozen=True)
class AuditChange:
    """An audit row for people: the value before and after (empty when the action has none), and the rest."""

    before: str = ""
    after: str = ""
    details: str = ""


Describer = Callable[[Mapping[str, Any]], AuditChange]
AUDIT_DESCRIBERS: dict[str, Describer] = {}
_AFTER_KEYS = ("status", "role", "user_type")


def audit_describer_register(actions: Iterable[str], describe: Describer) -> None:
    for action in actions:
        AUDIT_DESCRIBERS[action] = describe


def details_text(data: Mapping[str, Any], *, skip: Iterable[str] = ()) -> str:
    """ "reason: admin_freeze; fields: email, nickname" from the row's data, lists joined."""
    skipped = set(skip)
    parts = []
    for key, value in data.items():
        if key in skipped or value in (None, "", [], {}):
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {text}")
    return "; ".join(parts)


def generic_change(data: Mapping[str, Any], label: Callable[[Any], str] = str) -> AuditChange:
    """`previous` -> the first of status / role / user_type, through `label`; the rest as details."""
    after_key = next((key for key in _AFTER_KEYS if key in data), None)
    if "previous" not in data or after_key is None:
        return AuditChange(details=details_text(data))
    return AuditChange(before=label(data["previous"]), after=label(data[after_key]),
                       details=details_text(data, skip=("previous", after_key)))


def _status_label(value: Any) -> str:
    return UserStatus(value).label if value in UserStatus.values else str(value)


def _groups(names: Any) -> str:
    return ", ".join(map(str, names)) if isinstance(names, list) and names else "none"


audit_describer_register(["user.status"], lambda data: generic_change(data, _status_label))
audit_describer_register(["user.groups"], lambda data: AuditChange(before=_groups(data.get("previous")),
                                                                   after=_groups(data.get("groups"))))


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    change: AuditChange


def audit_rows(events: Iterable[AuditEvent]) -> list[AuditRow]:
    """Events with their change described (by the registered describer of their action, else generically)."""
    return [AuditRow(event, AUDIT_DESCRIBERS.get(event.action, generic_change)(event.data or {})) for event in events]
