"""Account e-mails: rendered from accounts/templates/accounts/email/ and delivered through the outbox once
the change commits."""

from urllib.parse import quote

from django.conf import settings
from django.template.loader import render_to_string

from accountsite.outbox import outbox_enqueue
from accountsite.sealing import seal


def front_end_link(template: str, *, loginname: str, sid: str) -> str:
    """A link built from one of the configurable front-end URL templates (ACCOUNTS_*_URL)."""
    return template.format(loginname=quote(loginname, safe=""), sid=quote(sid, safe=""))


def mail_send(*, template: str, to: str, context: dict) -> None:
    """Renders `<template>` (subject, plain text and HTML) for `to` and leaves it to the outbox
    (accountsite.outbox) in the current transaction: a rolled-back change e-mails nothing, a committed one
    is delivered even if SMTP is down now (retried until it is up)."""
    base = f"accounts/email/{template}"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    # The bodies carry codes and links that open the account: sealed while they wait (a database copy
    # taken during an SMTP outage reveals none).
    outbox_enqueue("accountsite.outbox.mail_deliver", subject=subject, to=to, from_email=settings.DEFAULT_FROM_EMAIL,
                   sealed_text=seal(render_to_string(f"{base}.txt", context)),
                   sealed_html=seal(render_to_string(f"{base}.html", context)))
