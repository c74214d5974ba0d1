"""Back office for OAuth applications, tokens and grants: DOT's admin, re-registered with our services
behind deletion and revocation (imported from AccountsConfig.ready, after DOT registered its own).

Applications and tokens are read-only here, and no application is added here: an operator who could make an
app or edit an app's owner, redirect URIs or secret, or a token's user, could take over the users who trust
that app. Developers manage their apps
at /developer/apps/; operators revoke, reset a leaked secret or delete.

The user page shows the apps a user owns and the apps that hold the user's tokens (accounts.user_page).
"""

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider import admin as dot_admin
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken

from accounts.admin.base import RECENT, changelist_url
from accounts.models import User
from accounts.oauth import applications, revocation
from accounts.selectors import signed_in
from accounts.user_page import UserPanel, user_panel_register
from accountsite.admin import ServiceAdminMixin, may_view, operator_may
from accountsite.policy import Op


class UserSearchMixin:
    """A list's search reads its rows' users by login name (which the list shows), and by anything else of
    theirs (DOT searches the e-mail address) only for operators who may see users: a search narrowing the list
    a letter at a time reads the column, as a filter in the address would (accountsite.admin.BoundedListMixin)."""

    def get_search_fields(self, request: HttpRequest) -> Any:
        fields = super().get_search_fields(request)  # type: ignore[misc]  # the ModelAdmin's
        if may_view(request, User):
            return fields
        return tuple(field for field in fields if not field.startswith("user__") or field == "user__username")


class ApplicationAdmin(UserSearchMixin, ServiceAdminMixin, dot_admin.ApplicationAdmin):
    list_display = ("pk", "name", "user", "client_id", "redirect_uris", "authorization_grant_type", "created")
    exclude = ("client_secret",)  # its hash: no page shows a stored secret, hashed or not
    list_select_related = ("user",)
    search_fields = ("name", "client_id", "user__username", "user__email")
    actions = ("revoke_credentials", "reset_secret")
    view_on_site = False  # DOT's Application.get_absolute_url names its own management pages, which we do not serve

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An app is its developer's, made in developer mode: DOT's form would let an operator make one for
        # anyone, public, skipping the consent page, with no audit row.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.APP_MANAGE)

    @admin.action(description="Revoke every token and grant of the selected applications", permissions=["manage"])
    def revoke_credentials(self, request: HttpRequest, queryset: QuerySet) -> None:
        for application in queryset:
            revocation.application_credentials_revoke(application=application, actor=signed_in(request))
        self.message_user(request, f"Revoked the tokens and grants of {queryset.count()} application(s).")

    @admin.action(description="Reset the client secret (nobody sees the new one; the developer rotates it)",
                  permissions=["manage"])
    def reset_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        # For a leaked secret: the old one stops working at once. A client secret is its developer's alone,
        # so the replacement is shown to no one; the developer sets a usable one at /developer/apps/.
        # A public client has no secret: the refusal is reported for that app (run_service), the others reset.
        actor = signed_in(request)
        reset = sum(self.run_service(request, partial(applications.application_secret_rotate, application=application,
                                                      actor=actor), about=application) for application in queryset)
        if reset:
            self.message_user(request, f"Reset the secret of {reset} application(s); their developers rotate a new "
                                       "one at /developer/apps/.", level=messages.WARNING)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        # DOT's token admins forbid deleting tokens one by one (they must be revoked as a family); deleting
        # the whole application through `application_delete` takes every token with it, so staff who may
        # delete applications need no separate token permission.
        deleted, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, set(), protected

    def delete_model(self, request: HttpRequest, obj: Application) -> None:
        applications.application_delete(application=obj, actor=signed_in(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for application in queryset:
            applications.application_delete(application=application, actor=signed_in(request))


def credentials_revoked(admin_: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """The back office's revocation of app tokens or codes: the service, its audit rows, a message."""
    count = revocation.credentials_revoke_by_operator(credentials=queryset, actor=signed_in(request))
    admin_.message_user(request, f"Revoked {count} {revocation.CREDENTIAL_KINDS[queryset.model]}(s).")


class GrantAdmin(UserSearchMixin, dot_admin.GrantAdmin):
    """Pending codes are revoked (the action or a code's delete page), through the service and its audit row."""

    actions = ("revoke_grants",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # revoke_grants is the same, audited
        return actions

    @admin.action(description="Revoke the selected authorization codes", permissions=["delete"])
    def revoke_grants(self, request: HttpRequest, queryset: QuerySet) -> None:
        credentials_revoked(self, request, queryset)

    def delete_model(self, request: HttpRequest, obj: Grant) -> None:
        revocation.credentials_revoke_by_operator(credentials=Grant.objects.filter(pk=obj.pk),
                                                  actor=signed_in(request))


class ReadOnlyTokenAdmin(UserSearchMixin, admin.ModelAdmin):
    """Tokens are looked at and revoked here, never edited; revoking is the app managers' power. A token's
    page leaves the token out: DOT stores it as issued, and whoever reads it could use it (the lists show
    it masked)."""

    exclude = ("token", "token_checksum")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.APP_MANAGE)


class AccessTokenAdmin(ReadOnlyTokenAdmin, dot_admin.AccessTokenAdmin):
    @admin.action(description="Revoke selected access tokens", permissions=["manage"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        credentials_revoked(self, request, queryset)


class RefreshTokenAdmin(ReadOnlyTokenAdmin, dot_admin.RefreshTokenAdmin):
    @admin.action(description="Revoke selected refresh tokens", permissions=["manage"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        credentials_revoked(self, request, queryset)


class IDTokenAdmin(ReadOnlyTokenAdmin, dot_admin.IDTokenAdmin):
    pass


def register(site: Any = admin.site) -> None:
    for model, model_admin in ((Application, ApplicationAdmin), (Grant, GrantAdmin), (AccessToken, AccessTokenAdmin),
                               (RefreshToken, RefreshTokenAdmin), (IDToken, IDTokenAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)


def apps_panel(request: HttpRequest, user: User) -> Mapping[str, Any] | None:
    """The apps `user` develops, and the apps holding a live token of theirs (access or refresh), in three
    queries whatever the number of tokens."""
    if not may_view(request, Application):
        return None
    owned = list(Application.objects.filter(user=user).order_by("-created")[:RECENT])
    holders: dict[int, dict[str, Any]] = {}
    token_sets = ((AccessToken.objects.filter(user=user, expires__gt=timezone.now()), "access"),
                  (RefreshToken.objects.filter(user=user, revoked__isnull=True), "refresh"))
    for tokens, kind in token_sets:
        rows = (tokens.values("application_id", "application__name", "application__user__username")
                .annotate(n=Count("id"), last=Max("created")).order_by("-last")[:RECENT])
        for row in rows:
            holder = holders.setdefault(row["application_id"], {
                "pk": row["application_id"], "name": row["application__name"],
                "owner": row["application__user__username"], "access": 0, "refresh": 0, "last": row["last"]})
            holder[kind] = row["n"]
            holder["last"] = max(holder["last"], row["last"])
    return {"owned": owned, "holders": sorted(holders.values(), key=lambda h: h["last"], reverse=True),
            "owned_url": changelist_url(Application, user__id__exact=user.pk),
            "tokens_url": (changelist_url(AccessToken, user__id__exact=user.pk)
                           if may_view(request, AccessToken) else None)}


user_panel_register(UserPanel("apps", "OAuth apps", 50, "accounts/admin/panel_apps.html", apps_panel))
