"""The Django authentication backend: permissions and the user behind a browser session, never a password.

Every password check goes through accounts.services.credentials_verify (the lockouts, the status rules,
the audit row), reached from the API, the admin login and the OAuth sign-in page alike
(accounts.browser). Django's `authenticate()` is therefore not a way in: this backend refuses it, so a
door added later (a login view, a form) cannot check passwords past those rules by accident.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend


class LoginNameBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        return None
