"""Changing one's e-mail address: a code to the new address, a notice to the old, then the switch."""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.mail import mail_send
from accounts.models import SecretPurpose, User
from accounts.services.codes import (
    email_masked,
    mail_address,
    secret_mail,
    secret_mail_throttle,
    secret_redeem,
    secrets_void,
)
from accounts.services.passwords import password_check
from accounts.services.users import integrity_as_service_error
from accountsite import errors
from accountsite.audit import AuditAction, audit_record
from accountsite.ratelimit import SECRET_MAILS_PER_ADDRESS


def email_change_request(*, user: User, email: str, password: str, ip: str, now: datetime | None = None) -> None:
    """PUT /users/{loginname}/email: needs the current password (counted like a sign-in). A code goes to
    the new address and a notice to the old one, which keeps working until the code is used.

    The reply is the same whether or not the new address belongs to someone else, so the endpoint cannot
    be used to find out who is registered: in that case no code is sent, and the address's owner is told
    instead that someone tried to use it, unless the account is deleted (its address stays reserved until
    the account is purged, but whoever left is sent no more mail, which anyone could otherwise have sent them).
    """
    secret_mail_throttle(loginname=user.username, ip=ip)
    if user.email and user.email.lower() == email.lower():
        raise errors.InvalidParametersError(
            "Invalid parameters: email: this is already your address.", error={"email": ["Already your address."]}
        )
    password_check(user=user, password=password, ip=ip)
    # Whatever it holds (a code, or a notice to its owner), the new address gets at most the per-name cap of
    # mails a window, however many accounts ask: counted alike whether or not it is registered.
    SECRET_MAILS_PER_ADDRESS.reserve(email)
    with transaction.atomic():
        owner = User.objects.filter(email__iexact=email).exclude(pk=user.pk).first()
        if owner is not None:
            if not owner.is_deleted:
                mail_send(template="email_taken_notice", to=mail_address(owner), context={"user": owner})
        elif not User.objects.name_claimed(email, by_other_than=user):
            secret_mail(user=user, purpose=SecretPurpose.EMAIL_CHANGE, template="email_change",
                        url_template=settings.ACCOUNTS_EMAIL_CHANGE_URL, to=email, now=now, new_email=email)
        if user.email:
            mail_send(template="email_change_notice", to=user.email,
                      context={"user": user, "new_email_masked": email_masked(email)})
        audit_record(action=AuditAction.EMAIL_CHANGE_REQUEST, user=user, actor=user, ip=ip)


@transaction.atomic
def email_change_confirm(*, user: User, sid: str, now: datetime | None = None) -> User:
    """POST /users/{loginname}/email/verify: switches to the confirmed address, unless taken meanwhile."""
    new_email = secret_redeem(loginname=user.username, purpose=SecretPurpose.EMAIL_CHANGE, raw=sid, now=now).new_email
    if not new_email:  # every e-mail change code names its address
        raise errors.InvalidSecretError()
    User.objects.lock_names(new_email)
    if User.objects.name_claimed(new_email, by_other_than=user):
        raise errors.EmailTakenError()
    previous = user.email
    user.email, user.email_verified = new_email, True
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])
    except IntegrityError as exc:
        raise integrity_as_service_error(exc) from None
    # Codes mailed to the old address (a password reset, say) must not outlive the change.
    secrets_void(user=user, now=now)
    audit_record(action=AuditAction.EMAIL_CHANGE, user=user, actor=user, had_email=previous is not None)
    return user
