"""Audit rows say who did it and from where: the request's client address reaches every row written while
it is served (accountsite.audit.AuditIPMiddleware), admin rows name the operator, and failed sign-ins and
lockouts are rows of their own."""

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User, UserStatus
from accountsite.audit import AuditAction, AuditIPMiddleware, audit_record, request_ip
from accountsite.errors import TooManyRequestsError, WrongPasswordError
from membership.models import TierType
from quotas.models import Quota, QuotaKind
from tests.conftest import app_client, client_for, envelope
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "wrong-Passw0rd-here"


def test_the_client_address_is_held_while_a_request_is_served_and_cleared_after(settings):
    seen = []

    def view(request):
        seen.append(request_ip())
        return "response"

    middleware = AuditIPMiddleware(view)
    assert middleware(RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")) == "response"
    assert seen == ["198.51.100.7"] and request_ip() is None
    settings.ACCOUNTS_TRUSTED_PROXIES = 1  # behind one proxy, its X-Forwarded-For hop is the client
    middleware(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.44"))
    assert seen[-1] == "192.0.2.44" and request_ip() is None

    def crash(request):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        AuditIPMiddleware(crash)(RequestFactory().get("/", REMOTE_ADDR="198.51.100.8"))
    assert request_ip() is None


def test_rows_outside_a_request_have_no_address_and_an_explicit_one_wins(user):
    assert audit_record(action=AuditAction.USER_PROFILE, user=user).ip is None
    assert audit_record(action=AuditAction.USER_PROFILE, user=user, ip="198.51.100.9").ip == "198.51.100.9"
    assert audit_record(action=AuditAction.USER_PROFILE, user=user, ip="not an address").ip is None


def test_api_rows_carry_the_client_address(user):
    api = client_for(user)
    api.defaults["REMOTE_ADDR"] = "198.51.100.20"
    envelope(api.patch("/auth/me", {"is_developer": True, "redirect_uris": "https://app.example/cb"}, format="json"))
    envelope(api.post("/auth/logout", {}, format="json"))
    app = app_client(user)
    app.defaults["REMOTE_ADDR"] = "198.51.100.21"
    envelope(app.patch("/auth/me", {"nickname": "Ally"}, format="json"))
    rows = {event.action: event.ip for event in AuditEvent.objects.filter(user=user)}
    assert rows[AuditAction.DEVELOPER_ENABLE] == rows[AuditAction.OAUTH_APP_CREATE] == "198.51.100.20"
    assert rows[AuditAction.SESSION_LOGOUT] == "198.51.100.20"
    assert rows[AuditAction.USER_PROFILE] == "198.51.100.21"


def test_admin_rows_carry_the_operator_and_the_operator_address(operator, admin_user, user, other):
    def act(path, action, pks, **fields):
        return operator.post(path, {"action": action, "_selected_action": pks, **fields}, follow=True)

    act("/admin/accounts/user/", "freeze_users", [user.pk])
    act("/admin/accounts/user/", "make_admin", [other.pk])
    act("/admin/membership/wallet/", "topup", [user.pk], amount="20000.00")
    act("/admin/membership/membership/", "change_tier", [user.pk], user_type=TierType.GOLD, validity=1)
    deposit = Quota.objects.get(user=user, kind=QuotaKind.DEPOSIT)
    assert operator.post(f"/admin/quotas/quota/{deposit.pk}/change/", {"quota": "300M"}).status_code == 302
    form = {"username": "bob", "email": "bob@example.com", "nickname": "Robert", "real_name": "", "intro": "",
            "github": "", "school": "", "website": "", "status": UserStatus.ACTIVE}
    assert operator.post(f"/admin/accounts/user/{other.pk}/change/", form).status_code == 302
    written = AuditEvent.objects.exclude(action=AuditAction.SESSION_LOGIN).filter(actor=admin_user)
    assert {event.action for event in written} >= {
        AuditAction.USER_STATUS, AuditAction.USER_ROLE, AuditAction.WALLET_TOPUP, AuditAction.MEMBERSHIP_UPGRADE,
        AuditAction.QUOTA_LIMITS, AuditAction.USER_PROFILE, AuditAction.MEMBERSHIP_ASSIGN}
    assert {event.ip for event in written} == {"203.0.113.9"}
    # Every row those actions wrote names the operator: none is left to "the system".
    assert not AuditEvent.objects.exclude(action=AuditAction.SESSION_LOGIN).filter(actor__isnull=True,
                                                                                   user__in=[user, other]).exclude(
        action__in=[AuditAction.USER_CREATE]).exists()


def sign_in(login, password, ip="198.51.100.30"):
    return APIClient().post("/auth/login", {"username": login, "password": password}, format="json", REMOTE_ADDR=ip)


def test_a_failed_sign_in_is_one_row_and_a_success_none(user):
    envelope(sign_in("alice", WRONG), WrongPasswordError, status=401)
    envelope(sign_in("ghost", WRONG), WrongPasswordError, status=401)
    envelope(sign_in("alice", PASSWORD))
    failed = list(AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("id"))
    assert [(event.user, event.actor, event.ip, event.data) for event in failed] == [
        (user, None, "198.51.100.30", {}), (None, None, "198.51.100.30", {})]
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_LOGIN, user=user).count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN_LOCKOUT).exists()


def test_the_failure_that_reaches_a_limit_is_the_lockout_and_locked_attempts_write_nothing(user, settings):
    for _ in range(settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT):
        envelope(sign_in("alice", WRONG), WrongPasswordError, status=401)
    for _ in range(3):
        envelope(sign_in("alice", PASSWORD), TooManyRequestsError)
    rows = list(AuditEvent.objects.filter(user=user, action__in=[AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT])
                .order_by("id").values_list("action", "data"))
    assert rows == [(AuditAction.LOGIN_FAILED, {})] * 9 + [(AuditAction.LOGIN_LOCKOUT, {"locked": ["account"]})]

    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 2
    envelope(sign_in("nobody1", WRONG, ip="203.0.113.50"), WrongPasswordError, status=401)
    envelope(sign_in("nobody2", WRONG, ip="203.0.113.50"), WrongPasswordError, status=401)
    envelope(sign_in("alice", PASSWORD, ip="203.0.113.50"), TooManyRequestsError)
    from_there = AuditEvent.objects.filter(ip="203.0.113.50").order_by("id").values_list("action", "data")
    assert list(from_there) == [(AuditAction.LOGIN_FAILED, {}), (AuditAction.LOGIN_LOCKOUT, {"locked": ["ip"]})]
    assert User.objects.get(pk=user.pk).status == UserStatus.ACTIVE


def test_audit_events_filter_by_action_label(operator, user):
    operator.post("/admin/accounts/user/", {"action": "freeze_users", "_selected_action": [user.pk]})
    page = operator.get("/admin/accounts/auditevent/", {"action": AuditAction.USER_STATUS})
    assert [event.action for event in page.context["cl"].result_list] == [AuditAction.USER_STATUS]
    text = page.content.decode()
    assert "status changed" in text and "active → frozen" in text and "203.0.113.9" in text
    assert 'href="?action=session.login_failed"' in text and "sign-in refused: wrong login name or password" in text
    assert list(operator.get("/admin/accounts/auditevent/", {"action": "no.such"}).context["cl"].result_list) == []
