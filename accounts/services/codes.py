"""E-mailed single-use codes (`sid`): issued, mailed, redeemed, voided, and the activation mails.

A code is 256 random bits of which only the SHA-256 is stored, so a database leak reveals no usable code.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.mail import front_end_link, mail_send
from accounts.models import AccountSecret, SecretPurpose, User, UserStatus, may_name_an_account
from accountsite import errors
from accountsite.outbox import outbox_enqueue
from accountsite.ratelimit import SECRET_MAILS_PER_ACCOUNT, SECRET_MAILS_PER_IP


def _secret_lifetime(purpose: str) -> timedelta:
    lifetimes: dict[str, timedelta] = {
        SecretPurpose.ACTIVATION: timedelta(hours=settings.ACCOUNTS_ACTIVATION_SECRET_HOURS),
        SecretPurpose.PASSWORD_RESET: timedelta(minutes=settings.ACCOUNTS_RESET_SECRET_MINUTES),
        SecretPurpose.EMAIL_CHANGE: timedelta(hours=settings.ACCOUNTS_EMAIL_CHANGE_SECRET_HOURS),
    }
    return lifetimes[purpose]


def _secret_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def secret_issue(*, user: User, purpose: str, new_email: str | None = None,
                 now: datetime | None = None) -> tuple[str, AccountSecret]:
    """A new secret (256 random bits) and its stored row; earlier unused ones of this purpose stop working,
    so only the latest e-mail's code is valid."""
    now = now or timezone.now()
    # Held, as every change of the account holds it first: a code issued at the same instant (two requests, two
    # outbox workers) commits before this one voids what is open, else each voided what it saw and both stayed.
    User.objects.hold(user.pk)
    AccountSecret.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    raw = secrets.token_urlsafe(32)
    secret = AccountSecret.objects.create(
        user=user, purpose=purpose, secret_hash=_secret_digest(raw), new_email=new_email,
        created_at=now, expires_at=now + _secret_lifetime(purpose),
    )
    return raw, secret


def secrets_void(*, user: User, now: datetime | None = None) -> int:
    """Every unused code of the user stops working (activation, reset, e-mail change): called when the
    password or the address changes and when the account leaves 'active', so a code mailed before such
    a change cannot undo it."""
    return AccountSecret.objects.filter(user=user, used_at__isnull=True).update(used_at=now or timezone.now())


def secret_redeem(*, loginname: str, purpose: str, raw: str, now: datetime | None = None) -> AccountSecret:
    """Uses up the secret `raw` of `loginname`, or raises 8005. The use is one conditional UPDATE, so of
    two concurrent uses one wins; callers run it inside the transaction of the change it authorises, so a
    change that fails leaves the secret unused. The user's row is held first (User.objects.hold), as every
    change of the account holds it before its other rows: the change the secret authorises writes it next,
    and an operator's change, holding it, voids the user's secrets (a deadlock the other way round)."""
    now = now or timezone.now()
    secret = (AccountSecret.objects.select_related("user")
              .filter(secret_hash=_secret_digest(raw), purpose=purpose).first())
    if secret is not None:
        User.objects.hold(secret.user_id)
    if (secret is None or secret.user.username.lower() != loginname.lower() or secret.user.is_deleted
            or secret.expires_at <= now
            or not AccountSecret.objects.filter(pk=secret.pk, used_at__isnull=True).update(used_at=now)):
        raise errors.InvalidSecretError()
    secret.used_at = now
    return secret


def secret_mail(*, user: User, purpose: str, template: str, url_template: str, to: str,
                 now: datetime | None, new_email: str | None = None) -> None:
    raw, secret = secret_issue(user=user, purpose=purpose, new_email=new_email, now=now)
    link = front_end_link(url_template, loginname=user.username, sid=raw)
    mail_send(template=template, to=to, context={
        "user": user, "sid": raw, "link": link, "expires_at": secret.expires_at, "new_email": new_email,
    })


def secret_mail_throttle(*, loginname: str, ip: str) -> None:
    """Caps the e-mails one account name and one client may trigger; counted by the name as typed, so an
    unknown name is limited exactly like a real one and the reply reveals nothing."""
    SECRET_MAILS_PER_IP.reserve(ip)
    SECRET_MAILS_PER_ACCOUNT.reserve(loginname.strip().lower())


def secret_mail_request(*, loginname: str, ip: str, task: str) -> None:
    """An anonymous request for an e-mailed code: throttled per name and IP, then left to the outbox as
    `task(loginname=...)`, which mails only if the name is an account that should get it. The request
    does the same work whether or not the account exists, so neither its reply nor its time tells. A name
    longer than any login name is refused (1007) before it reaches the throttle's keys and the outbox."""
    longest = User._meta.get_field("username").max_length or 0
    if len(loginname) > longest:
        raise errors.InvalidParametersError(f"Invalid parameters: a login name has at most {longest} characters.",
                                            error={"loginname": [f"At most {longest} characters."]})
    secret_mail_throttle(loginname=loginname, ip=ip)
    outbox_enqueue(task, loginname=loginname)


def secret_mail_recipient(loginname: str, status: int) -> User | None:
    """The account `loginname` names if it is in `status` and has an address (outbox tasks)."""
    if not may_name_an_account(loginname):
        return None
    return User.objects.filter(username__iexact=loginname, status=status, email__isnull=False).first()


def email_masked(email: str) -> str:
    """An address as a notice to another one writes it: "b***@example.com"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mail_address(user: User) -> str:
    """The account's address, for mail only ever sent to accounts that have one (callers check)."""
    if not user.email:
        raise errors.InvalidParametersError("This account has no e-mail address.")
    return user.email


@transaction.atomic
def activation_send(*, user: User, now: datetime | None = None) -> None:
    secret_mail(user=user, purpose=SecretPurpose.ACTIVATION, template="activation",
                url_template=settings.ACCOUNTS_ACTIVATION_URL, to=mail_address(user), now=now)


def activation_resend(*, loginname: str, ip: str) -> None:
    """Sends a new activation code if `loginname` is an inactive account with an address; the caller's
    reply is the same either way."""
    secret_mail_request(loginname=loginname, ip=ip, task="accounts.services.codes.activation_mail")


def activation_mail(*, loginname: str) -> None:
    """The outbox task of activation_resend."""
    user = secret_mail_recipient(loginname, UserStatus.INACTIVE)
    if user is not None:
        activation_send(user=user)
