"""Signing in and sessions: the credential check and its lockouts, one session per terminal, token
refresh and rotation, and every way a session ends (logout, revocation)."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from accounts import selectors
from accounts.models import AuditEvent, MfaMethod, RevokeReason, Session, User, UserStatus
from accounts.oauth.revocation import access_token_revoke, oauth_tokens_revoke
from accounts.services import security_log
from accounts.tokens import TokenPair, decode_refresh, issued_before, token_pair_for
from accountsite import errors
from accountsite.audit import AuditAction, audit_record, valid_ip
from accountsite.db import converted, converters_of, insert_together, prepared_cursor
from accountsite.ratelimit import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, reserve_together, settle


def user_assert_can_sign_in(user: User) -> None:
    if user.status == UserStatus.INACTIVE:
        raise errors.AccountNotActivatedError()
    if user.status != UserStatus.ACTIVE:
        raise errors.AccountDisabledError()


def account_key(login: str, user: User | None) -> str:
    # Known accounts are counted by id, so switching between login name and e-mail does not reset the
    # count; unknown names are counted by the string, so they lock exactly like real ones.
    return f"user:{user.pk}" if user is not None else f"name:{login.strip().lower()}"


def credentials_verify(*, login: str, password: str, ip: str, status: int = 401) -> User:
    """The user named by `login` if `password` is theirs, under the brute-force limits; a right password
    clears the account's failures only if it is the whole credential (password_is_whole_credential).

    Wrong name and wrong password give the same error at the same cost (one hash). A legacy MD5 or
    PBKDF2 hash is re-hashed with Argon2id by check_password on success.
    """
    user, key = _credentials_judge(login=login, password=password, ip=ip, status=status)
    attempt_settle(ip=ip, key=key, clear=password_is_whole_credential(user))
    return user


def password_is_whole_credential(user: User) -> bool:
    """Whether the password alone (right at a sign-in, or set through a mailed reset code) proves the account,
    and so clears its counted failures: not on an account with a second factor, whose wrong codes count
    there too. Else whoever knows the password, or reads the mail, could clear them every few tries and
    guess codes without end."""
    return not selectors.mfa_methods(user)


def _credentials_judge(*, login: str, password: str, ip: str, status: int) -> tuple[User, str]:
    """The user named by `login` if `password` is theirs, and the key their failures are counted under.
    The attempt still holds its slots under both limits: the caller settles them (attempt_settle)."""
    user = selectors.user_for_login(login)
    key = account_key(login, user)
    # Both counts are taken before the password is judged (and given back if it is right), so attempts
    # made in parallel cannot all pass the check before any of them is counted. One step: an attempt the
    # account's limit refuses gives the IP's slot back (no guess was made from this IP).
    counts = attempt_reserve(ip=ip, key=key)
    if user is None:
        selectors.burn_password_hash(password)  # an unknown name costs one hash too
    if user is None or not selectors.password_matches(user, password):
        # No login name is kept for unknown names, which are sometimes passwords typed in the wrong field.
        attempt_failed(user=user, ip=ip, counts=counts)
        raise errors.WrongPasswordError("Wrong login name or password.", status=status)
    return user, key


def attempt_reserve(*, ip: str, key: str) -> tuple[int, int]:
    """A sign-in attempt's slots under the per-address and per-account limits, taken in one step before its
    credential is judged (a password at sign-in or re-entered, passwords.password_check; a second factor in
    mfa.factor_attempt): refused (1029) past either, the credential left unjudged.
    Answers both counts; the attempt counts as a failure unless attempt_settle gives the slots back."""
    ip_count, account_count = reserve_together((LOGIN_FAILURES_PER_IP, ip), (LOGIN_FAILURES_PER_ACCOUNT, key))
    return ip_count, account_count


def attempt_failed(*, user: User | None, ip: str, counts: tuple[int, int], **data: Any) -> None:
    """The audit row of a wrong password, judged under the slots attempt_reserve answered the `counts` of:
    one row per failure (none on success, none for attempts refused while locked, which cost no hash), and
    the failure that reaches a limit is the lockout, naming the limits it reached."""
    ip_count, account_count = counts
    locked = [scope for scope, count, limit in (("account", account_count, LOGIN_FAILURES_PER_ACCOUNT),
                                                ("ip", ip_count, LOGIN_FAILURES_PER_IP))
              if count >= limit.allowed]
    audit_record(action=AuditAction.LOGIN_LOCKOUT if locked else AuditAction.LOGIN_FAILED, user=user, ip=ip,
                 **({"locked": locked} if locked else {}), **data)


def attempt_settle(*, ip: str, key: str, clear: bool) -> None:
    """A right password gives both slots back in one step; `clear` (a whole sign-in) also empties the
    account's failures, else earlier failures still count (a second factor is still to come)."""
    if clear:
        settle(release=[(LOGIN_FAILURES_PER_IP, ip)], clear=[(LOGIN_FAILURES_PER_ACCOUNT, key)])
    else:
        settle(release=[(LOGIN_FAILURES_PER_IP, ip), (LOGIN_FAILURES_PER_ACCOUNT, key)])


def account_failures_clear(user: User) -> None:
    """A whole sign-in (password and second factor, or a passkey), or a password reset that is the whole
    credential (password_is_whole_credential), clears the account's failures."""
    LOGIN_FAILURES_PER_ACCOUNT.clear(account_key(user.username, user))


def _session_open(*, user: User, terminal: str, ip: str, user_agent: str, now: datetime) -> tuple[Session, AuditEvent]:
    """A session on `terminal`, replacing that terminal's live one (other terminals stay), and its
    sign-in audit row; neither is written yet: the caller completes the session, then writes both at once.

    `user` is the account as its credentials were checked, without a lock. The row lock taken here
    serialises this sign-in with password and status changes (which lock the same row), and the account
    is checked again under it: if the password or the status moved since the check, a sign-in made with the
    old credentials must not outlive the change, so it is refused.
    """
    # One statement locks the row, checks the credentials and status are still those checked, and records
    # the sign-in; only when it matches nothing is the row read again to say why.
    if not _last_login_set(user=user, now=now):
        current = User.objects.values("password", "password_changed_at", "status").get(pk=user.pk)
        if current["password_changed_at"] != user.password_changed_at:
            raise errors.WrongPasswordError("Wrong login name or password.", status=401)
        # The same password (only passwords.password_set moves its change time): the status moved, or only the
        # hash did, when a sign-in in parallel upgraded the same password from an older format or parameters.
        user.password, user.status = current["password"], current["status"]
        user_assert_can_sign_in(user)
        if not _last_login_set(user=user, now=now):
            raise errors.WrongPasswordError("Wrong login name or password.", status=401)
    user.last_login = now
    replaced = _live_session_replace(user=user, terminal=terminal, now=now)
    session = Session(user=user, terminal=terminal, ip=valid_ip(ip), user_agent=user_agent[:256],
                      created_at=now, last_seen_at=now)
    return session, security_log.sign_in_event(session=session, now=now, replaced=replaced)


def _last_login_set(*, user: User, now: datetime) -> bool:
    """Sets the account's `last_login` (locking its row) if its password, password change time and active
    status are still those `user` was checked with; False if they moved. Written out as _live_session_replace
    is: building and compiling the ORM's UPDATE cost 0.6 ms of CPU a sign-in, four times the statement. Both
    are prepared on the server (accountsite.db.prepared_cursor): bound there, the password hash is not quoted
    into the text, and PostgreSQL stops parsing and planning them."""
    db = connections[router.db_for_write(User)]
    meta, quote, adapt = User._meta, db.ops.quote_name, db.ops.adapt_datetimefield_value
    column = {field.name: quote(field.column or field.attname) for field in meta.concrete_fields}
    changed = user.password_changed_at
    checked = [user.pk, user.password, UserStatus.ACTIVE.value, *([] if changed is None else [adapt(changed)])]
    with prepared_cursor(db.alias) as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {column['last_login']} = %s "  # noqa: S608 - the table's own names
            f"WHERE {column['id']} = %s AND {column['password']} = %s AND {column['status']} = %s "
            f"AND {column['password_changed_at']} {'IS NULL' if changed is None else '= %s'}",
            [adapt(now), *checked],
        )
        return cursor.rowcount == 1


def _live_session_replace(*, user: User, terminal: str, now: datetime) -> list[security_log.Replaced]:
    """Ends `user`'s live session on `terminal` (there is one at most), answering what it was in the same
    statement (UPDATE ... RETURNING, PostgreSQL and SQLite alike): the new-device check reads it."""
    db = connections[router.db_for_write(Session)]
    meta, quote = Session._meta, db.ops.quote_name
    fields = {field.name: field for field in meta.concrete_fields}
    columns = {name: quote(field.column or field.attname) for name, field in fields.items()}
    returned = [fields[name] for name in ("user_agent", "ip", "created_at")]
    with prepared_cursor(db.alias) as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {columns['revoked_at']} = %s, {columns['revoke_reason']} = %s "  # noqa: S608
            f"WHERE {columns['user']} = %s AND {columns['terminal']} = %s AND {columns['revoked_at']} IS NULL "
            f"RETURNING {columns['user_agent']}, {columns['ip']}, {columns['created_at']}",
            [db.ops.adapt_datetimefield_value(now), RevokeReason.REPLACED.value, user.pk, terminal],
        )
        rows = cursor.fetchall()
    converters = converters_of(returned, db)
    return [security_log.Replaced(*converted(row, converters, db)) for row in rows]


@transaction.atomic
def session_start(*, user: User, terminal: str, ip: str, user_agent: str,
                  now: datetime | None = None) -> tuple[Session, TokenPair]:
    """A new API session on `terminal` and its token pair (see _session_open for the rules)."""
    now = now or timezone.now()
    session, event = _session_open(user=user, terminal=terminal, ip=ip, user_agent=user_agent, now=now)
    pair = token_pair_for(session)
    session.refresh_jti, session.expires_at = pair.refresh_jti, pair.refresh_expires_at
    insert_together(event, session)
    return session, pair


@transaction.atomic
def browser_session_start(*, user: User, terminal: str, ip: str, user_agent: str, lifetime: timedelta,
                          now: datetime | None = None) -> Session:
    """A session for a browser sign-in (the admin, the OAuth sign-in page): no tokens; the browser's
    cookie names it, so revoking it ends that browser's sign-in like any other terminal's."""
    now = now or timezone.now()
    session, event = _session_open(user=user, terminal=terminal, ip=ip, user_agent=user_agent, now=now)
    session.expires_at = now + lifetime
    insert_together(event, session)
    return session


def sign_in_check(*, login: str, password: str, ip: str) -> tuple[User, list[MfaMethod]]:
    """The user these credentials name, if they may sign in (the lockouts, the password, then the status),
    and the second factors still to check. Every door (the API, the admin, the OAuth page) asks this before
    a second factor or a session. The account's failures are cleared only by a whole sign-in: a right
    password does not reset the count of wrong codes that follow it."""
    user, key = _credentials_judge(login=login, password=password, ip=ip, status=401)
    whole = False
    try:
        user_assert_can_sign_in(user)
        methods = selectors.mfa_methods(user)
        whole = not methods
    finally:
        # The password was right: its slots go back in one step, with the account's failures cleared if
        # this is the whole sign-in (no second factor).
        attempt_settle(ip=ip, key=key, clear=whole)
    return user, methods


def password_only_check(*, login: str, password: str, ip: str) -> User:
    """The user of a request whose only credential is the password (seed 003's password change and
    unregister without a token). An account with a second factor is refused (7006): the password alone
    must not change or delete it; its owner signs in with the factor and uses the session."""
    user = credentials_verify(login=login, password=password, ip=ip, status=400)
    user_assert_can_sign_in(user)
    if selectors.mfa_methods(user):
        raise errors.PermissionDeniedError("This account has a second factor: sign in, then use your session.")
    return user


def session_refresh(*, raw_refresh: str, now: datetime | None = None) -> TokenPair:
    """Rotates the refresh token. Presenting an already-rotated one means a copy is loose: the whole
    session is revoked (the revocation commits even though the request fails)."""
    now = now or timezone.now()
    token = decode_refresh(raw_refresh)
    with transaction.atomic():
        # Lock the session row only: sign-in, password and status changes lock the user row and then the
        # sessions, so also waiting for the user row here could deadlock with them.
        session = (Session.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(Session.live(now), pk=token["sid"]).first())
        if session is None or session.user_id != token.get("uid"):
            raise errors.NotAuthenticatedError()
        replayed = token.get("jti") != session.refresh_jti
        if replayed:
            session_revoke(session=session, reason=RevokeReason.REFRESH_REUSE, now=now)
        else:
            user_assert_can_sign_in(session.user)
            if issued_before(token, session.user.password_changed_at):
                raise errors.NotAuthenticatedError()
            return session_reissue(session=session, now=now)
    raise errors.NotAuthenticatedError()


def session_reissue(*, session: Session, now: datetime | None = None) -> TokenPair:
    """New tokens for a live session; its previous refresh token stops working."""
    pair = token_pair_for(session)
    Session.objects.filter(pk=session.pk).update(
        refresh_jti=pair.refresh_jti, expires_at=pair.refresh_expires_at, last_seen_at=now or timezone.now()
    )
    return pair


def session_touch(*, session: Session, now: datetime | None = None) -> None:
    """Records that the session was used; written at most every ACCOUNTS_SESSION_TOUCH_SECONDS, so most
    requests stay read-only."""
    now = now or timezone.now()
    if now - session.last_seen_at >= timedelta(seconds=settings.ACCOUNTS_SESSION_TOUCH_SECONDS):
        Session.objects.filter(pk=session.pk).update(last_seen_at=now)


def session_revoke(*, session: Session, reason: str, actor: User | None = None, now: datetime | None = None) -> bool:
    """Ends one session; with `actor` (the user from another session, or an operator) the audit trail
    says who."""
    ended = bool(Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoke_reason=reason
    ))
    if ended and actor is not None:
        audit_record(action=AuditAction.SESSION_REVOKE, user=session.user, actor=actor, terminal=session.terminal,
                     reason=reason)
    return ended


def user_credentials_revoke(*, user: User, reason: str, keep_session: Session | None = None,
                            actor: User | None = None, now: datetime | None = None) -> int:
    """Ends every session of the user (but `keep_session`); returns how many were live.

    OAuth grants and tokens end in every case, password change included: a changed password may mean a
    compromised account, so third-party apps must ask the user's consent again. The changes that call this
    write their own audit row; an operator ending the sessions alone passes `actor` to have one written."""
    sessions = Session.objects.filter(user=user, revoked_at__isnull=True)
    if keep_session is not None:
        sessions = sessions.exclude(pk=keep_session.pk)
    oauth_tokens_revoke(user=user, now=now)
    ended = sessions.update(revoked_at=now or timezone.now(), revoke_reason=reason)
    if actor is not None:
        audit_record(action=AuditAction.SESSION_REVOKE, user=user, actor=actor, sessions=ended, reason=reason)
    return ended


def logout(*, user: User, session: Session | None, everywhere: bool, oauth_token: Any = None) -> int:
    """Ends the caller's session (or, signed in with an app's OAuth token, that token); `everywhere`
    ends every session and every app's tokens."""
    if everywhere or (session is None and oauth_token is None):
        count = user_credentials_revoke(user=user, reason=RevokeReason.LOGOUT_ALL)
    elif session is not None:
        count = int(session_revoke(session=session, reason=RevokeReason.LOGOUT))
    else:
        access_token_revoke(token=oauth_token)
        count = 1
    audit_record(action=AuditAction.SESSION_LOGOUT, user=user, actor=user, everywhere=everywhere)
    return count
