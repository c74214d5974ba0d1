"""Back office for repositories, with their commits (read-only). Creating, changing and deleting go
through repos.services, so the admin pays and refunds quota exactly like the API."""

import functools
from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.text import Truncator

from accountsite import policy
from accountsite.admin import ServiceAdminMixin, WordedConstraintsMixin, operator, operator_may
from accountsite.policy import Op
from quotas.admin import QuotaAdmin
from quotas.models import Quota
from repos import services
from repos.models import Commit, Pull, Repository

# A repository holds as many commits as its owner's storage pays for (millions of one-byte ones on a free
# tier), so its page shows the latest few, each cut short, and its delete page counts rather than lists.
RECENT_COMMITS = 20
PREVIEW_CHARACTERS = 200


class RecentCommitsFormSet(BaseInlineFormSet):
    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_COMMITS]
        return self._recent


class CommitInline(admin.TabularInline):
    model = Commit
    formset = RecentCommitsFormSet
    verbose_name_plural = f"latest {RECENT_COMMITS} commits"
    fields = readonly_fields = ("created_at", "author", "size", "preview")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("author")

    @admin.display(description="content")
    def preview(self, commit: Commit) -> str:
        return Truncator(commit.content).chars(PREVIEW_CHARACTERS)


@admin.register(Repository)
class RepositoryAdmin(WordedConstraintsMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "owner", "visibility", "created_at"]
    list_filter = ["visibility"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    fields = ["owner", "name", "visibility", "description", "url", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [CommitInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    constraint_words = {
        "repos_repository_owner_name_ci_unique": "This user already has a repository of this name (names are "
                                                 "unique whatever their case).",
        "repos_repository_visibility_valid": "Choose public or private.",
    }

    def get_readonly_fields(self, request: HttpRequest, obj: Repository | None = None) -> list[str]:
        return [*self.readonly_fields, "owner"] if obj else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return operator_may(request, Op.REPO_CREATE)

    def save_model(self, request: HttpRequest, obj: Repository, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in ("name", "visibility", "description", "url")}
        if change:
            self.run_service(request, lambda: services.repository_update(repo=obj, **fields))
        else:
            def create() -> None:
                # Whose repository it is comes with the form: asked of the policy for that account.
                owner = form.cleaned_data["owner"]
                policy.authorize(operator(request), Op.REPO_CREATE, owner)
                obj.pk = services.repository_create(owner=owner, **fields).pk

            self.run_service(request, create)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        # Django's page loads and names every commit and pull that goes with the repositories: counted instead.
        # Neither model has a page of its own here, so deleting them needs no permission beyond this one.
        repositories = list(objs)
        model_count = {
            Repository._meta.verbose_name_plural: len(repositories),
            Commit._meta.verbose_name_plural: Commit.objects.filter(repo__in=repositories).count(),
            Pull._meta.verbose_name_plural: Pull.objects.filter(repo__in=repositories).count(),
        }
        return [f"Repository: {repo}" for repo in repositories], model_count, set(), []

    def delete_model(self, request: HttpRequest, obj: Repository) -> None:
        self.run_service(request, lambda: services.repository_delete(repo=obj))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for repo in queryset:
            self.run_service(request, functools.partial(services.repository_delete, repo=repo), about=repo)


class MeasuredQuotaAdmin(QuotaAdmin):
    """The quota list with a recount: only repos can measure what the counters count, so it adds the action."""

    actions = ["recount"]

    @admin.action(description="Recount the selected users' repository and storage use from the real rows",
                  permissions=["manage"])
    def recount(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Each account through the policy, as a row's own page asks: an administrator's counters are a
        # superuser's to touch.
        rows = self.for_each_allowed(request, Op.QUOTA_MANAGE, queryset.select_related("user"),
                                     account=lambda row: row.user)
        user_ids = {row.user_id for row in rows}
        if not user_ids:
            return
        fixed = services.quota_recount(fix=True, user_ids=user_ids)
        self.message_user(request, f"{len(fixed)} counter(s) repaired.")


admin.site.unregister(Quota)
admin.site.register(Quota, MeasuredQuotaAdmin)
