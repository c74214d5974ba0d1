"""Names past ASCII name no account (accounts.models.may_name_an_account). PostgreSQL's case-insensitive match
folds a dotless i (U+0131) into i and a long s (U+017F) into s, where Python's lower() keeps them: `al\u0131ce`
found alice while its attempts and mails were counted under keys of their own. PostgreSQL only: SQLite's
UPPER() folds ASCII alone."""

from urllib.parse import quote

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from accountsite import errors
from membership.models import TierType
from repos.services import repository_create
from tests.conftest import envelope
from tests.factories import UserFactory
from tests.quotas.helpers import give_tier

pytestmark = pytest.mark.postgres
WRONG = "wrong-password-1"


def attempt(login: str, ip: str):
    return APIClient(REMOTE_ADDR=ip).post("/auth/login", {"username": login, "password": WRONG}, format="json")


@pytest.mark.django_db
def test_a_folded_spelling_of_a_locked_name_answers_as_an_unknown_one_does():
    """Both names are locked by their ten failures; a folded spelling of each is a new, unknown name: the
    real account's answered 1029 (its lock) where the unknown one's answered 8004, which told them apart."""
    UserFactory(username="alice")
    for name in ("alice", "ghostie"):
        for index in range(10):
            envelope(attempt(name, ip=f"198.51.100.{index + 1}"), errors.WrongPasswordError, status=401)
    for folded in ("al\u0131ce", "ghost\u0131e"):
        envelope(attempt(folded, ip="203.0.113.9"), errors.WrongPasswordError, status=401)


@pytest.mark.django_db
def test_folded_spellings_of_a_name_send_its_mails_no_more_than_the_cap(settings, django_capture_on_commit_callbacks):
    settings.ACCOUNTS_SECRET_MAILS_PER_ACCOUNT = 2
    UserFactory(username="sis", email="sis@example.com")
    names = ["sis", "SIS", "s\u0131s", "\u017fis", "\u017f\u0131s", "si\u017f"]
    for index, name in enumerate(names):
        with django_capture_on_commit_callbacks(execute=True):
            APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}").put(f"/users/{quote(name)}/forget/pwd")
    assert len([message for message in mail.outbox if message.to == ["sis@example.com"]]) == 2


@pytest.mark.django_db
def test_a_folded_spelling_finds_no_user_and_no_repository(admin_client, user):
    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="shared", visibility="private")
    envelope(admin_client.get("/users/alice"))
    envelope(admin_client.get("/users/al\u0131ce"), errors.NotFoundError)
    envelope(admin_client.get("/repos/alice/shared"))
    envelope(admin_client.get("/repos/al\u0131ce/shared"), errors.NotFoundError)
    envelope(admin_client.get("/repos/alice/\u017fhared"), errors.NotFoundError)
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("al\u0131ce")
