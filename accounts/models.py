"""Accounts data: the user, their sessions, the audit trail and what outlives an OAuth authorization code."""

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.plans import plans
from accountsite.audit import AuditAction
from accountsite.text import MULTILINE, ONE_LINE

LOGIN_NAME_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9@.+\-_]{3,64}\Z",
    "A login name has 3-64 characters: letters, digits and @ . + - _",
)
# Addresses in ASCII: Django's e-mail check takes a fullwidth or soft-hyphened domain (IDNA maps them to plain
# letters) and, matching without regard to case, a long s (U+017F) or a Kelvin sign (U+212A) in the local part,
# which the database's case folding equates with `s` and `k`. So bob@ with a fullwidth EXAMPLE.com gave the owner
# of bob@example.com a second account, and U+017F + am@ex.com took sam@ex.com. International domains: xn--.
EMAIL_ASCII_VALIDATOR = RegexValidator(
    r"^[!-~]+\Z", "An e-mail address is written in ASCII (an international domain in its xn-- form).",
)
GITHUB_LOGIN_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\Z",
    "A GitHub login has up to 39 letters, digits or single inner hyphens (without @).",
)


def _minute(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class UserStatus(models.IntegerChoices):
    # The numbers are the original service's (seed 004); 4 and 6 were never used.
    INACTIVE = 1, "inactive"
    ACTIVE = 2, "active"
    INVALID = 3, "invalid"
    FROZEN = 5, "frozen"
    DELETED = 7, "deleted"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        # Login names are unique case-insensitively, so lookups are too (the admin login uses this).
        return self.get(username__iexact=username)

    def name_claimed(self, name: str, *, by_other_than: "User | None" = None) -> bool:
        """Is `name` someone's address, or someone's login name? Sign-in takes either, so the two fields are
        one namespace, case-insensitively."""
        users = self.filter(Q(email__iexact=name) | Q(username__iexact=name))
        if by_other_than is not None:
            users = users.exclude(pk=by_other_than.pk)
        return users.exists()

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> "User":
        """For Django's createsuperuser and fixtures; the API creates users with services.users.user_create.
        Either way the account's plan is opened in the same transaction (accounts.plans), and neither name
        may be someone else's (createsuperuser shows the ValidationError as its error)."""
        for name in (username, fields.get("email")):
            if name and self.name_claimed(name):
                raise ValidationError(f"{name} is already someone's login name or e-mail address.")
        user = self.model(username=username, **fields)
        user.set_password(password)
        with transaction.atomic(using=self._db):
            user.save(using=self._db)
            plans().account_open(user=user, now=timezone.now())
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True, status=UserStatus.ACTIVE)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    username = models.CharField("login name", max_length=64, unique=True, validators=[LOGIN_NAME_VALIDATOR])
    email = models.EmailField(max_length=254, null=True, blank=True, validators=[EMAIL_ASCII_VALIDATOR])
    email_verified = models.BooleanField(default=False)
    nickname = models.CharField(max_length=64, blank=True, default="", validators=[ONE_LINE])
    real_name = models.CharField(max_length=64, blank=True, default="", validators=[ONE_LINE])
    intro = models.CharField("intro / comment", max_length=512, blank=True, default="", validators=[MULTILINE])
    github = models.CharField(max_length=39, blank=True, default="", validators=[GITHUB_LOGIN_VALIDATOR])
    school = models.CharField(max_length=64, blank=True, default="", validators=[ONE_LINE])
    website = models.URLField(max_length=200, blank=True, default="")
    status = models.PositiveSmallIntegerField(choices=UserStatus.choices, default=UserStatus.ACTIVE)
    is_staff = models.BooleanField("admin role", default=False)
    is_developer = models.BooleanField(default=False)
    registered_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Tokens issued before this instant are refused: a password change ends every older credential.
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # The tier in force (`userType`), as membership records it (accounts.plans): `user_type` until
    # `invalid_at`, then `user_type_after`. Kept on the account so that every user reply is read from
    # one row, and so an expired tier reads as the base tier at once, before the nightly job runs.
    user_type = models.PositiveSmallIntegerField("userType", default=1, db_default=1)
    invalid_at = models.DateTimeField("tier expires at", null=True, blank=True)
    user_type_after = models.PositiveSmallIntegerField("userType after expiry", default=1, db_default=1)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["id"]
        # Operator powers beyond Django's add/change/delete/view (accountsite.policy names them).
        permissions = [
            ("change_user_status", "Can freeze, activate, invalidate, restore or delete users"),
            ("set_user_password", "Can set another user's password"),
            ("reset_user_mfa", "Can turn off another user's second factors"),
        ]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(
                Lower("email"), condition=models.Q(email__isnull=False), name="accounts_user_email_ci_unique"
            ),
            models.CheckConstraint(condition=models.Q(status__in=UserStatus.values), name="accounts_user_status_valid"),
            models.CheckConstraint(condition=~models.Q(email=""), name="accounts_user_email_null_not_blank"),
        ]
        # The back office's user list (ordered by id) filtered by role, developer mode or tier, and the
        # dashboard's users per tier (an index-only scan), stay fast on millions of rows.
        indexes = [
            models.Index(fields=["id"], condition=models.Q(is_staff=True), name="accounts_user_staff_id"),
            # The API search's role=admin (staff or superuser): one OR, which the staff index cannot serve.
            models.Index(fields=["id"], condition=models.Q(is_staff=True) | models.Q(is_superuser=True),
                         name="accounts_user_admin_id"),
            models.Index(fields=["id"], condition=models.Q(is_developer=True), name="accounts_user_developer_id"),
            # A userType filter is with_tier's two halves, each read from its own index alone. The tier not
            # lapsed, in id order: a page of it is the first ids of one tier, however rare or common (and
            # the dashboard's users per tier reads every column it needs from this index).
            models.Index(fields=["user_type", "id"], include=["invalid_at", "user_type_after"],
                         name="accounts_user_tier_id"),
            # The lapsed tiers (user_type_after, invalid_at <= now), ids included: few rows, sorted by id.
            models.Index(fields=["user_type_after", "invalid_at"], include=["id"], name="accounts_user_lapsed_id"),
            # A status in id order: a page deep in the frozen users skips their ids in this index alone.
            models.Index(fields=["status", "id"], name="accounts_user_status_id"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        # Django's auth (admin login, password reset forms) reads is_active; only status 2 may sign in.
        return self.status == UserStatus.ACTIVE

    @property
    def role(self) -> str:
        return "admin" if (self.is_staff or self.is_superuser) else "common"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_deleted(self) -> bool:
        return self.status == UserStatus.DELETED

    @staticmethod
    def with_tier(user_type: int, now: datetime) -> models.Q:
        """A filter: the users whose tier in force at `now` is `user_type` (see tier_at)."""
        lapsed = models.Q(invalid_at__lte=now)
        return (models.Q(user_type=user_type) & ~lapsed) | (models.Q(user_type_after=user_type) & lapsed)

    def tier_at(self, now: datetime) -> tuple[int, datetime | None]:
        """(`userType`, `invalid_at`) in force at `now`: an expired tier reads as the one that follows it,
        with no expiry."""
        if self.invalid_at is not None and self.invalid_at <= now:
            return self.user_type_after, None
        return self.user_type, self.invalid_at


class RevokeReason(models.TextChoices):
    """Why a session ended."""

    REPLACED = "replaced", "signed in again on this terminal"
    LOGOUT = "logout", "signed out"
    LOGOUT_ALL = "logout_all", "signed out everywhere"
    REVOKED_BY_USER = "revoked_by_user", "ended by the user from another session"
    REFRESH_REUSE = "refresh_reuse", "an old refresh token was replayed"
    ADMIN = "admin", "ended by an operator"
    PASSWORD_CHANGE = "change", "password changed"
    PASSWORD_RESET = "reset", "password reset"
    PASSWORD_SET = "admin_set", "password set by an operator"
    INACTIVE = "status_1", "account inactive"
    INVALID = "status_3", "account invalidated"
    FROZEN = "status_5", "account frozen"
    DELETED = "status_7", "account deleted"
    PURGED = "purged", "account purged"

    @classmethod
    def leaving_active(cls, status: int) -> "RevokeReason":
        """The reason sessions end when an account moves to `status`."""
        return cls(f"status_{int(status)}")


class Session(models.Model):
    """One signed-in terminal. Its id is in every token issued for it; revoking it ends them all."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    terminal = models.CharField(max_length=64, default="default")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True, default="")
    # The jti of the only refresh token that may be used next; an older one is a replay.
    refresh_jti = models.CharField(max_length=64, db_index=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True, default="", choices=RevokeReason.choices)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("revoke_session", "Can revoke other users' sessions")]
        constraints = [
            # One live session per terminal: logging in again on a terminal replaces its session.
            models.UniqueConstraint(
                fields=["user", "terminal"], condition=models.Q(revoked_at__isnull=True),
                name="accounts_session_one_live_per_terminal",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="accounts_session_user_live"),
            # The dashboard's live sessions, among all the ended ones kept.
            models.Index(fields=["expires_at"], condition=models.Q(revoked_at__isnull=True),
                         name="accounts_session_live_expiry"),
        ]

    def __str__(self) -> str:
        """ "alice on phone (live)", "alice on phone (ended: account frozen)"."""
        if self.revoked_at is not None:
            state = f"ended: {self.get_revoke_reason_display() or 'revoked'}"
        else:
            state = "live" if self.is_live else "expired"
        return f"{self.user} on {self.terminal} ({state})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AuditEvent(models.Model):
    """Append-only record of account changes, written in the same transaction as the change."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    action = models.CharField(max_length=48, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A user's latest events (the user page, History), and one action over time (the dashboard).
            models.Index(fields=["user", "-created_at", "-id"], name="accounts_audit_user_recent"),
            models.Index(fields=["action", "created_at"], name="accounts_audit_action_time"),
        ]

    def __str__(self) -> str:
        """ "2026-11-29 17:04 · alice · status changed"."""
        return f"{_minute(self.created_at)} · {self.user or 'no account'} · {self.action_label}"

    @property
    def action_label(self) -> str:
        return AuditAction(self.action).label if self.action in AuditAction.values else self.action


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
    new_email = models.EmailField(max_length=254, null=True, blank=True, validators=[EMAIL_ASCII_VALIDATOR])
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
    too) and the refresh-token family its redemption started, which a replay of the code revokes
    (RFC 6749 section 4.1.2). `replayed_at` is when it was first presented again: a replay that comes
    while the first use is still making its tokens finds no family yet, and this is how the first use
    learns that it must revoke them itself (accounts.oauth.codes)."""

    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE,
                                    related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "application", "created_at"], name="accounts_oauthcode_user_app")]

    def __str__(self) -> str:
        return f"{self.user} · OAuth code ({'redeemed' if self.redeemed_at else 'open'})"


class MfaMethod(models.TextChoices):
    """The second factors an account may sign in with."""

    TOTP = "totp", "authenticator app"
    WEBAUTHN = "webauthn", "passkey"
    RECOVERY_CODE = "recovery_code", "recovery code"


class TotpDevice(models.Model):
    """A user's authenticator app (RFC 6238). The shared secret is encrypted with the first of MFA_KEYS
    (accounts.services.mfa), so a database leak alone reveals no secret. It signs nothing in until
    confirmed with a first code."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The time step of the last code accepted: a code is good once, and never for an earlier step.
    last_step = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        state = f"on since {_minute(self.confirmed_at)}" if self.confirmed_at else "enrolment not confirmed"
        return f"{self.user} · authenticator app ({state})"


class RecoveryCode(models.Model):
    """A single-use recovery code: only its keyed hash (HMAC-SHA256 with the first of MFA_KEYS) is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    # Which key made the hash (accounts.services.mfa.key_id): a hash cannot be made again under a new key
    # without the code, so this tells how many unused codes still need an older key. Empty for a code the
    # release before migration 0013 issued between that migration and its own restart.
    key_id = models.CharField(max_length=16, db_default="")
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="accounts_recovery_code_unique")]

    def __str__(self) -> str:
        return f"{self.user} · recovery code ({f'used {_minute(self.used_at)}' if self.used_at else 'unused'})"


class WebAuthnHandle(models.Model):
    """The account's WebAuthn user handle (the spec's user.id), given with every registration and kept by
    the authenticator with each passkey. It is stored, not derived from a key, so it outlives a rotation of
    MFA_KEYS; see accounts.services.passkeys.user_handle."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="webauthn_handle")
    handle = models.BinaryField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.user} · WebAuthn user handle"


class Passkey(models.Model):
    """A WebAuthn credential (passkey or security key): its public key only, never a secret."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    # base64url of the credential id (at most 1023 bytes by WebAuthn level 3), how assertions name it.
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} · passkey {self.name!r}"
