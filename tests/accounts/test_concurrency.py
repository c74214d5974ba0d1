"""Races on PostgreSQL: parallel registrations of one name and parallel logins on one terminal."""

import importlib
import threading
from collections import Counter

import pytest
from django.db import IntegrityError, connections, transaction
from django.db.models import Q
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.services import sessions, users
from accountsite import errors
from tests.conftest import status_and_code
from tests.factories import PASSWORD, UserFactory
from tests.parallel import run_parallel

THREADS = 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_registrations_of_one_name_give_one_account():
    def register(index: int) -> tuple[int, int]:
        response = APIClient().post("/auth/register", {"username": "racer", "password": PASSWORD,
                                                       "email": f"racer{index}@example.com"}, format="json",
                                    REMOTE_ADDR=f"203.0.113.{index + 1}")
        return response.status_code, response.json()["code"]

    results = run_parallel(register, THREADS, threads=THREADS)
    assert Counter(results) == Counter({(201, 0): 1, status_and_code(errors.LoginNameTakenError): THREADS - 1}), results
    assert User.objects.filter(username__iexact="racer").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("round_", range(3))
def test_a_name_claimed_at_once_as_a_login_name_and_as_an_address_goes_to_one_account(round_):
    """Each unique index covers one column: both sign-ups passed the cross-column check before either
    committed (8 of 8 tries), and signing in by the address then reached the other account."""
    bodies = [{"username": f"cr{round_}@ex.com", "password": PASSWORD},
              {"username": f"crb{round_}", "email": f"CR{round_}@EX.COM", "password": PASSWORD}]

    def register(index: int) -> tuple[int, int]:
        response = APIClient().post("/auth/register", bodies[index], format="json",
                                    REMOTE_ADDR=f"203.0.113.{index + 1}")
        return response.status_code, response.json()["code"]

    results = run_parallel(register, 2, threads=2)
    assert (201, 0) in results and len(set(results)) == 2, results  # one account; the other is refused
    name = f"cr{round_}@ex.com"
    assert User.objects.filter(Q(username__iexact=name) | Q(email__iexact=name)).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_logins_on_one_terminal_leave_one_live_session():
    user = UserFactory(username="alice")

    def login(_index: int) -> tuple[int, int]:
        response = APIClient().post("/auth/login", {"username": "alice", "password": PASSWORD, "terminal": "web"},
                                    format="json")
        return response.status_code, response.json()["code"]

    results = run_parallel(login, THREADS, threads=THREADS)
    assert results == [(200, 0)] * THREADS, results
    assert Session.objects.filter(user=user, terminal="web", revoked_at__isnull=True).count() == 1
    assert Session.objects.filter(user=user, terminal="web").count() == THREADS


@pytest.mark.django_db
@pytest.mark.parametrize(("clash", "expected"), [
    ({"username": "MyEmail.user", "email": "someone-else@example.com"}, errors.LoginNameTakenError),
    ({"username": "other-name", "email": "MYEMAIL.USER@example.com"}, errors.EmailTakenError),
    ({"username": "username2", "email": "username@example.com"}, errors.EmailTakenError),
])
def test_a_lost_race_is_named_by_its_constraint(clash, expected):
    """The insert that loses a race fails on a constraint; the error names the right field even when the
    clashing value itself contains the other field's name."""
    UserFactory(username="myemail.user", email="myemail.user@example.com")
    UserFactory(username="username", email="username@example.com")
    with pytest.raises(IntegrityError) as failure, transaction.atomic():
        User.objects.create(**clash)
    assert isinstance(users.integrity_as_service_error(failure.value), expected)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_refresh_does_not_wait_for_the_user_row():
    """Sign-in, password change and status change lock the user row first and then update sessions; a
    refresh that locked its session and then waited for the user row would deadlock with them. Here one
    transaction holds the user row (as session_start does) while a refresh of that user's session runs:
    the refresh must finish, and the other transaction then ends the session without a deadlock."""
    user = UserFactory(username="alice")
    _session, pair = sessions.session_start(user=user, terminal="web", ip="127.0.0.1", user_agent="t")
    holding, refreshed = threading.Event(), threading.Event()
    outcome: dict = {}

    def hold_user_then_revoke() -> None:
        try:
            with transaction.atomic():
                User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
                holding.set()
                outcome["refresh_finished_meanwhile"] = refreshed.wait(timeout=5)
                outcome["revoked"] = sessions.user_credentials_revoke(user=user, reason="test")
        except Exception as exc:
            outcome["holder_error"] = exc
        finally:
            connections.close_all()

    def refresh() -> None:
        try:
            assert holding.wait(timeout=10)
            outcome["pair"] = sessions.session_refresh(raw_refresh=pair.refresh)
        except Exception as exc:
            outcome["refresh_error"] = exc
        finally:
            refreshed.set()
            connections.close_all()

    threads = [threading.Thread(target=hold_user_then_revoke), threading.Thread(target=refresh)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert "holder_error" not in outcome and "refresh_error" not in outcome, outcome
    assert outcome["refresh_finished_meanwhile"] and outcome["revoked"] == 1
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("limit", "names"), [
    ("ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", lambda i: "alice"),  # one account, guessed in parallel
    ("ACCOUNTS_LOGIN_FAILURES_PER_IP", lambda i: f"name{i}"),  # one IP trying many names in parallel
], ids=["per_account", "per_ip"])
def test_parallel_wrong_passwords_get_at_most_the_allowed_guesses(settings, limit, names):
    """Each attempt is counted before its password is checked, so parallel guesses cannot overshoot. The real
    Argon2id hasher keeps each check slow enough for the guesses to overlap."""
    settings.PASSWORD_HASHERS = importlib.import_module("accountsite.settings").PASSWORD_HASHERS
    setattr(settings, limit, 3)
    UserFactory(username="alice")
    guesses = 10

    def guess(index: int) -> int:
        response = APIClient().post("/auth/login", {"username": names(index), "password": "wrong-Passw0rd-1"},
                                    format="json")
        return response.json()["code"]

    results = Counter(run_parallel(guess, guesses, threads=guesses))
    assert results == Counter({errors.WrongPasswordError.code: 3,
                               errors.TooManyRequestsError.code: guesses - 3}), results
