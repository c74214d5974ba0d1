"""The back office as operators use it: a superuser's browser client, and staff with few permissions."""

import pytest
from django.test import Client

from tests.conftest import browser_sign_in


def signed_in_client(user, ip: str = "127.0.0.1") -> Client:
    """A browser client signed in as `user` (a session row behind the cookie), coming from `ip`."""
    client = Client(REMOTE_ADDR=ip)
    browser_sign_in(client, user)
    return client


@pytest.fixture
def operator(admin_user) -> Client:
    """root, a superuser, in the back office from 203.0.113.9."""
    return signed_in_client(admin_user, ip="203.0.113.9")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]
