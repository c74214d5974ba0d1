"""Second factors: the authenticator app, recovery codes, and passkeys with the account's WebAuthn user
handle."""

from django.db import models
from django.utils import timezone

from accounts.models.users import User, _minute


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
