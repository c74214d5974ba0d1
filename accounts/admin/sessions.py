"""Signed-in sessions in the back office: the list, revoking, and the user page's panel."""

from collections.abc import Mapping
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin.base import changelist_url
from accounts.models import ADMINISTRATORS, RevokeReason, Session, User
from accounts.selectors import live_sessions_of, signed_in
from accounts.services import sessions
from accounts.user_page import UserPanel, user_panel_register
from accountsite.admin import ReadOnlyAdmin, ServiceAdminMixin, may_view, operator_may
from accountsite.audit import AuditAction
from accountsite.policy import AN_ADMINISTRATOR, Op


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("live", "live"), ("ended", "ended or expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        live = Session.live(timezone.now())
        if self.value() == "live":
            return queryset.filter(live)
        if self.value() == "ended":
            return queryset.exclude(live)
        return queryset


# What the audit trail keeps of signing in: where and how an account signs in, as its sessions show.
SIGN_IN_ACTIONS = frozenset({AuditAction.SESSION_LOGIN, AuditAction.SESSION_LOGOUT, AuditAction.SESSION_REVOKE,
                             AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT, AuditAction.MFA_FAILED,
                             AuditAction.MFA_RECOVERY_USE})


def _hidden_administrators(request: HttpRequest) -> QuerySet | None:
    """The administrators whose sessions the operator may not see (all but themselves, unless the policy
    lets them manage administrators' sessions), or None when they may see everyone's."""
    if operator_may(request, Op.SESSIONS, AN_ADMINISTRATOR):
        return None
    return User.objects.filter(ADMINISTRATORS).exclude(pk=signed_in(request).pk)


def sign_ins_hidden(request: HttpRequest, events: QuerySet) -> QuerySet:
    """Audit rows without the sign-ins of administrators whose sessions the operator may not see: the rows
    hold what the sessions list hides (IP, user agent, terminal, device)."""
    hidden = _hidden_administrators(request)
    return events if hidden is None else events.exclude(user__in=hidden, action__in=SIGN_IN_ACTIONS)


def may_see_sessions_of(request: HttpRequest, user: User) -> bool:
    """An administrator's sessions (where and how they sign in) are shown only to operators the policy lets
    manage them (Op.SESSIONS is protected: superusers, and the administrator themselves), as the API refuses
    listing them; an ordinary account's to whoever may view sessions."""
    return may_view(request, Session) and (not user.is_admin or operator_may(request, Op.SESSIONS, user))


@admin.register(Session)
class SessionAdmin(ServiceAdminMixin, ReadOnlyAdmin):
    list_display = ("user", "terminal", "created_at", "last_seen_at", "ip", "user_agent", "revoked_at",
                    "revoke_reason")
    list_filter = (SessionStateFilter, "revoke_reason", "created_at", "last_seen_at")
    search_fields = ("user__username", "terminal", "ip")
    list_select_related = ("user",)
    # The refresh token id is a credential-in-waiting: not shown.
    exclude = ("refresh_jti",)
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Without the power over administrators' sessions (may_see_sessions_of), theirs are not listed, nor
        # opened one by one; the operator's own are.
        queryset = super().get_queryset(request)
        hidden = _hidden_administrators(request)
        return queryset if hidden is None else queryset.exclude(user__in=hidden)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.SESSIONS)

    @admin.action(description="Revoke the selected sessions", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        allowed = self.for_each_allowed(request, Op.SESSIONS, queryset.select_related("user"),
                                        account=lambda session: session.user)
        ended = sum(sessions.session_revoke(session=session, reason=RevokeReason.ADMIN, actor=signed_in(request))
                    for session in allowed)
        self.message_user(request, f"{ended} session(s) revoked.", messages.SUCCESS)


def sessions_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    if not may_see_sessions_of(request, user):
        return None
    return {"sessions": list(live_sessions_of(user)), "may_revoke": operator_may(request, Op.SESSIONS, user),
            "user_obj": user, "list_url": changelist_url(Session, user__id__exact=user.pk, state="live")}


user_panel_register(UserPanel("sessions", "Signed in", 40, "accounts/admin/panel_sessions.html", sessions_panel))
