"""Bulk work on accounts: importing legacy accounts, and purging deleted ones."""

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, PBKDF2PasswordHasher
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import (
    EMAIL_VALIDATORS,
    LOGIN_NAME_VALIDATOR,
    AccountSecret,
    RevokeReason,
    Session,
    User,
    UserStatus,
)
from accounts.plans import KEEP, plans
from accounts.services.sessions import user_credentials_revoke
from accounts.services.users import PROFILE_FIELDS, identity_assert_free
from accountsite import errors
from accountsite.audit import AuditAction, audit_record
from accountsite.text import ONE_LINE

_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}\Z")


_PBKDF2 = re.compile(r"^pbkdf2_sha256\$(?P<iterations>[0-9]+)\$(?P<salt>[^$]+)\$(?P<digest>[A-Za-z0-9+/=]+)\Z")
# Every sign-in to the account runs this many rounds, on a worker, for anyone who types its name: a count
# past any real hasher's (Django's default is PBKDF2_ITERATIONS_MAX / 2) held a worker for minutes, and one
# past a C long made every sign-in a 500. A PBKDF2-SHA256 digest is 32 bytes; any other can never match.
PBKDF2_ITERATIONS_MAX = 2 * PBKDF2PasswordHasher.iterations
PBKDF2_DIGEST_BYTES = 32


_PURGED_NAME = r"^deleted-[0-9]+-[0-9a-f]{8}$"

# What no column may hold, whatever its own rule: PostgreSQL refuses NUL in text outright (a DataError
# mid-import), and the API refuses it in every field (DRF's CharField); a line break inside a quoted field
# would become part of a name or a hash.
_FORBIDDEN = {"\x00": "NUL", "\r": "carriage return", "\n": "line break"}

COLUMNS = ("loginname", "email", "nickname", "hash")
EMAIL_COLUMN_LENGTH = cast(int, User._meta.get_field("email").max_length)
PASSWORD_COLUMN_LENGTH = cast(int, User._meta.get_field("password").max_length)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def _imported_password(value: str) -> str:
    """The stored form of a legacy hash: hex MD5 for LegacyUnsaltedMD5PasswordHasher, or Django PBKDF2 that
    fits the password column."""
    if _MD5_HEX.match(value):
        return f"unsalted_md5$${value.lower()}"
    pbkdf2 = _PBKDF2.match(value)
    if pbkdf2 and len(value) <= PASSWORD_COLUMN_LENGTH:
        if not 1 <= int(pbkdf2["iterations"]) <= PBKDF2_ITERATIONS_MAX:
            raise errors.InvalidParametersError(f"hash: a pbkdf2_sha256 hash has 1 to {PBKDF2_ITERATIONS_MAX:,} "
                                                "iterations")
        try:
            digest = base64.b64decode(pbkdf2["digest"], validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != PBKDF2_DIGEST_BYTES:
            raise errors.InvalidParametersError("hash: a pbkdf2_sha256 digest is 32 bytes in base64")
        # In Django's own spelling, which its check compares as text: iterations without leading zeros, the
        # digest's base64 without stray bits. As given, a hash that decodes right could never match.
        iterations, salt = int(pbkdf2["iterations"]), pbkdf2["salt"]
        return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"
    raise errors.InvalidParametersError("hash: neither a hex MD5 nor a pbkdf2_sha256 hash")


def _imported_user(row: dict[str, str]) -> User:
    """The unsaved user a CSV row describes, or InvalidParametersError naming the first bad column."""
    if None in row:  # csv.DictReader's key for the fields past the header's: the row is not what it seems
        raise errors.InvalidParametersError(f"{len(row[None])} field(s) more than the header names")  # type: ignore[index]
    for column in COLUMNS:
        for char, name in _FORBIDDEN.items():
            if char in (row.get(column) or ""):
                raise errors.InvalidParametersError(f"{column}: must not contain a {name} character")
    username = (row.get("loginname") or "").strip()
    email = (row.get("email") or "").strip() or None
    nickname = (row.get("nickname") or "").strip()
    checks: list[tuple[str, Callable[[str], None], str]] = [("loginname", LOGIN_NAME_VALIDATOR, username)]
    if email:  # the rules of User.email: Django's e-mail check, ASCII, a domain name, at most 254 characters
        rules: list[Callable[[str], None]] = [validate_email, *EMAIL_VALIDATORS,
                                              MaxLengthValidator(EMAIL_COLUMN_LENGTH)]
        checks += [("email", validator, email) for validator in rules]
    for column, validator, value in checks:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise errors.InvalidParametersError(f"{column}: {exc.messages[0]}") from None
    if len(nickname) > 64:
        raise errors.InvalidParametersError("nickname: at most 64 characters")
    try:  # the rule every other door applies to names (accountsite.text)
        ONE_LINE(nickname)
    except DjangoValidationError as exc:
        raise errors.InvalidParametersError(f"nickname: {exc.messages[0]}") from None
    user = User(username=username, email=email, nickname=nickname, status=UserStatus.ACTIVE)
    user.password = _imported_password((row.get("hash") or "").strip())
    return user


def users_import(*, rows: Iterable[tuple[int, dict[str, str]]], dry_run: bool = False,
                 actor: User | None = None) -> ImportReport:
    """Legacy accounts from CSV rows (line number, columns loginname, email, nickname, hash). Each row is
    its own transaction: a bad or duplicate row is reported and skipped, never half-imported. Passwords
    are re-hashed with Argon2id at each user's first successful login."""
    report = ImportReport()
    seen: set[str] = set()  # names and addresses earlier in the file (one namespace, as in the database)
    for line, row in rows:
        try:
            user = _imported_user(row)
            keys = {user.username.lower(), (user.email or "").lower()} - {""}
            if keys & seen:
                raise errors.InvalidParametersError("duplicate of an earlier row")
            with transaction.atomic():
                identity_assert_free(username=user.username, email=user.email)
                if not dry_run:
                    user.save()
                    plans().account_open(user=user, now=timezone.now())
                    audit_record(action=AuditAction.USER_IMPORT, user=user, actor=actor)
            seen |= keys
            report.created.append(user.username)
        except (errors.ServiceError, IntegrityError) as exc:
            report.skipped.append((line, str(exc)))
    return report


@transaction.atomic
def user_anonymise(*, user: User, actor: User | None, now: datetime | None = None) -> User:
    """Frees a deleted user's login name and removes their personal data and powers. The row stays (as
    `deleted-<id>-<random>`) because memberships, ledgers and audit rows refer to it."""
    user_credentials_revoke(user=user, reason=RevokeReason.PURGED, now=now)
    was_admin = user.is_admin
    user.username = f"deleted-{user.pk}-{secrets.token_hex(4)}"
    user.email, user.email_verified = None, False
    for name in PROFILE_FIELDS:
        setattr(user, name, "")
    user.is_staff = user.is_superuser = user.is_developer = False
    user.last_login = None
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    if was_admin:  # the admin tier goes with the role: a restored account would have kept it, and its limits
        plans().account_plan_assign(user=user, actor=actor, user_type=None, expires_at=KEEP, role_changed=True)
    Session.objects.filter(user=user).delete()  # they hold IP addresses and user agents
    AccountSecret.objects.filter(user=user).delete()
    audit_record(action=AuditAction.USER_PURGE, user=user, actor=actor)
    return user


def users_purge_deleted(*, older_than: timedelta, actor: User | None = None, now: datetime | None = None) -> int:
    """`manage.py purge_deleted_users`: anonymises every account deleted more than `older_than` ago."""
    now = now or timezone.now()
    # An account an operator created already deleted (POST /users/{name} with status 7) never changed status:
    # it has been deleted since it was registered. Purged rows carry a name of that form and no usable
    # password; a user may have chosen such a name.
    candidates = (User.objects.alias(deleted_at=Coalesce("status_changed_at", "registered_at"))
                  .filter(status=UserStatus.DELETED, deleted_at__lt=now - older_than)
                  .exclude(username__regex=_PURGED_NAME, password__startswith=UNUSABLE_PASSWORD_PREFIX))
    purged = 0
    for user in candidates.iterator():
        user_anonymise(user=user, actor=actor, now=now)
        purged += 1
    return purged
