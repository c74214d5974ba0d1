"""Changes of one account on PostgreSQL hold the user's row first, FOR NO KEY UPDATE as an UPDATE of it does,
and only then its other rows (codes, sessions, tokens, membership): two changes of one account queue instead
of deadlocking. FOR UPDATE also waited for the key-share lock that a row pointing at the user takes at
commit (PostgreSQL's deferred foreign-key check), and a change that locked a code before the user's row met
one that did the reverse."""

import threading

import pytest
from django.db import transaction

from accounts.models import SecretPurpose, User, UserStatus
from accounts.services import codes, passwords
from accounts.services.users import user_admin_update, user_status_set
from tests.factories import UserFactory
from tests.parallel import run_parallel, waited_or_done

WAIT = 10

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_freeze_waits_for_a_reset_mail_being_sent():
    """The mail voided the old code (its row locked) and checks its new code's key on the user's row at commit;
    the freeze held the user's row FOR UPDATE and then waited for the old code's row to void it."""
    user = UserFactory(username="mailed")
    passwords.password_reset_send(user=user)  # a code the freeze will void
    mail_locked, frozen = threading.Event(), threading.Event()

    def work(index: int) -> str:
        if index == 0:
            with transaction.atomic():
                passwords.password_reset_send(user=User.objects.get(pk=user.pk))
                mail_locked.set()
                waited_or_done(frozen)  # the freeze holds the user's row and waits for the old code now
            return "mail"
        assert mail_locked.wait(WAIT)
        try:
            user_status_set(user=User.objects.get(pk=user.pk), status=UserStatus.FROZEN, actor=None, reason="test")
        finally:
            frozen.set()
        return "frozen"

    assert run_parallel(work, 2, threads=2) == ["mail", "frozen"]


@pytest.mark.parametrize("change", [{"password": "Operator-Horse-Battery-9"}, {"status": UserStatus.FROZEN}])
def test_a_reset_with_its_code_and_an_operators_change_queue(monkeypatch, admin_user, change):
    """The reset used up its code (the code's row), then wrote the password (the user's row); the operator's
    change held the user's row, then voided the user's codes."""
    user = UserFactory(username="resetter")
    raw, _secret = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
    redeemed, changed, redeem = threading.Event(), threading.Event(), passwords.secret_redeem

    def slow_redeem(**kwargs):
        secret = redeem(**kwargs)
        redeemed.set()
        waited_or_done(changed)  # the operator's change comes now
        return secret

    monkeypatch.setattr(passwords, "secret_redeem", slow_redeem)

    def work(index: int) -> str:
        if index == 0:
            passwords.password_reset(loginname="resetter", sid=raw, password="Reset-Horse-Battery-9")
            return "reset"
        assert redeemed.wait(WAIT)
        try:
            user_admin_update(user=User.objects.get(pk=user.pk), actor=admin_user, **change)
        finally:
            changed.set()
        return "changed"

    assert run_parallel(work, 2, threads=2) == ["reset", "changed"]
