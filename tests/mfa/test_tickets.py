"""accountsite.tickets: short-lived single-use values in the shared store, the database when there is no
shared cache (as in these tests, and SQLite deployments), else the cache."""

import time

import pytest

from accountsite.models import Ticket
from accountsite.tickets import ticket_add, ticket_put, ticket_read, ticket_take

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("store", ["database", "cache"])
def test_a_ticket_is_read_while_it_lives_and_taken_once(settings, store):
    settings.ACCOUNTS_RATELIMIT_STORE = store
    ticket_put("t:one", {"uid": 7}, 60)
    assert ticket_read("t:one") == ticket_read("t:one") == {"uid": 7}
    assert ticket_take("t:one") is True
    assert ticket_take("t:one") is False and ticket_read("t:one") is None
    assert ticket_take("t:never") is False


@pytest.mark.parametrize("store", ["database", "cache"])
def test_an_expired_ticket_is_gone(settings, store):
    settings.ACCOUNTS_RATELIMIT_STORE = store
    ticket_put("t:short", "x", 1)
    time.sleep(1.1)
    assert ticket_read("t:short") is None and ticket_take("t:short") is False


@pytest.mark.parametrize("store", ["database", "cache"])
def test_a_ticket_is_added_only_where_none_lives(settings, store):
    settings.ACCOUNTS_RATELIMIT_STORE = store
    assert ticket_add("t:lock", 1, 1) is True
    assert ticket_add("t:lock", 2, 60) is False and ticket_read("t:lock") == 1
    time.sleep(1.1)
    assert ticket_add("t:lock", 3, 60) is True and ticket_read("t:lock") == 3
    assert ticket_take("t:lock") is True and ticket_add("t:lock", 4, 60) is True


def test_the_database_store_deletes_expired_tickets_as_new_ones_come(settings):
    settings.ACCOUNTS_RATELIMIT_STORE = "database"
    Ticket.objects.create(key="t:old", value=1, expires=time.time() - 1)
    ticket_put("t:new", 2, 60)
    assert list(Ticket.objects.values_list("key", flat=True)) == ["t:new"]
