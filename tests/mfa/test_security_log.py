"""GET /auth/events (the user's own security log), its retention, and the new-device sign-in notice."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import security_log
from accountsite import errors
from tests.conftest import app_client, client_for, envelope
from tests.factories import PASSWORD
from tests.mfa.helpers import totp_on

pytestmark = pytest.mark.django_db
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def sign_in(client, *, ua=FIREFOX, ip="198.51.100.7", terminal="laptop", password=PASSWORD):
    return client.post("/auth/login", {"username": "alice", "password": password, "terminal": terminal},
                       format="json", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)


def test_the_log_lists_the_users_own_security_events_newest_first(user, anon_client, other):
    envelope(sign_in(anon_client), status=200)
    envelope(sign_in(anon_client, password="wrong-password"), errors.WrongPasswordError, status=401)
    totp_on(user)
    client_for(other)  # bob's sign-in is not alice's business
    client = client_for(user, "desk")
    events = envelope(client.get("/auth/events"))["data"]
    assert [event["action"] for event in events["results"]] == [
        "session.login", "mfa.recovery_issue", "mfa.totp_enable", "session.login_failed", "session.login"]
    login = next(e for e in events["results"] if e["action"] == "session.login" and e["terminal"] == "laptop")
    assert login["ip"] == "198.51.100.7" and login["user_agent"] == FIREFOX and login["by"] == "you"
    assert login["description"] == "signed in" and "device" not in login["details"]
    assert envelope(client.get("/auth/events", {"size": 2, "page": 2}))["data"]["size"] == 2


def test_the_log_does_not_show_an_operators_address(user, admin_client, anon_client):
    """An operator's change is in the user's log (by "operator"), but where the operator works from is not
    the user's to know: the back office hides administrators' sign-ins even from other operators."""
    envelope(admin_client.patch("/users/alice", {"status": 5}, format="json", REMOTE_ADDR="10.20.30.40"))
    envelope(admin_client.patch("/users/alice", {"status": 2, "passwd": "operator-chosen-pass-5"}, format="json",
                                REMOTE_ADDR="10.20.30.40"))
    envelope(sign_in(anon_client, password="wrong-password"), errors.WrongPasswordError, status=401)
    user.refresh_from_db()
    events = envelope(client_for(user).get("/auth/events"))["data"]["results"]
    by_operator = [event for event in events if event["by"] == "operator"]
    assert {event["action"] for event in by_operator} == {"user.status", "password.admin_set"}
    assert all(event["ip"] is None for event in by_operator)
    failed = next(event for event in events if event["action"] == "session.login_failed")
    assert failed["ip"] == "198.51.100.7"  # whoever tried the password is the user's business
    assert AuditEvent.objects.filter(ip="10.20.30.40").exists()  # the back office keeps it


def test_the_log_covers_the_retention_period_only(user, settings):
    settings.ACCOUNTS_SECURITY_LOG_DAYS = 90
    client = client_for(user)
    AuditEvent.objects.filter(user=user).update(created_at=timezone.now() - timedelta(days=91))
    client_for(user, "phone")
    assert [e["terminal"] for e in envelope(client.get("/auth/events"))["data"]["results"]] == ["phone"]


def test_an_apps_token_cannot_read_the_log(user):
    envelope(app_client(user).get("/auth/events"), errors.PermissionDeniedError)


def test_prune_deletes_old_sign_in_activity_and_keeps_changes(user, user_client):
    old = timezone.now() - timedelta(days=91)
    totp_on(user)
    AuditEvent.objects.filter(user=user).update(created_at=old)
    client_for(user, "phone")  # a recent sign-in stays
    call_command("prune_security_events")
    assert sorted(AuditEvent.objects.filter(user=user).values_list("action", flat=True)) == [
        "mfa.recovery_issue", "mfa.totp_enable", "session.login", "user.create"]
    assert AuditEvent.objects.get(action="session.login").data["terminal"] == "phone"


def test_a_sign_in_from_a_new_device_is_mailed(user, anon_client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        envelope(sign_in(anon_client))  # the first sign-in ever: nothing to compare with
        envelope(sign_in(anon_client, ip="198.51.100.99"))  # same /24, same browser, same terminal
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        envelope(sign_in(anon_client, terminal="desk"))
        envelope(sign_in(anon_client, ua=CHROME))
        envelope(sign_in(anon_client, ip="203.0.113.5"))
    assert len(mailoutbox) == 3
    mail = mailoutbox[2]
    assert mail.subject == "New sign-in to your accountsite account" and "203.0.113.5" in mail.body
    session = user.sessions.get(revoked_at__isnull=True, terminal="laptop")
    assert f"end={session.pk}" in mail.body and "Firefox" in mail.body


@pytest.mark.parametrize(("ua", "family"), [(FIREFOX, "Firefox"), (CHROME, "Chrome"), ("curl/8.5.0", "curl"),
                                            ("Mozilla/5.0 ... Chrome/130.0 Safari/537.36 Edg/130.0", "Edge"), ("", "")])
def test_user_agent_families(ua, family):
    assert security_log.user_agent_family(ua) == family


def test_ip_prefixes():
    assert security_log.ip_prefix("198.51.100.7") == "198.51.100.0/24"
    assert security_log.ip_prefix("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert security_log.ip_prefix(None) == ""
