"""Brute-force limits: per account, per client IP, registrations per IP; counted in the shared cache, or in
the database when the cache is one process's memory."""

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Session, User
from accounts.services import sessions
from accountsite import errors, ratelimit
from accountsite.audit import AuditAction
from accountsite.models import RateCounter
from tests.conftest import client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

WRONG = "wrong-Passw0rd-here"


def attempt(login: str, password: str, ip: str = "198.51.100.1", **extra):
    return APIClient().post("/auth/login", {"username": login, "password": password}, format="json",
                            REMOTE_ADDR=ip, **extra)


def assert_locked(response, settings) -> None:
    envelope(response, errors.TooManyRequestsError)
    assert 1 <= int(response["Retry-After"]) <= settings.ACCOUNTS_LOGIN_FAILURE_WINDOW


def test_ten_failures_lock_the_account_even_for_the_right_password(user, settings):
    for _ in range(10):
        envelope(attempt("alice", WRONG), errors.WrongPasswordError, status=401)
    sessions = Session.objects.count()
    assert_locked(attempt("alice", PASSWORD), settings)
    # By e-mail, from another address: still the same account, still locked.
    assert_locked(attempt("ALICE@example.com", PASSWORD, ip="198.51.100.77"), settings)
    assert Session.objects.count() == sessions
    # Other accounts are not affected.
    envelope(APIClient().post("/auth/register", {"username": "carol", "password": PASSWORD}, format="json"), status=201)
    envelope(attempt("carol", PASSWORD), status=200)


def test_nine_failures_then_success_resets_the_account_counter(user, settings):
    for _round in range(2):
        for _ in range(9):
            envelope(attempt("alice", WRONG), errors.WrongPasswordError, status=401)
        envelope(attempt("alice", PASSWORD), status=200)
    envelope(attempt("alice", WRONG), errors.WrongPasswordError, status=401)
    envelope(attempt("alice", PASSWORD), status=200)


def test_a_password_reset_lifts_the_lockout_of_an_account_without_a_second_factor(user, settings):
    from accounts.models import SecretPurpose
    from accounts.services import codes

    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        envelope(attempt("alice", WRONG), errors.WrongPasswordError, status=401)
    assert_locked(attempt("alice", PASSWORD), settings)
    sid, _ = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
    envelope(APIClient().put("/users/alice/pwd/reset", {"sid": sid, "passwd": "a-New-passw0rd-here"}, format="json"))
    envelope(attempt("alice", "a-New-passw0rd-here"), status=200)


def test_unknown_names_lock_like_real_ones(db, settings):
    for _ in range(10):
        envelope(attempt("ghost-user", WRONG), errors.WrongPasswordError, status=401)
    assert_locked(attempt("ghost-user", WRONG), settings)


def test_per_ip_limit(user, other, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 3
    for name in ("nobody1", "nobody2", "nobody3"):
        envelope(attempt(name, WRONG, ip="203.0.113.5"), errors.WrongPasswordError, status=401)
    assert_locked(attempt("bob", PASSWORD, ip="203.0.113.5"), settings)
    # X-Forwarded-For is not trusted without ACCOUNTS_TRUSTED_PROXIES: it cannot dodge the limit.
    assert_locked(attempt("bob", PASSWORD, ip="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.44"), settings)
    envelope(attempt("bob", PASSWORD, ip="203.0.113.6"), status=200)


def test_an_ipv6_client_counts_by_its_64_not_by_each_address(user, other, settings):
    """A host holds a whole /64 and may pick any address in it: each address its own budget would make the
    limit per IP none at all. Another /64, and IPv4 inside IPv6 as its IPv4 address, count apart."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 3
    for address in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"):
        envelope(attempt("nobody", WRONG, ip=address), errors.WrongPasswordError, status=401)
    assert_locked(attempt("bob", PASSWORD, ip="2001:db8:1:2:abcd::9"), settings)
    envelope(attempt("bob", PASSWORD, ip="2001:db8:1:3::1"), status=200)  # the next /64
    assert ratelimit.address_block("::ffff:198.51.100.7") == ratelimit.address_block("198.51.100.7")


def test_trusted_proxy_counts_the_forwarded_address(user, settings):
    settings.ACCOUNTS_TRUSTED_PROXIES = 1
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 2
    for name in ("nobody1", "nobody2"):
        envelope(attempt(name, WRONG, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10"), errors.WrongPasswordError,
                 status=401)
    assert_locked(attempt("alice", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10"), settings)
    envelope(attempt("alice", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.11"), status=200)


def test_wrong_current_password_counts_toward_the_lockout(user, settings):
    client = client_for(user, "web")
    for _ in range(10):
        envelope(client.post("/auth/password", {"old_password": WRONG, "new_password": "brand-New-secret-77"},
                             format="json"), errors.WrongPasswordError)
    response = client.post("/auth/password", {"old_password": PASSWORD, "new_password": "brand-New-secret-77"},
                           format="json")
    envelope(response, errors.TooManyRequestsError)
    assert response["Retry-After"]
    assert_locked(attempt("alice", PASSWORD), settings)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


NEW = "brand-New-secret-77"

# Every API door where the signed-in user re-enters the current password (passwords.password_check), as the
# request it sends from `ip` with `password` as the current one.
RE_ENTERED = {
    "password change": lambda client, password, ip: client.post(
        "/auth/password", {"old_password": password, "new_password": NEW}, format="json", REMOTE_ADDR=ip),
    "seed 004 password change": lambda client, password, ip: client.put(
        "/users/alice/pwd", {"oldpwd": password, "passwd": NEW}, format="json", REMOTE_ADDR=ip),
    "unregister": lambda client, password, ip: client.post(
        "/auth/unregister", {"password": password}, format="json", REMOTE_ADDR=ip),
    "e-mail change": lambda client, password, ip: client.put(
        "/users/alice/email", {"email": "new@example.com", "password": password}, format="json", REMOTE_ADDR=ip),
    "authenticator app": lambda client, password, ip: client.post(
        "/auth/mfa/totp", {"password": password}, format="json", REMOTE_ADDR=ip),
    "passkey registration": lambda client, password, ip: client.post(
        "/auth/passkeys/options", {"password": password}, format="json", REMOTE_ADDR=ip),
}


def test_re_entered_passwords_alone_reach_the_limit_per_address(user, other, settings):
    """Each session guesses under its own account's limit, all from one address: the address's limit holds
    there as at sign-in, and the failure that reaches it is the lockout's audit row."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 3
    ip = "203.0.113.40"
    carol = UserFactory(username="carol")
    for guesser in (other, carol, other):
        envelope(RE_ENTERED["password change"](client_for(guesser), WRONG, ip), errors.WrongPasswordError)
    response = RE_ENTERED["password change"](client_for(user), PASSWORD, ip)
    assert_locked(response, settings)
    assert_locked(attempt("alice", PASSWORD, ip=ip), settings)  # the same address's sign-in is refused too
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    rows = AuditEvent.objects.filter(ip=ip).order_by("id").values_list("action", "data")
    assert list(rows) == [(AuditAction.LOGIN_FAILED, {"current_password": True})] * 2 + [
        (AuditAction.LOGIN_LOCKOUT, {"locked": ["ip"], "current_password": True})]


@pytest.mark.parametrize("door", list(RE_ENTERED))
def test_an_address_past_its_limit_is_refused_before_a_re_entered_password_is_checked(user, settings, door,
                                                                                     monkeypatch):
    """Locked like a sign-in (1029 and Retry-After), right or wrong, and the password is never judged: the
    reply cannot tell a guess from there whether it was right. The account's own count is not charged, and
    another address is not refused."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = 2
    ip = "203.0.113.41"
    for name in ("nobody1", "nobody2"):
        envelope(attempt(name, WRONG, ip=ip), errors.WrongPasswordError, status=401)
    client = client_for(user)
    before = snapshot()
    judged: list[str] = []
    check_password = User.check_password
    monkeypatch.setattr(User, "check_password", lambda self, raw: judged.append(raw) or check_password(self, raw))
    for password in (PASSWORD, WRONG):
        assert_locked(RE_ENTERED[door](client, password, ip), settings)
    assert judged == []
    before.assert_unchanged()
    reply = RE_ENTERED[door](client, WRONG, "203.0.113.42")
    envelope(reply, errors.WrongPasswordError)
    key = ratelimit.LOGIN_FAILURES_PER_ACCOUNT._key(f"user:{user.pk}")
    assert ratelimit.windows().state(key, 60)[0] == 1  # the one guess from the other address


def test_a_right_re_entered_password_gives_both_slots_back(user, settings):
    envelope(RE_ENTERED["authenticator app"](client_for(user), PASSWORD, "203.0.113.43"))
    ip_key = ratelimit.LOGIN_FAILURES_PER_IP._key("203.0.113.43")
    account_key = ratelimit.LOGIN_FAILURES_PER_ACCOUNT._key(f"user:{user.pk}")
    assert [ratelimit.windows().state(key, 60)[0] for key in (ip_key, account_key)] == [0, 0]


def test_unregister_failures_count_toward_the_lockout(user, settings):
    for _ in range(10):
        envelope(APIClient().post("/auth/unregister", {"username": "alice", "password": WRONG}, format="json"),
                 errors.WrongPasswordError)
    response = APIClient().post("/auth/unregister", {"username": "alice", "password": PASSWORD}, format="json")
    envelope(response, errors.TooManyRequestsError)
    assert User.objects.get(pk=user.pk).status == 2


def test_registration_limit_per_ip(db, settings):
    settings.ACCOUNTS_REGISTRATIONS_PER_IP = 2

    def register(name, ip):
        return APIClient().post("/auth/register", {"username": name, "password": PASSWORD}, format="json",
                                REMOTE_ADDR=ip)

    envelope(register("first", "203.0.113.20"), status=201)
    envelope(register("second", "203.0.113.20"), status=201)
    response = register("third", "203.0.113.20")
    envelope(response, errors.TooManyRequestsError)
    assert 1 <= int(response["Retry-After"]) <= settings.ACCOUNTS_REGISTRATION_WINDOW
    assert not User.objects.filter(username="third").exists()
    envelope(register("third", "203.0.113.21"), status=201)


@pytest.mark.parametrize("store", ["cache", "database"])
def test_a_window_counts_releases_clears_and_restarts_when_it_ends(settings, monkeypatch, store):
    settings.ACCOUNTS_RATELIMIT_STORE = store
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT, settings.ACCOUNTS_LOGIN_FAILURE_WINDOW = 2, 60
    limit, clock = ratelimit.LOGIN_FAILURES_PER_ACCOUNT, [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    assert [limit.reserve("alice"), limit.reserve("ALICE ")] == [1, 2]  # one key, however the name is typed
    clock[0] += 20
    with pytest.raises(errors.TooManyRequestsError) as refused:
        limit.reserve("alice")
    assert refused.value.wait == 40  # when the window that opened at the first hit ends
    limit.release("alice")
    limit.release("alice")
    assert limit.retry_after("alice") is None and limit.reserve("alice") == 2
    limit.clear("alice")
    assert limit.reserve("alice") == 1
    assert RateCounter.objects.exists() == (store == "database")


def test_a_database_window_restarts_when_it_ends_and_ended_windows_go(settings, monkeypatch):
    settings.ACCOUNTS_RATELIMIT_STORE = "database"
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT, settings.ACCOUNTS_LOGIN_FAILURE_WINDOW = 2, 60
    limit, clock = ratelimit.LOGIN_FAILURES_PER_ACCOUNT, [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    assert [limit.reserve("alice"), limit.reserve("alice"), limit.reserve("bob")] == [1, 2, 1]
    assert limit.retry_after("alice") == 60
    clock[0] += 60
    assert limit.retry_after("alice") is None and limit.reserve("alice") == 1  # a new window
    assert RateCounter.objects.count() == 1  # bob's ended window was deleted by that hit


@pytest.mark.parametrize("store", ["cache", "database"])
def test_a_refusal_for_the_account_gives_the_ip_slot_back_and_no_count_goes_below_zero(user, settings, store):
    settings.ACCOUNTS_RATELIMIT_STORE = store
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = 1
    ip, account = ratelimit.LOGIN_FAILURES_PER_IP, ratelimit.LOGIN_FAILURES_PER_ACCOUNT
    envelope(attempt("alice", WRONG), errors.WrongPasswordError, status=401)
    assert_locked(attempt("alice", PASSWORD), settings)
    assert_locked(attempt("alice", PASSWORD), settings)
    assert ratelimit.windows().state(ip._key("198.51.100.1"), ip.window)[0] == 1  # the one guess made
    account.release("nobody")  # no window: nothing to give back
    ip.release("198.51.100.9")
    assert [account.reserve("nobody"), ip.reserve("198.51.100.9")] == [1, 1]


def test_a_password_sign_in_takes_two_round_trips_to_redis(user, other, settings, monkeypatch):
    """One script reserves the IP's and the account's slots, one gives them back and clears the account's
    failures, whether the account had a window open or not."""
    if ratelimit.windows().__class__ is not ratelimit.RedisWindows:
        pytest.skip("counts django-redis's round trips (REDIS_URL)")
    from redis.connection import AbstractConnection

    sent: list[object] = []
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command)
        return send(self, command, check_health)

    envelope(attempt("alice", PASSWORD), status=200)  # Redis has the scripts from here on
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    for _ in range(2):  # the second after the first cleared the account's window
        sent.clear()
        envelope(attempt("alice", PASSWORD), status=200)
        assert len(sent) == 2
    envelope(attempt("bob", WRONG), errors.WrongPasswordError, status=401)
    key = ratelimit.LOGIN_FAILURES_PER_ACCOUNT._key(f"user:{other.pk}")
    assert ratelimit.windows().state(key, 60)[0] == 1
    sent.clear()
    _user, methods = sessions.sign_in_check(login="bob", password=PASSWORD, ip="198.51.100.1")
    assert methods == [] and len(sent) == 2
    assert ratelimit.windows().state(key, 60)[0] == 0  # the whole sign-in cleared bob's failure
