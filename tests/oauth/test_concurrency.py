"""Codes (seed 001 and standard) are single use under real concurrency (PostgreSQL, parallel connections),
and a replay of a standard code ends the tokens its first use made, whenever it comes."""

import threading

import pytest
from django.db import transaction
from django.test import Client
from oauth2_provider.models import AccessToken, IDToken, RefreshToken

from accounts.models import OAuthCode, RevokeReason, UserStatus
from accounts.oauth import applications, seed
from accounts.oauth.validators import AccountsOAuth2Validator
from accounts.services import passwords, sessions, users
from accountsite.errors import InvalidSecretError
from tests.conftest import browser_sign_in
from tests.factories import UserFactory
from tests.oauth.conftest import code_for, exchange, tokens_for
from tests.parallel import run_parallel, waited_or_done

CALLBACK = "https://app.example/cb"
WAIT = 10  # seconds a thread waits for the other before the test fails


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_parallel_exchanges_of_one_code_give_one_user():
    user = UserFactory(username="racer")
    issued = applications.application_create(owner=UserFactory(username="racedev"), redirect_uris=CALLBACK)
    client_id, secret = issued.application.client_id, issued.client_secret
    codes = [seed.seed_code_issue(user=user, target=seed.seed_target_resolve(
        client_id=client_id, redirect_uri=CALLBACK)).code for _ in range(3)]
    attempts = (codes[0], *codes)  # two on the first code, one on each of the others

    def exchange(index: int) -> str:
        try:
            seed.seed_code_exchange(client_id=client_id, client_secret=secret, code=attempts[index])
        except InvalidSecretError:
            return "invalid"
        return "ok"

    results = run_parallel(exchange, len(attempts), threads=len(attempts))
    outcomes = {code: [r for a, r in zip(attempts, results, strict=True) if a == code] for code in codes}
    assert sorted(outcomes[codes[0]]) == ["invalid", "ok"]
    assert outcomes[codes[1]] == ["ok"] and outcomes[codes[2]] == ["ok"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_parallel_exchanges_of_one_authorization_code_give_one_set_of_tokens():
    user = UserFactory(username="racer2")
    issued = applications.application_create(owner=UserFactory(username="racedev2"), redirect_uris=CALLBACK)
    browser = Client()
    browser_sign_in(browser, user)
    code, verifier = code_for(browser, issued.application)

    results = run_parallel(lambda _index: exchange(code, verifier, issued.application, issued.client_secret),
                           2, threads=2)
    # The second is refused, and as a replay it ends what the first made (an access token that ended
    # before the first could reply makes that one invalid_grant too).
    assert 400 in (reply.status_code for reply in results)
    assert {reply.status_code for reply in results} <= {200, 400}
    assert RefreshToken.objects.get().revoked is not None and not AccessToken.objects.exists()


# Where the first use waits for the replay: before it makes its refresh token (the replay finds no family),
# or after it recorded the family, its transaction still open (the replay must wait for its commit).
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("held", ["before", "after"])
def test_a_code_replayed_while_its_first_use_makes_its_tokens_leaves_none_live(monkeypatch, held):
    user = UserFactory(username="racer3")
    issued = applications.application_create(owner=UserFactory(username="racedev3"), redirect_uris=CALLBACK)
    browser = Client()
    browser_sign_in(browser, user)
    code, verifier = code_for(browser, issued.application)
    holding, replayed = threading.Event(), threading.Event()
    make_refresh_token = AccountsOAuth2Validator._create_refresh_token

    def held_for_the_replay(self, *args):
        if held == "before":
            holding.set()
            assert replayed.wait(WAIT), "the replay did not finish"
        token = make_refresh_token(self, *args)
        if held == "after":
            holding.set()
            waited_or_done(replayed)
        return token

    def use(index: int):
        if index == 0:
            return exchange(code, verifier, issued.application, issued.client_secret)
        assert holding.wait(WAIT), "the first use never got to its tokens"
        try:
            return exchange(code, verifier, issued.application, issued.client_secret)
        finally:
            replayed.set()

    monkeypatch.setattr(AccountsOAuth2Validator, "_create_refresh_token", held_for_the_replay)
    first, replay = run_parallel(use, 2, threads=2)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert first.status_code == 200 or first.json()["error"] == "invalid_grant", first
    assert RefreshToken.objects.get().revoked is not None and not AccessToken.objects.exists()
    assert OAuthCode.objects.get().replayed_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refresh_token_replayed_while_its_first_use_rotates_it_ends_the_family(monkeypatch):
    """The replay is checked first, then waits until the first use has rotated the token and committed: it
    is a reuse of a rotated refresh token, and it ends the family, the rotation's new tokens included (RFC 9700
    4.14.2), as a replay a moment later does. DOT took it for a retry and answered no token; nothing was
    revoked, and whoever raced the client kept the new tokens."""
    user = UserFactory(username="refresher")
    issued = applications.application_create(owner=UserFactory(username="refreshdev"), redirect_uris=CALLBACK)
    browser = Client()
    browser_sign_in(browser, user)
    tokens = tokens_for(browser, issued.application, issued.client_secret)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": issued.application.client_id, "client_secret": issued.client_secret}
    checked, first_done = threading.Event(), threading.Event()
    validate = AccountsOAuth2Validator.validate_refresh_token

    def replay_waits(self, *args, **kwargs):
        valid = validate(self, *args, **kwargs)
        if threading.current_thread().name == "replay":
            checked.set()
            assert first_done.wait(WAIT), "the first use did not finish"
        return valid

    def use(name: str):
        threading.current_thread().name = name
        try:
            if name == "first":
                assert checked.wait(WAIT), "the replay was never checked"
            return Client().post("/oauth/token/", data)
        finally:
            if name == "first":
                first_done.set()

    monkeypatch.setattr(AccountsOAuth2Validator, "validate_refresh_token", replay_waits)
    replay, first = run_parallel(lambda index: use(("replay", "first")[index]), 2, threads=2)
    assert first.status_code == 200 and replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists() and not AccessToken.objects.exists()
    rotated = Client().post("/oauth/token/", {**data, "refresh_token": first.json()["refresh_token"]})
    assert rotated.status_code == 400


def _refresh_data(prefix: str, scope: str = "openid profile") -> tuple[dict, object]:
    """A signed-in user's first token pair for a new app, as the token endpoint's refresh form."""
    user = UserFactory(username=f"{prefix}user")
    issued = applications.application_create(owner=UserFactory(username=f"{prefix}dev"), redirect_uris=CALLBACK)
    browser = Client()
    browser_sign_in(browser, user)
    tokens = tokens_for(browser, issued.application, issued.client_secret, scope=scope)
    return {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": issued.application.client_id, "client_secret": issued.client_secret}, user


def _refresh_beside_a_revocation(data: dict, user, reason: str, *, after: threading.Event,
                                 revoked: threading.Event):
    """A refresh (`data`) in one thread and, once `after` is set, the end of the user's credentials in another
    (`revoked` set when it is done); answers the refresh's reply."""

    def use(index: int):
        if index == 0:
            return Client().post("/oauth/token/", data)
        assert after.wait(WAIT), "the refresh never got there"
        try:
            return sessions.user_credentials_revoke(user=user, reason=reason)
        finally:
            revoked.set()

    return run_parallel(use, 2, threads=2)[0]


def _none_live() -> bool:
    return not AccessToken.objects.exists() and not RefreshToken.objects.filter(revoked__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refresh_checked_before_a_logout_everywhere_makes_no_tokens_after_it(monkeypatch):
    """The refresh token was valid when checked; the user's logout everywhere committed before the refresh
    saved its tokens. DOT rotated the revoked token anyway and the app kept a working pair."""
    data, user = _refresh_data("loggedout")
    checked, revoked = threading.Event(), threading.Event()
    validate = AccountsOAuth2Validator.validate_refresh_token

    def waits_for_the_logout(self, *args, **kwargs):
        valid = validate(self, *args, **kwargs)
        checked.set()
        assert revoked.wait(WAIT), "the logout did not finish"
        return valid

    monkeypatch.setattr(AccountsOAuth2Validator, "validate_refresh_token", waits_for_the_logout)
    refresh = _refresh_beside_a_revocation(data, user, RevokeReason.LOGOUT_ALL, after=checked, revoked=revoked)
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert _none_live()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_logout_everywhere_during_a_refresh_ends_the_tokens_it_makes(monkeypatch):
    """The refresh holds the user's row while it saves its tokens: a logout everywhere waits for it, then
    sees (and ends) the new tokens. It used to wait only at its access tokens, and then missed the new one
    (with no ID token to wait for first: no openid scope)."""
    data, user = _refresh_data("midrefresh", scope="profile read")
    holding, revoked = threading.Event(), threading.Event()
    make_refresh_token = AccountsOAuth2Validator._create_refresh_token

    def held_for_the_logout(self, *args):
        token = make_refresh_token(self, *args)
        holding.set()
        waited_or_done(revoked)
        return token

    monkeypatch.setattr(AccountsOAuth2Validator, "_create_refresh_token", held_for_the_logout)
    refresh = _refresh_beside_a_revocation(data, user, RevokeReason.PASSWORD_CHANGE, after=holding, revoked=revoked)
    assert refresh.status_code == 200 or refresh.json()["error"] == "invalid_grant", refresh
    assert _none_live()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_many_racing_uses_of_one_refresh_token_leave_nothing_live(monkeypatch):
    """Reuse ends the family (RFC 9700 4.14.2) however many race: once a replay had revoked the family,
    a third use, checked before, minted a fresh pair in it that stayed live."""
    data, _user = _refresh_data("crowd")
    uses = 4
    checked = threading.Barrier(uses)
    validate = AccountsOAuth2Validator.validate_refresh_token

    def all_checked_first(self, *args, **kwargs):
        valid = validate(self, *args, **kwargs)
        checked.wait(WAIT)
        return valid

    monkeypatch.setattr(AccountsOAuth2Validator, "validate_refresh_token", all_checked_first)
    replies = run_parallel(lambda _index: Client().post("/oauth/token/", data), uses, threads=uses)
    assert sum(reply.status_code == 200 for reply in replies) <= 1
    assert all(reply.status_code in (200, 400) for reply in replies)
    assert _none_live()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ending_the_apps_tokens_does_not_deadlock_with_a_mail_being_sent():
    """A password set ends the user's app tokens holding the user's row, then voids the user's mailed codes. A
    reset mail being sent meanwhile holds an old code and, at its commit, checks its new code's foreign key on
    the user's row: a FOR UPDATE hold waited for that check, and the check for the hold (deadlock detected)."""
    user = UserFactory(username="mailed")
    passwords.password_reset_send(user=user)  # an unused code the password set will void
    mail_locked, password_done = threading.Event(), threading.Event()

    def work(index: int) -> str:
        if index == 0:
            with transaction.atomic():
                passwords.password_reset_send(user=type(user).objects.get(pk=user.pk))
                mail_locked.set()
                waited_or_done(password_done)  # the password set waits for this transaction's code row
            return "mail"
        assert mail_locked.wait(WAIT)
        try:
            passwords.password_set(user=type(user).objects.get(pk=user.pk), password="An0ther-Horse-Battery",
                                   actor=None, reason=RevokeReason.PASSWORD_SET)
        finally:
            password_done.set()
        return "password"

    assert run_parallel(work, 2, threads=2) == ["mail", "password"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refresh_refused_after_a_logout_everywhere_leaves_no_id_token(monkeypatch):
    """The refresh saves its ID token (scope openid) before it holds the user's row and finds its refresh token
    revoked: the logout, done by then, could not delete it, and nothing ever pointed at it or sent it."""
    data, user = _refresh_data("idtoken")
    checked, revoked = threading.Event(), threading.Event()
    validate = AccountsOAuth2Validator.validate_refresh_token

    def waits_for_the_logout(self, *args, **kwargs):
        valid = validate(self, *args, **kwargs)
        checked.set()
        assert revoked.wait(WAIT), "the logout did not finish"
        return valid

    monkeypatch.setattr(AccountsOAuth2Validator, "validate_refresh_token", waits_for_the_logout)
    refresh = _refresh_beside_a_revocation(data, user, RevokeReason.LOGOUT_ALL, after=checked, revoked=revoked)
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert _none_live()
    assert not IDToken.objects.filter(user=user).exists()


def _refresh_beside_the_app_ending(data: dict, end, *, after: threading.Event, ended: threading.Event):
    """A refresh (`data`) in one thread and, once `after` is set, `end()` (the app's owner frozen, the app
    deleted) in another (`ended` set when it is done); answers both replies."""

    def use(index: int):
        if index == 0:
            return Client().post("/oauth/token/", data)
        assert after.wait(WAIT), "the refresh never got there"
        try:
            return end()
        finally:
            ended.set()

    return run_parallel(use, 2, threads=2)


def _held_while_saving(monkeypatch, holding: threading.Event, ended: threading.Event) -> None:
    make_refresh_token = AccountsOAuth2Validator._create_refresh_token

    def held(self, *args):
        token = make_refresh_token(self, *args)
        holding.set()
        waited_or_done(ended)
        return token

    monkeypatch.setattr(AccountsOAuth2Validator, "_create_refresh_token", held)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_apps_owner_frozen_during_a_refresh_ends_the_tokens_it_makes(monkeypatch):
    """The owner leaving 'active' ends every token of the owner's apps (contract section 6). A refresh saving its
    tokens held the end user's row, not the owner's: the freeze's delete of the app's access tokens waited for the
    rotated one and then missed the new one, which worked again once the owner was active."""
    data, _user = _refresh_data("ownerfrozen", scope="profile read")
    application = applications.Application.objects.get(client_id=data["client_id"])
    holding, ended = threading.Event(), threading.Event()
    _held_while_saving(monkeypatch, holding, ended)
    refresh, _ = _refresh_beside_the_app_ending(
        data, lambda: users.user_status_set(user=application.user, status=UserStatus.FROZEN, actor=None),
        after=holding, ended=ended)
    assert refresh.status_code == 200 or refresh.json()["error"] == "invalid_grant", refresh
    assert _none_live()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_deleting_the_app_during_a_refresh_ends_the_tokens_it_makes(monkeypatch):
    """Deleting an app takes every token along, whenever a refresh of one of them saves its new pair."""
    data, _user = _refresh_data("appdeleted", scope="profile read")
    application = applications.Application.objects.get(client_id=data["client_id"])
    holding, ended = threading.Event(), threading.Event()
    _held_while_saving(monkeypatch, holding, ended)
    refresh, deleted = _refresh_beside_the_app_ending(
        data, lambda: applications.application_delete(application=application, actor=None),
        after=holding, ended=ended)
    assert not isinstance(deleted, Exception), deleted
    assert refresh.status_code == 200 or refresh.json()["error"] == "invalid_grant", refresh
    assert not applications.Application.objects.filter(pk=application.pk).exists()
    assert _none_live()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_developer_mode_turned_on_twice_at_once_makes_one_app(monkeypatch):
    """PATCH /auth/me {"is_developer": true} twice at once (a double click): the second waits for the first and
    answers the summary, without a secret. It looked for a developer without holding the row of one who was not
    yet, and made a second app with a second secret."""
    user = UserFactory(username="doubleclick")
    first_saved, second_done = threading.Event(), threading.Event()
    record = applications.audit_record

    def first_waits(*args, **kwargs):
        event = record(*args, **kwargs)
        if threading.current_thread().name == "first" and kwargs["action"] == applications.AuditAction.OAUTH_APP_CREATE:
            first_saved.set()
            waited_or_done(second_done)  # the second either waits for this transaction or has finished
        return event

    def turn_on(index: int):
        threading.current_thread().name = ("first", "second")[index]
        if index == 1:
            assert first_saved.wait(WAIT), "the first never made its app"
        try:
            return users.me_update(user=type(user).objects.get(pk=user.pk), is_developer=True)
        finally:
            if index == 1:
                second_done.set()

    monkeypatch.setattr(applications, "audit_record", first_waits)
    first, second = run_parallel(turn_on, 2, threads=2)
    assert first is not None and first.client_secret and second is None, (first, second)
    assert applications.Application.objects.filter(user=user).count() == 1
