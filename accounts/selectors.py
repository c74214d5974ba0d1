"""Shared reads of accounts data."""

import functools
import weakref
from typing import Any

from django.contrib.auth.hashers import get_hasher, identify_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import connection, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import (
    MfaMethod,
    Passkey,
    RecoveryCode,
    Session,
    TotpDevice,
    User,
    UserStatus,
    may_name_an_account,
)
from accountsite import policy
from accountsite.db import CompiledQuery, Converters, converted, converters_of, prepared_cursor
from accountsite.errors import NotAuthenticatedError, NotFoundError
from accountsite.policy import ANOTHER_ACCOUNT, Caller, Op


def user_for_login(login: str) -> User | None:
    """The user a login string names: a login name first, else an e-mail address (both case-insensitive).

    Deleted accounts are invisible here, so signing in with one looks exactly like an unknown name.
    """
    login = login.strip()
    if not login or not may_name_an_account(login):
        return None
    candidates = _login_candidates(login)
    for user in candidates:
        if user.username.lower() == login.lower():
            return user
    return candidates[0] if candidates else None


@CompiledQuery
def _login_candidates(login: str) -> QuerySet[User]:
    """At most two users a login string may name, with their second factors: compiled once (every sign-in
    asks it, and building it cost more than running it)."""
    return _with_factor_flags(User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login))
                              .exclude(status=UserStatus.DELETED))[:2]


def burn_password_hash(password: str) -> None:
    """Spend the time of one password hash, for callers whose user does not exist."""
    make_password(password)


def password_matches(user: User, password: str) -> bool:
    """user.check_password, at the cost of at least one hash of the current hasher when it is wrong. Django
    evens out the time of an unusable password, not of a hash in an older, cheaper format (an imported MD5
    is checked in microseconds): a wrong password there would answer faster than an unknown name, which
    tells which names are accounts not yet signed in to since their import."""
    if user.check_password(password):
        return True
    try:
        current = identify_hasher(user.password).algorithm == get_hasher().algorithm
    except ValueError:  # unusable or unknown: Django spent a hash already
        current = True
    if not current:
        burn_password_hash(password)
    return False


@functools.cache
def _live_session_sql() -> str:
    """The session and its user in one statement, written out once: it runs on every authenticated request,
    and building and compiling the same QuerySet each time cost more than the query itself."""
    quote = connection.ops.quote_name

    def column(field: Any) -> str:
        return quote(field.column)

    session, user = Session._meta, User._meta
    columns = [f"s.{column(f)}" for f in session.concrete_fields] + [f"u.{column(f)}" for f in user.concrete_fields]
    return (f"SELECT {', '.join(columns)} FROM {quote(session.db_table)} s "  # noqa: S608 (names from the models)
            f"JOIN {quote(user.db_table)} u ON u.{column(user.pk)} = s.{column(Session.user.field)} "
            f"WHERE s.{column(session.pk)} = %s AND s.{column(session.get_field('revoked_at'))} IS NULL "
            f"AND s.{column(session.get_field('expires_at'))} > %s")


_converters: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, tuple[Converters, Converters]]" = (
    weakref.WeakKeyDictionary())


def live_session(session_id: str) -> Session | None:
    """The session with its user in one query, or None if it is unknown, revoked or expired."""
    db = connections[router.db_for_read(Session)]
    try:
        key = Session._meta.pk.get_db_prep_value(session_id, db)
    except ValidationError:
        return None
    with prepared_cursor(db.alias) as cursor:
        cursor.execute(_live_session_sql(), [key, db.ops.adapt_datetimefield_value(timezone.now())])
        row = cursor.fetchone()
    if row is None:
        return None
    session_fields, user_fields = Session._meta.concrete_fields, User._meta.concrete_fields
    if db not in _converters:  # per connection object: a converter is a method of its connection
        _converters[db] = (converters_of(list(session_fields), db), converters_of(list(user_fields), db))
    session_converters, user_converters = _converters[db]
    split = len(session_fields)
    session = Session.from_db(db.alias, [f.attname for f in session_fields],
                              converted(row[:split], session_converters, db))
    user = User.from_db(db.alias, [f.attname for f in user_fields], converted(row[split:], user_converters, db))
    Session.user.field.set_cached_value(session, user)
    return session


def live_sessions_of(user: User) -> QuerySet[Session]:
    return Session.objects.filter(Session.live(timezone.now()), user=user).order_by(
        "-last_seen_at"
    )


def users_in_order() -> QuerySet[User]:
    """Users in a stable order (every user reply reads its one row, tier included)."""
    return User.objects.order_by("id")


def user_visible_to(loginname: str, caller: Caller) -> User:
    """The user named `loginname` (case-insensitively), as `caller` may see them: deleted accounts exist
    only for operators who may view users; to anyone else they are unknown (404)."""
    if not may_name_an_account(loginname):
        raise NotFoundError("No such user.")
    users = users_in_order().filter(username__iexact=loginname)
    if not policy.allows(caller, Op.USER_VIEW, ANOTHER_ACCOUNT):
        users = users.exclude(status=UserStatus.DELETED)
    user = users.first()
    if user is None:
        raise NotFoundError("No such user.")
    return user


def user_named(loginname: str, caller: Caller) -> User:
    """user_visible_to, without a query when `loginname` names the signed-in caller themselves: the user
    that authentication read for this request. Login names are ASCII (LOGIN_NAME_VALIDATOR), so comparing
    them in lower case is what `username__iexact` does; a deleted caller or anyone else is looked up."""
    user = caller.user
    if (isinstance(user, User) and user.status != UserStatus.DELETED and may_name_an_account(loginname)
            and loginname.lower() == user.username.lower()):
        return user
    return user_visible_to(loginname, caller)


def user_acted_on(loginname: str, caller: Caller, *, op: Op, seen_with: Op) -> User:
    """The user a path names, if `caller` may do `op` to them. A caller who may not do `seen_with` to them
    (read that part of their account) gets the 404 of an unknown name, so a stranger learns nothing; one
    who may read it but not do `op` gets 7006."""
    user = user_named(loginname, caller)
    if not policy.allows(caller, seen_with, user):
        raise NotFoundError("No such user.")
    policy.authorize(caller, op, user)
    return user


def signed_in(request: HttpRequest) -> User:
    """The signed-in user of a request that the policy let through as such (7005 if there is none)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticatedError()
    return user


def _with_factor_flags(users: QuerySet[User]) -> QuerySet[User]:
    """Users with their second factors as flags (what mfa_methods reads), so a sign-in asks in one query."""
    return users.annotate(
        factor_totp=Exists(TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)),
        factor_passkey=Exists(Passkey.objects.filter(user=OuterRef("pk"))),
        factor_recovery=Exists(RecoveryCode.objects.filter(user=OuterRef("pk"), used_at__isnull=True)),
    )


def mfa_methods(user: User) -> list[MfaMethod]:
    """The second factors `user` may sign in with (none: MFA is off): read with the user by user_for_login,
    else in one query."""
    if not hasattr(user, "factor_totp"):
        flagged = _with_factor_flags(User.objects.filter(pk=user.pk)).first()
        user = flagged if flagged is not None else user
    totp, passkey, recovery = (getattr(user, name, False) for name in ("factor_totp", "factor_passkey",
                                                                         "factor_recovery"))
    if not (totp or passkey):
        return []
    return [method for method, present in ((MfaMethod.TOTP, totp), (MfaMethod.WEBAUTHN, passkey),
                                           (MfaMethod.RECOVERY_CODE, recovery)) if present]
