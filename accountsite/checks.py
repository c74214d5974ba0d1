"""Deploy checks (`manage.py check --deploy`) of settings production must not keep at their development
defaults: mail printed to the console, account mails linking to this machine, and the second factors' key
derived from SECRET_KEY."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

CONSOLE_BACKENDS = ("django.core.mail.backends.console.EmailBackend", "django.core.mail.backends.locmem.EmailBackend",
                    "django.core.mail.backends.dummy.EmailBackend")
LINK_SETTINGS = ("ACCOUNTS_ACTIVATION_URL", "ACCOUNTS_RESET_URL", "ACCOUNTS_EMAIL_CHANGE_URL", "ACCOUNTS_SESSIONS_URL")


@register(Tags.security, deploy=True)
def mail_for_production(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if not settings.PRODUCTION:
        return []
    found = []
    if settings.EMAIL_BACKEND in CONSOLE_BACKENDS:
        found.append(Warning("Mail goes to the console, codes and links included: EMAIL_URL is not set.",
                             hint="Set EMAIL_URL to your SMTP server (smtp+tls://user:password@host:587).",
                             id="accountsite.W001"))
    for name in LINK_SETTINGS:
        link = urlsplit(getattr(settings, name))
        if link.scheme != "https" or link.hostname in (None, "localhost", "127.0.0.1", "::1"):
            found.append(Warning(f"{name} is not an https link to your front end: account mails would link to "
                                 f"{link.scheme}://{link.hostname}.", hint="Set it (see the README's table).",
                                 id="accountsite.W002"))
    return found


@register(Tags.security, deploy=True)
def mfa_key_for_production(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if not (settings.PRODUCTION and settings.MFA_KEYS_DERIVED):
        return []
    return [Warning("MFA_ENCRYPTION_KEYS is not set: the second factors' key is derived from SECRET_KEY, so a new "
                    "SECRET_KEY makes every enrolled authenticator app, recovery code and mail waiting in the "
                    "outbox unreadable.",
                    hint="Set MFA_ENCRYPTION_KEYS to a Fernet key (docs/operations.md, Installing).",
                    id="accountsite.W003")]
