"""Django authentication backend for the admin and the OAuth login page: login name or e-mail."""

from typing import Any

from django.contrib.auth.backends import ModelBackend

from accounts import selectors


class LoginNameBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kw: Any):
        if not username or password is None:
            return None
        user = selectors.user_for_login(username)
        if user is None:
            # Spend one hash anyway so the reply time does not reveal which names exist.
            selectors.burn_password_hash(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
