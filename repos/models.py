"""Repository data (seed 000): repositories, their commits, and the pulls that spend daily quota."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accountsite.text import MULTILINE, WEB_ADDRESS
from quotas.units import size_label

REPOSITORY_NAME_VALIDATOR = RegexValidator(
    r"^(?!\.{1,2}\Z)[A-Za-z0-9._-]{1,100}\Z",
    "A repository name has 1-100 characters: letters, digits and . _ - (not . or ..).",
)


class Visibility(models.TextChoices):
    PUBLIC = "public", "public"
    PRIVATE = "private", "private"


class Repository(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repositories")
    name = models.CharField(max_length=100, validators=[REPOSITORY_NAME_VALIDATOR])
    visibility = models.CharField(max_length=7, choices=Visibility.choices, default=Visibility.PUBLIC)
    description = models.CharField(max_length=512, blank=True, default="", validators=[MULTILINE])
    url = models.URLField(max_length=200, blank=True, default="", validators=[WEB_ADDRESS])
    # Presenting the secret lets another signed-in user pull a private repository; only its hash is kept.
    secret_hash = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "repositories"
        constraints = [
            # Names are unique per owner case-insensitively, like login names.
            models.UniqueConstraint("owner", Lower("name"), name="repos_repository_owner_name_ci_unique"),
            models.CheckConstraint(condition=models.Q(visibility__in=Visibility.values),
                                   name="repos_repository_visibility_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.path} ({self.get_visibility_display()})"

    @property
    def path(self) -> str:
        """ "alice/hello": the owner's login name and the repository's name."""
        return f"{self.owner}/{self.name}"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_hash)


class Commit(models.Model):
    repo = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commits")
    # Kept when the author's account is purged: the storage belongs to the repository's owner.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="commits")
    content = models.TextField()
    size = models.BigIntegerField(help_text="bytes of storage this commit uses")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(size__gte=0), name="repos_commit_size_not_negative")]

    def __str__(self) -> str:
        return f"{self.repo.path} · commit #{self.pk} ({size_label(self.size)})"


class Pull(models.Model):
    repo = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="pulls")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pulls")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} pulled {self.repo.path} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"
