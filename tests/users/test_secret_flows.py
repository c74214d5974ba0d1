"""Activation, password reset and e-mail change end to end, through a real SMTP server on loopback."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AccountSecret, AuditEvent, SecretPurpose, Session, User, UserStatus
from accounts.services import codes, passwords, users
from accounts.services.email import email_change_confirm
from accountsite import errors
from accountsite.errors import InvalidSecretError
from tests.conftest import REFUSED_ROLES, client_for, envelope
from tests.factories import PASSWORD, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Brand-new-passw0rd"


def login(client, username: str, password: str):
    return client.post("/auth/login", {"username": username, "password": password}, format="json")


# --- Activation --------------------------------------------------------------------------------------------------

def test_activation_flow_through_smtp(anon_client, smtp_inbox, settings, django_capture_on_commit_callbacks):
    settings.ACCOUNTS_ACTIVATION_REQUIRED = True
    settings.ACCOUNTS_ACTIVATION_URL = "https://app.example/activate?user={loginname}&sid={sid}"
    with django_capture_on_commit_callbacks(execute=True):
        body = envelope(anon_client.post("/auth/register", {"username": "carol@example.com", "password": PASSWORD,
                                                             "email": "carol@example.com"}, format="json"), status=201)
    assert "access" not in body["data"] and body["data"]["user"]["status"] == UserStatus.INACTIVE
    [message] = smtp_inbox.to("carol@example.com")
    assert message["Subject"] == "Activate your accountsite account"
    sid = smtp_inbox.sid(message)
    assert len(sid) >= 43  # 256 bits, url-safe base64
    assert "https://app.example/activate?user=carol%40example.com&amp;sid=" + sid in smtp_inbox.html(message)
    assert not AccountSecret.objects.filter(secret_hash=sid).exists()  # only the hash is stored
    envelope(login(anon_client, "carol@example.com", PASSWORD), errors.AccountNotActivatedError)

    envelope(anon_client.put("/users/carol@example.com/active", {"sid": sid}, format="json"), status=200)
    carol = User.objects.get(username="carol@example.com")
    assert carol.status == UserStatus.ACTIVE and carol.email_verified
    envelope(login(anon_client, "carol@example.com", PASSWORD), status=200)
    envelope(anon_client.put("/users/carol@example.com/active", {"sid": sid}, format="json"), errors.InvalidSecretError)


def test_user_create_sends_activation_when_required(anon_client, settings, django_capture_on_commit_callbacks):
    settings.ACCOUNTS_ACTIVATION_REQUIRED = True
    with django_capture_on_commit_callbacks(execute=True):
        envelope(anon_client.post("/users/dan", {"passwd": PASSWORD, "email": "dan@example.com"}, format="json"),
                 status=201)
        # Without an address the account could never be activated, and its name never freed.
        body = envelope(anon_client.post("/users/nomail", {"passwd": PASSWORD}, format="json"),
                        errors.InvalidParametersError)
        envelope(anon_client.post("/auth/register", {"username": "nomail", "password": PASSWORD}, format="json"),
                 errors.InvalidParametersError)
    assert list(body["error"]) == ["email"]
    assert [m.to for m in mail.outbox] == [["dan@example.com"]]
    assert not User.objects.filter(username="nomail").exists()


def test_rolled_back_creation_sends_nothing(anon_client, settings, django_capture_on_commit_callbacks, user):
    settings.ACCOUNTS_ACTIVATION_REQUIRED = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        envelope(anon_client.post("/users/alice", {"passwd": PASSWORD, "email": "x@example.com"}, format="json"),
                 errors.LoginNameTakenError)
    assert callbacks == [] and mail.outbox == []


def test_activation_with_wrong_name_or_sid_is_8005(anon_client, django_capture_on_commit_callbacks):
    stranger = UserFactory(username="erin", status=UserStatus.INACTIVE)
    raw, _secret = codes.secret_issue(user=stranger, purpose=SecretPurpose.ACTIVATION)
    before = snapshot()
    for path, sid in [("/users/alice/active", raw), ("/users/erin/active", raw[:-1] + "x"),
                      ("/users/nobody/active", raw)]:
        envelope(anon_client.put(path, {"sid": sid}, format="json"), errors.InvalidSecretError)
    envelope(anon_client.put("/users/erin/active", {}, format="json"), errors.InvalidParametersError)
    before.assert_unchanged()


def test_expired_activation_secret_is_8005():
    erin = UserFactory(username="erin", status=UserStatus.INACTIVE)
    issued = timezone.now()
    raw, secret = codes.secret_issue(user=erin, purpose=SecretPurpose.ACTIVATION, now=issued)
    assert secret.expires_at == issued + timedelta(hours=72)
    with pytest.raises(InvalidSecretError) as caught:
        users.user_activate(loginname="erin", sid=raw, now=secret.expires_at)
    assert caught.value.code == errors.InvalidSecretError.code
    assert User.objects.get(pk=erin.pk).status == UserStatus.INACTIVE
    users.user_activate(loginname="erin", sid=raw, now=secret.expires_at - timedelta(seconds=1))
    assert User.objects.get(pk=erin.pk).status == UserStatus.ACTIVE


def test_resend_replaces_the_code_and_is_throttled(anon_client, settings, django_capture_on_commit_callbacks):
    settings.ACCOUNTS_SECRET_MAILS_PER_ACCOUNT = 2
    UserFactory(username="erin", status=UserStatus.INACTIVE)
    first, _ = codes.secret_issue(user=User.objects.get(username="erin"), purpose=SecretPurpose.ACTIVATION)
    with django_capture_on_commit_callbacks(execute=True):
        envelope(anon_client.post("/users/erin/active/resend"), status=200)
    assert len(mail.outbox) == 1
    envelope(anon_client.put("/users/erin/active", {"sid": first}, format="json"),
             errors.InvalidSecretError)  # replaced
    envelope(anon_client.post("/users/erin/active/resend/"), status=200)
    reply = anon_client.post("/users/erin/active/resend")
    envelope(reply, errors.TooManyRequestsError)
    assert int(reply["Retry-After"]) > 0


def test_resend_for_active_or_unknown_user_sends_nothing(anon_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        active = anon_client.post("/users/alice/active/resend")
        unknown = anon_client.post("/users/nobody/active/resend")
    assert active.content == unknown.content and mail.outbox == []


# --- Password reset ----------------------------------------------------------------------------------------------

def test_reset_flow_through_smtp(anon_client, user, smtp_inbox, settings, django_capture_on_commit_callbacks):
    settings.ACCOUNTS_RESET_URL = "https://app.example/reset?user={loginname}&sid={sid}"
    signed_in = client_for(user, terminal="laptop")
    with django_capture_on_commit_callbacks(execute=True):
        envelope(anon_client.put("/users/alice/forget/pwd"), status=200)
    [message] = smtp_inbox.to("alice@example.com")
    assert message["Subject"] == "Reset your accountsite password"
    text = smtp_inbox.text(message)
    sid = smtp_inbox.sid(message)
    assert f"https://app.example/reset?user=alice&sid={sid}" in text

    envelope(anon_client.put("/users/alice/pwd/reset", {"sid": sid, "passwd": "short"}, format="json"),
             errors.InvalidParametersError)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)  # a refused password keeps the code usable
    envelope(anon_client.put("/users/alice/pwd/reset", {"sid": sid, "passwd": NEW_PASSWORD}, format="json"))
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    envelope(signed_in.get("/auth/me"), errors.NotAuthenticatedError)
    envelope(login(anon_client, "alice", PASSWORD), errors.WrongPasswordError, status=401)
    envelope(login(anon_client, "alice", NEW_PASSWORD), status=200)
    envelope(anon_client.put("/users/alice/pwd/reset", {"sid": sid, "passwd": PASSWORD + "2"}, format="json"),
             errors.InvalidSecretError)
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_expired_reset_secret_is_8005(user):
    issued = timezone.now()
    raw, secret = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET, now=issued)
    assert secret.expires_at == issued + timedelta(hours=1)
    with pytest.raises(InvalidSecretError):
        passwords.password_reset(loginname="alice", sid=raw, password=NEW_PASSWORD,
                                now=issued + timedelta(minutes=61))
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_reset_secret_is_bound_to_its_purpose_and_user(anon_client, user, other):
    raw, _ = codes.secret_issue(user=user, purpose=SecretPurpose.ACTIVATION)
    envelope(anon_client.put("/users/alice/pwd/reset", {"sid": raw, "passwd": NEW_PASSWORD}, format="json"),
             errors.InvalidSecretError)
    raw, _ = codes.secret_issue(user=user, purpose=SecretPurpose.PASSWORD_RESET)
    envelope(anon_client.put("/users/bob/pwd/reset", {"sid": raw, "passwd": NEW_PASSWORD}, format="json"),
             errors.InvalidSecretError)
    assert User.objects.get(pk=other.pk).check_password(PASSWORD)


def test_forget_password_reply_is_identical_for_missing_accounts(anon_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        existing = anon_client.put("/users/alice/forget/pwd")
        missing = anon_client.put("/users/nobody/forget/pwd")
    assert (existing.status_code, existing.content) == (missing.status_code, missing.content)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


@pytest.mark.parametrize(("method", "action"), [("put", "forget/pwd"), ("post", "active/resend")])
def test_a_name_longer_than_any_login_name_is_refused_before_the_outbox(anon_client, method, action):
    """No account can have it: it is 1007, and neither the outbox nor the throttle keeps 5,000 characters."""
    before = snapshot()
    reply = getattr(anon_client, method)(f"/users/{'n' * 5000}/{action}")
    body = envelope(reply, errors.InvalidParametersError)
    assert "at most 64 characters" in body["msg"] and "n" * 65 not in reply.content.decode()
    before.assert_unchanged()
    envelope(getattr(anon_client, method)(f"/users/{'n' * 64}/{action}"))  # the longest name is one


def test_login_reply_is_identical_for_missing_accounts(anon_client, user):
    existing = login(anon_client, "alice", "wrong-password-1")
    missing = login(anon_client, "nobody", "wrong-password-1")
    assert (existing.status_code, existing.content) == (missing.status_code, missing.content) == (
        401, existing.content)


def test_forget_password_is_throttled_the_same_for_missing_accounts(anon_client, user, settings):
    settings.ACCOUNTS_SECRET_MAILS_PER_ACCOUNT = 1
    for name in ("alice", "nobody"):
        envelope(anon_client.put(f"/users/{name}/forget/pwd"), status=200)
        envelope(anon_client.put(f"/users/{name}/forget/pwd"), errors.TooManyRequestsError)


def test_frozen_user_gets_no_reset_mail(anon_client, django_capture_on_commit_callbacks):
    UserFactory(username="ice", status=UserStatus.FROZEN)
    with django_capture_on_commit_callbacks(execute=True):
        envelope(anon_client.put("/users/ice/forget/pwd"), status=200)
    assert mail.outbox == []


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_a_reset_mail_states_when_its_code_expires_in_the_service_zone(anon_client, user, settings, zone,
                                                                       django_capture_on_commit_callbacks):
    """The time was written in the configured zone and labelled UTC: 8 hours off in Shanghai."""
    settings.TIME_ZONE = zone
    with django_capture_on_commit_callbacks(execute=True):
        envelope(anon_client.put("/users/alice/forget/pwd"), status=200)
    expires = timezone.localtime(AccountSecret.objects.get(user=user).expires_at)
    [message] = mail.outbox
    stated = f"{expires:%Y-%m-%d %H:%M} {expires.tzname()}"
    assert stated in message.body and stated in message.alternatives[0][0]


# --- E-mail change ------------------------------------------------------------------------------------------------

def test_email_change_flow_through_smtp(user_client, user, smtp_inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        envelope(user_client.put("/users/alice/email", {"email": "alice@new.example", "password": PASSWORD},
                                 format="json"))
    assert User.objects.get(pk=user.pk).email == "alice@example.com"  # unchanged until confirmed
    [code_mail] = smtp_inbox.to("alice@new.example")
    [notice] = smtp_inbox.to("alice@example.com")
    assert notice["Subject"] == "Your accountsite e-mail address is being changed"
    assert "a***@new.example" in smtp_inbox.text(notice) and "sid" not in smtp_inbox.text(notice)
    sid = smtp_inbox.sid(code_mail)

    body = envelope(user_client.post("/users/alice/email/verify", {"sid": sid}, format="json"))
    assert body["data"]["email"] == "alice@new.example" and body["data"]["email_verified"] is True
    envelope(user_client.post("/users/alice/email/verify", {"sid": sid}, format="json"), errors.InvalidSecretError)
    assert User.objects.get(pk=user.pk).email == "alice@new.example"


@pytest.mark.parametrize("taken", ["BOB@example.com", "carol@example.com"])
def test_email_change_to_a_taken_address_answers_alike_and_tells_the_owner(
        user_client, other, taken, django_capture_on_commit_callbacks):
    """Whether an address is registered is nobody's business: the reply is the one a free address gets,
    no code is sent, and the owner is told someone tried (hole 10 of the trust-boundary issue). An
    address that is someone's login name counts as taken too."""
    UserFactory(username="carol@example.com", email=None)
    # Both requests are accepted and audited alike (an e-mail change request each); nothing else may change.
    before = snapshot(ignore=[AuditEvent])
    with django_capture_on_commit_callbacks(execute=True):
        free = user_client.put("/users/alice/email", {"email": "free@example.com", "password": PASSWORD},
                               format="json")
    mail.outbox.clear()
    AccountSecret.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        reply = user_client.put("/users/alice/email", {"email": taken, "password": PASSWORD}, format="json")
    assert reply.json() == free.json() == {"code": 0, "msg": "ok", "data": None}
    before.assert_unchanged()
    assert not AccountSecret.objects.exists()
    sent = {message.to[0]: message.body for message in mail.outbox}
    if taken.startswith("BOB"):
        assert sorted(sent) == ["alice@example.com", "bob@example.com"]
        assert "already belongs to your account" in sent["bob@example.com"]
    else:
        assert sorted(sent) == ["alice@example.com"]  # the login name's owner has no address to tell


def test_a_deleted_accounts_address_is_taken_but_its_owner_is_not_told(user_client, other,
                                                                      django_capture_on_commit_callbacks):
    """An unregistered account keeps its address reserved until it is purged, so no code goes out for it and
    the reply is a free address's; but whoever left gets no more mail, which anyone could otherwise send them
    by asking for their address."""
    users.user_delete(user=other, actor=other)
    with django_capture_on_commit_callbacks(execute=True):
        reply = user_client.put("/users/alice/email", {"email": "Bob@example.com", "password": PASSWORD},
                                format="json")
    assert reply.json() == {"code": 0, "msg": "ok", "data": None}
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]  # only alice's own notice
    assert mail.outbox[0].subject == "Your accountsite e-mail address is being changed"
    assert not AccountSecret.objects.exists()


def test_email_change_needs_the_current_password(user_client, user):
    before = snapshot()
    envelope(user_client.put("/users/alice/email", {"email": "new@example.com", "password": "wrong-password-1"},
                             format="json"), errors.WrongPasswordError)
    before.assert_unchanged()
    assert not AccountSecret.objects.exists() and mail.outbox == []


def test_email_taken_between_request_and_confirm_is_8003(user_client, user):
    raw, _ = codes.secret_issue(user=user, purpose=SecretPurpose.EMAIL_CHANGE, new_email="late@example.com")
    UserFactory(username="late", email="late@example.com")
    envelope(user_client.post("/users/alice/email/verify", {"sid": raw}, format="json"), errors.EmailTakenError)
    assert User.objects.get(pk=user.pk).email == "alice@example.com"
    assert AccountSecret.objects.get(user=user).used_at is None


def test_expired_email_change_secret_is_8005(user):
    issued = timezone.now()
    raw, secret = codes.secret_issue(user=user, purpose=SecretPurpose.EMAIL_CHANGE,
                                        new_email="n@example.com", now=issued)
    with pytest.raises(InvalidSecretError):
        email_change_confirm(user=user, sid=raw, now=secret.expires_at + timedelta(seconds=1))
    assert User.objects.get(pk=user.pk).email == "alice@example.com"


@pytest.mark.parametrize("data", [
    {"email": "not-an-address", "password": PASSWORD}, {},
    {"email": "ALICE@example.com", "password": PASSWORD}, {"email": "n@example.com"},
])
def test_email_change_bad_input(user_client, data):
    before = snapshot()
    envelope(user_client.put("/users/alice/email", data, format="json"), errors.InvalidParametersError)
    before.assert_unchanged()


# Only the user themself changes their e-mail address: no operator power covers it.
EMAIL_CHANGE = [("anonymous", errors.NotAuthenticatedError), ("self", None), ("other", errors.PermissionDeniedError),
                ("admin", errors.PermissionDeniedError), *REFUSED_ROLES.items()]


@pytest.mark.parametrize(("actor", "error"), EMAIL_CHANGE)
def test_email_change_matrix(caller_client, actor, error):
    envelope(caller_client(actor).put("/users/alice/email", {"email": "a2@example.com", "password": PASSWORD},
                                      format="json"), error, status=None if error else 200)
    assert AccountSecret.objects.filter(user__username="alice").exists() == (error is None)


@pytest.mark.parametrize(("actor", "error"), EMAIL_CHANGE)
def test_email_verify_matrix(caller_client, actor, error):
    alice = User.objects.get(username="alice")
    raw, _ = codes.secret_issue(user=alice, purpose=SecretPurpose.EMAIL_CHANGE, new_email="a2@example.com")
    envelope(caller_client(actor).post("/users/alice/email/verify", {"sid": raw}, format="json"), error,
             status=None if error else 200)
    assert User.objects.get(pk=alice.pk).email == ("a2@example.com" if error is None else "alice@example.com")


@pytest.mark.parametrize("target", ["victim@example.org", "BOB@example.com"])
def test_many_accounts_cannot_flood_one_address_through_email_change(
        other, target, settings, django_capture_on_commit_callbacks):
    """The cap on code mails was counted per asking account and per client: accounts that each stayed under
    it, from several addresses, sent one inbox (a registered one's owner notices, a free one codes) as many
    mails as they liked. The address is capped like an account name, and the reply does not tell whether it
    is registered."""
    settings.ACCOUNTS_SECRET_MAILS_PER_ACCOUNT = 2
    callers = [client_for(UserFactory(username=f"sender{n}")) for n in range(3)]
    replies = []
    for n, caller in enumerate(callers):
        with django_capture_on_commit_callbacks(execute=True):
            replies.append(caller.put(f"/users/sender{n}/email", {"email": target, "password": PASSWORD},
                                      format="json", REMOTE_ADDR=f"192.0.2.{n + 1}"))
    assert [reply.json()["code"] for reply in replies] == [0, 0, errors.TooManyRequestsError.code]
    assert len([message for message in mail.outbox if message.to[0].lower() == target.lower()]) == 2
