"""Fixtures for the /users tests: callers in every account state, a database snapshot, and a real SMTP
server on loopback that keeps what it receives."""

import email
import re
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from rest_framework.test import APIClient

from accounts.models import AccountSecret, Session, User, UserStatus
from accounts.services import sessions
from tests.conftest import client_for, free_port
from tests.factories import UserFactory

ACTORS = ["anonymous", "self", "other", "admin", "inactive", "frozen", "deleted", "logged_out"]
# What a token of a caller in each account state gets before any endpoint rule applies.
REFUSED = {"inactive": (7008, 403), "frozen": (7009, 403), "deleted": (7009, 403), "logged_out": (7005, 401)}
CALLER_STATUS = {"inactive": UserStatus.INACTIVE, "frozen": UserStatus.FROZEN, "deleted": UserStatus.DELETED}


@pytest.fixture
def actor_client(user, other, admin_user):
    """`actor_client(name)`: an API client for one of ACTORS; "self" is alice (the `user` fixture)."""

    def make(actor: str) -> APIClient:
        if actor == "anonymous":
            return APIClient()
        if actor == "self":
            return client_for(user)
        if actor == "other":
            return client_for(other)
        if actor == "admin":
            return client_for(admin_user)
        if actor == "logged_out":
            client = client_for(user, terminal="logged-out")
            sessions.session_revoke(session=Session.objects.get(user=user, terminal="logged-out",
                                                                revoked_at__isnull=True), reason="logout")
            return client
        caller = UserFactory(username=f"{actor}-caller")
        client = client_for(caller)
        User.objects.filter(pk=caller.pk).update(status=CALLER_STATUS[actor])
        return client

    return make


def snapshot(username: str) -> dict:
    """Everything a /users request could change about one user, for "nothing changed" assertions."""
    user = User.objects.select_related("membership__tier").get(username__iexact=username)
    row = User.objects.filter(pk=user.pk).values().get()
    return {
        "user": row,
        "tier": user.membership.tier.user_type,
        "expires": user.membership.expires_at,
        "live_sessions": Session.objects.filter(user=user, revoked_at__isnull=True).count(),
        "secrets": list(AccountSecret.objects.filter(user=user).values("purpose", "used_at")),
    }


class Inbox:
    """aiosmtpd handler: every message the server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    def sid(self, message: EmailMessage) -> str:
        found = re.search(r"[?&]sid=([A-Za-z0-9_\-]+)", self.text(message))
        assert found, self.text(message)
        return found.group(1)


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on a free loopback port, with Django's SMTP backend pointed at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield inbox
    controller.stop()
