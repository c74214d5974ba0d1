"""Account e-mails: rendered from accounts/templates/accounts/email/ and sent only once the change commits."""

import logging
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger("accountsite.mail")


def front_end_link(template: str, *, loginname: str, sid: str) -> str:
    """A link built from one of the configurable front-end URL templates (ACCOUNTS_*_URL)."""
    return template.format(loginname=quote(loginname, safe=""), sid=quote(sid, safe=""))


def mail_send(*, template: str, to: str, context: dict) -> None:
    """Queues `<template>` (subject, plain text and HTML) for `to`, sent after the transaction commits,
    so a rolled-back change e-mails nothing; a delivery failure is logged and does not undo the change."""
    base = f"accounts/email/{template}"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    text = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)

    def deliver() -> None:
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
        message.attach_alternative(html, "text/html")
        message.send()

    transaction.on_commit(deliver, robust=True)
