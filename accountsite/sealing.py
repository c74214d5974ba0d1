"""Values kept at rest encrypted with MFA_KEYS (Fernet keys, newest first: the first encrypts, any of them
decrypts, so a value sealed under an older key reads until it is rotated or gone): second factors' secrets
(accounts.services.mfa) and the e-mails waiting in the outbox, whose codes and links open accounts."""

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def keyring() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.MFA_KEYS])


def seal(text: str) -> str:
    return keyring().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    """The sealed text; cryptography.fernet.InvalidToken when no key opens it."""
    return keyring().decrypt(token.encode()).decode()
