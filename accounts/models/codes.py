"""Single-use codes, kept by their SHA-256: the ones e-mailed to users (activation, password reset, a new
address) and what outlives an OAuth authorization code."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models.users import EMAIL_VALIDATORS, User, _minute


class SecretPurpose(models.TextChoices):
    ACTIVATION = "activation", "account activation"
    PASSWORD_RESET = "password_reset", "password reset"
    EMAIL_CHANGE = "email_change", "e-mail change"


class AccountSecret(models.Model):
    """A single-use secret e-mailed to a user (`sid`): only its SHA-256 is stored, so a database leak
    reveals no usable code. 256 random bits make a salted slow hash unnecessary."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="secrets")
    purpose = models.CharField(max_length=16, choices=SecretPurpose.choices)
    secret_hash = models.CharField(max_length=64, unique=True)
    new_email = models.EmailField(max_length=254, null=True, blank=True, validators=EMAIL_VALIDATORS)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "purpose", "used_at"], name="accounts_secret_user_open")]

    def __str__(self) -> str:
        """ "alice · password reset code (used 2026-11-29 17:04)", "... (open until ...)", "... (expired)"."""
        if self.used_at is not None:
            state = f"used {_minute(self.used_at)}"
        elif self.expires_at > timezone.now():
            state = f"open until {_minute(self.expires_at)}"
        else:
            state = "expired"
        return f"{self.user} · {self.get_purpose_display()} code ({state})"


class OAuthCode(models.Model):
    """An authorization code of /oauth/authorize/, kept by its SHA-256 after django-oauth-toolkit deletes
    the grant on redemption: when the user signed in for it (the ID token's `auth_time`, on refreshes
    too), the scope the user granted with it (which every refresh in its family may ask for, in whole or
    in part: RFC 6749 section 6) and the refresh-token family its redemption started, which a replay of
    the code revokes (RFC 6749 section 4.1.2). `replayed_at` is when it was first presented again: a replay that comes
    while the first use is still making its tokens finds no family yet, and this is how the first use
    learns that it must revoke them itself (accounts.oauth.codes)."""

    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE,
                                    related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    auth_time = models.DateTimeField()
    # Null for a code noted before its scope was, when the migration that added it found no live token.
    scope = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "application", "created_at"], name="accounts_oauthcode_user_app")]

    def __str__(self) -> str:
        return f"{self.user} · OAuth code ({'redeemed' if self.redeemed_at else 'open'})"
