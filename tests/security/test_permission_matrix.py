"""The permission matrix of issue 9: every operation in /schema/ against every kind of caller.

EXPECTED is the one table: for each operation (method and path as /schema/ writes them), the answer
each caller must get: success or the error class of accountsite.errors, whose `code` and status the
envelope must carry. It is written from
docs/errors.md, issue 9 and the README's recorded decisions, not copied from the code. Where the code
answers otherwise the cell keeps the expected answer and is listed in CODE_DISAGREES, which runs it
as a strict xfail: the suite stays green, and fixing the code turns the xfail into a failure that
says to drop the entry.

The target of every path is alice: `{loginname}` is alice, `{owner}/{name}` her private repository
`closed` (rows marked "public repo" use `open`), `/auth/sessions/{id}` her session on another terminal,
`/developer/apps/{id}` her OAuth app. Rows with a variant name may aim elsewhere (a staff account, the
superuser, alice once deleted) and leave out, as None, the callers they are not about. Each row's
request (REQUESTS) is one an allowed caller succeeds with.

Callers (CALLERS, the columns):
- anon: no credentials. owner: alice's own first-party session (our JWT). other: bob, a plain user.
- staff: is_staff in no group; support, billing: staff in that group (migration accounts 0005);
  root: a superuser. Staff accounts are users too: what they do to their own account is allowed.
- frozen, deleted: alice's own session, with her status set in the database behind its back (no
  service call), so her session, her app and the codes e-mailed to her all still exist. Every door
  must check the status itself rather than count on the revocation a status change normally does
  (through the service her token would simply be NotAuthenticatedError, which `logged_out` covers). Doors that read
  no token (sign-in, e-mailed codes, seed 001) then show how they treat a frozen or deleted alice.
- logged_out: alice's token after POST /auth/logout.
- app_read, app_rw: a third-party app's OAuth access token for alice, scope `read` / `read write`.

Every cell runs on a fresh database (pytest-django's per-test transaction). After every refused write
(a non-GET answered with an error) the rows of every table the API writes must be as before
(tests.snapshots), audit events included: a refused request leaves no trace.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from accounts.models import Passkey, SecretPurpose, Session, User, UserStatus
from accounts.oauth import applications, seed
from accounts.selectors import mfa_methods
from accounts.services import challenges, codes, mfa, passkeys, users
from accountsite import errors
from membership.models import TierType
from membership.services import membership_cost, wallet_topup
from quotas.models import Quota, QuotaKind
from repos.services import repository_create
from tests.conftest import app_client, client_for, envelope, signed_out, staff_user
from tests.factories import PASSWORD, AdminFactory, UserFactory
from tests.mfa.authenticator import SoftAuthenticator
from tests.mfa.helpers import passkey_on, totp_code, totp_on
from tests.snapshots import snapshot, snapshot_models

CALLERS = ("anon", "owner", "other", "staff", "support", "billing", "root", "frozen", "deleted", "logged_out",
           "app_read", "app_rw")

# The table's cells, short so its columns stay readable: the errors of docs/errors.md it uses (each
# class carries its code and HTTP status), success, and the redirect the seed 001 GET /oauth/ answers with
# (to the consent page; not an envelope).
AUTH = errors.NotAuthenticatedError  # not signed in, or the token has ended
DENY = errors.PermissionDeniedError  # not allowed
OFF = errors.AccountDisabledError  # the account is frozen or deleted
MISS = errors.NotFoundError  # not found, or not visible to this caller
CRED = errors.WrongPasswordError  # wrong credentials
VOID = errors.InvalidSecretError  # the e-mailed code is invalid, used or expired
OK, GOTO = "ok", "redirect"
Cell = type[errors.ServiceError] | str | None
# WrongPasswordError is 401 there, not 400 (docs/errors.md)
LOGIN_PATHS = {"/auth/login/", "/login/", "/auth/login/passkey/"}

NEW_PASSWORD = "another-Long-passw0rd"
REDIRECT_URI = "https://alice.example/cb"


class Row(NamedTuple):
    method: str
    path: str  # as /schema/ writes it
    variant: str = ""  # another request to the same operation (another body or target)


R = Row  # short, for the table


# fmt: off
# The table. Cells: OK, an error (AUTH, DENY, OFF, MISS, CRED, VOID above) or GOTO, a redirect; None: the
# cell is not part of this row. Columns in the order of CALLERS:
#                                     anon  owner other staff supp  bill  root  froz  del   out   appR  appRW
SELF =                               (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, OK,   OK)
SELF_FIRST_HAND =                    (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, DENY)
OPEN =                               (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK)
PUBLIC =                             (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, OK,   OK)
OPERATOR_ONLY_ROOT =                 (AUTH, DENY, DENY, DENY, DENY, DENY, OK,   OFF,  OFF,  AUTH, DENY, DENY)
# SELF: the caller's own account, an app within its scopes; SELF_FIRST_HAND: the same, never an app's
# token; OPEN: the door reads no token at all; PUBLIC: anyone, but a token sent is checked;
# OPERATOR_ONLY_ROOT: an operator power none of the groups holds.

EXPECTED: dict[Row, tuple[Cell, ...]] = {
    # --- sign-in doors: the body is the credential, a token sent along is ignored
    R("POST", "/auth/register/"):     OPEN,
    R("POST", "/register/"):          OPEN,
    # A deleted account signs in like an unknown name (README: a byte-identical CRED).
    R("POST", "/auth/login/"):        (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  CRED, OK,   OK,   OK),
    R("POST", "/login/"):             (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  CRED, OK,   OK,   OK),
    # Second steps (issue 16): the mfa_token, or the passkey's assertion, is the credential. A deleted
    # account's passkey is as unknown as its login name (CRED); its pending sign-in ends (OFF).
    R("POST", "/auth/login/mfa/"):    (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  OK,   OK,   OK),
    R("POST", "/auth/login/passkey/options/"): OPEN,
    R("POST", "/auth/login/passkey/"): (OK,  OK,   OK,   OK,   OK,   OK,   OK,   OFF,  CRED, OK,   OK,   OK),
    # The body carries alice's refresh token (of the session `owner` uses): whoever holds it may refresh.
    R("POST", "/auth/refresh/"):      (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, OK,   OK),

    # --- the signed-in caller's own account
    R("GET", "/auth/me/"):            SELF,
    R("GET", "/auth/"):               SELF,
    R("PUT", "/auth/me/"):            (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("PATCH", "/auth/me/"):          (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("PUT", "/auth/"):               (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("PATCH", "/auth/"):             (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("PATCH", "/auth/me/", "developer mode"): SELF_FIRST_HAND,
    # With an app's token, logout ends that token only: any scope may (issue 9, policy SIGN_OUT).
    R("POST", "/auth/logout/"):       SELF,
    R("POST", "/auth/logout/", "all"): SELF_FIRST_HAND,
    # Seed 003: a body `username` that is not the token's user is AUTH.
    R("POST", "/auth/logout/", "username of another"):
                                      (None, OK,   AUTH, None, None, None, AUTH, None, None, None, OK,   OK),
    R("POST", "/auth/password/"):     SELF_FIRST_HAND,
    # Authenticated, or anyone with `username` + the old password (seed 003).
    R("POST", "/auth/password/", "seed 003 without a token"):
                                      (OK,   None, None, None, None, None, None, None, None, None, None, None),
    # {username: alice, password}: the password is the credential, signed out; beside a token the name must
    # be the token's own (seed 003, as at logout: AUTH), and an app's token never (DENY).
    R("POST", "/auth/unregister/"):   (OK,   OK,   AUTH, AUTH, AUTH, AUTH, AUTH, OFF,  OFF,  AUTH, DENY, DENY),
    R("GET", "/auth/sessions/"):      SELF_FIRST_HAND,
    # Only the caller's own sessions; alice's are not visible to anyone else, operators included.
    R("DELETE", "/auth/sessions/{id}/"):
                                      (AUTH, OK,   MISS, MISS, MISS, MISS, MISS, OFF,  OFF,  AUTH, DENY, DENY),

    # --- second factors (issue 16): the user's own first-hand sign-in only, never an app's token
    R("GET", "/auth/mfa/"):           SELF_FIRST_HAND,
    R("POST", "/auth/mfa/totp/"):     SELF_FIRST_HAND,
    R("DELETE", "/auth/mfa/totp/"):   SELF_FIRST_HAND,
    R("POST", "/auth/mfa/totp/confirm/"): SELF_FIRST_HAND,
    R("POST", "/auth/mfa/recovery-codes/"): SELF_FIRST_HAND,
    R("GET", "/auth/passkeys/"):      SELF_FIRST_HAND,
    R("GET", "/auth/events/"):        SELF_FIRST_HAND,
    R("POST", "/auth/passkeys/"):     SELF_FIRST_HAND,
    R("POST", "/auth/passkeys/options/"): SELF_FIRST_HAND,
    # Only the caller's own passkeys, as with sessions.
    **{R(method, "/auth/passkeys/{id}/"):
                                      (AUTH, OK,   MISS, MISS, MISS, MISS, MISS, OFF,  OFF,  AUTH, DENY, DENY)
       for method in ("PATCH", "DELETE")},

    # --- developer mode (README: the owner's own session only, others get 404)
    R("GET", "/developer/apps/"):     SELF_FIRST_HAND,
    R("POST", "/developer/apps/"):    SELF_FIRST_HAND,
    **{R(method, "/developer/apps/{id}/"):
                                      (AUTH, OK,   MISS, MISS, MISS, MISS, MISS, OFF,  OFF,  AUTH, DENY, DENY)
       for method in ("GET", "PUT", "PATCH", "DELETE")},
    R("POST", "/developer/apps/{id}/rotate_secret/"):
                                      (AUTH, OK,   MISS, MISS, MISS, MISS, MISS, OFF,  OFF,  AUTH, DENY, DENY),

    # --- seed 001 OAuth with alice's app: a frozen or deleted developer's app is unknown (issue 9 item 7)
    R("GET", "/oauth/"):              (GOTO, GOTO, GOTO, GOTO, GOTO, GOTO, GOTO, MISS, MISS, GOTO, GOTO, GOTO),
    R("POST", "/oauth/"):             (OK,   OK,   OK,   OK,   OK,   OK,   OK,   AUTH, AUTH, OK,   OK,   OK),
    R("GET", "/healthz/"):             OPEN,
    R("GET", "/"):                    OPEN,
    R("GET", "/vip/tiers/"):          OPEN,

    # --- users
    R("GET", "/users/"):              (AUTH, DENY, DENY, DENY, OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("GET", "/users/search/user/"):  (AUTH, DENY, DENY, DENY, OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("GET", "/users/{loginname}/"):  PUBLIC,
    # Deleted users are invisible (404) to everyone but operators who may view users.
    R("GET", "/users/{loginname}/", "alice deleted"):
                                      (MISS, None, MISS, MISS, OK,   OK,   OK,   None, None, None, None, None),
    # Creating carol: anyone may sign up; the role only an operator allowed to set it (a superuser).
    R("POST", "/users/{loginname}/"): PUBLIC,
    R("POST", "/users/{loginname}/", "with role admin"):
                                      (DENY, DENY, DENY, DENY, DENY, DENY, OK,   OFF,  OFF,  AUTH, DENY, DENY),
    # Profile fields: self (an app with `write`) or an operator who may change users (none of the groups).
    R("PUT", "/users/{loginname}/"):  (AUTH, OK,   DENY, DENY, DENY, DENY, OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("PATCH", "/users/{loginname}/"):
                                      (AUTH, OK,   DENY, DENY, DENY, DENY, OK,   OFF,  OFF,  AUTH, DENY, OK),
    # Status: support freezes alice; never the user themself, billing or an app.
    R("PUT", "/users/{loginname}/", "status frozen"):
                                      (AUTH, DENY, DENY, DENY, OK,   DENY, OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("PUT", "/users/{loginname}/", "status active, alice frozen"):
                                      (None, None, DENY, DENY, OK,   DENY, OK,   None, None, None, None, None),
    R("PUT", "/users/{loginname}/", "password"): OPERATOR_ONLY_ROOT,
    R("PUT", "/users/{loginname}/", "role admin"): OPERATOR_ONLY_ROOT,
    R("PUT", "/users/{loginname}/", "userType"): OPERATOR_ONLY_ROOT,
    # Only a superuser sets the password, status or role of a staff user or a superuser (issue 9 item 3).
    R("PUT", "/users/{loginname}/", "staff target: status frozen"):
                                      (None, None, DENY, DENY, DENY, DENY, OK,   None, None, None, None, None),
    R("PUT", "/users/{loginname}/", "superuser target: status frozen"):
                                      (None, None, DENY, DENY, DENY, DENY, None, None, None, None, None, None),
    R("PUT", "/users/{loginname}/", "superuser target: password"):
                                      (None, None, DENY, DENY, DENY, DENY, None, None, None, None, None, None),
    R("PUT", "/users/{loginname}/", "superuser target: role common"):
                                      (None, None, DENY, DENY, DENY, DENY, None, None, None, None, None, None),
    R("DELETE", "/users/{loginname}/"):
                                      (AUTH, OK,   DENY, DENY, OK,   DENY, OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("DELETE", "/users/{loginname}/", "staff target"):
                                      (None, None, DENY, DENY, DENY, DENY, OK,   None, None, None, None, None),
    R("DELETE", "/users/{loginname}/", "superuser target"):
                                      (None, None, DENY, DENY, DENY, DENY, None, None, None, None, None, None),
    # Self with the old password, or an operator allowed to set passwords (a superuser here).
    R("PUT", "/users/{loginname}/pwd/"):
                                      (AUTH, OK,   DENY, DENY, DENY, DENY, OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("PUT", "/users/{loginname}/pwd/", "staff target"):
                                      (None, None, DENY, DENY, DENY, DENY, OK,   None, None, None, None, None),
    R("PUT", "/users/{loginname}/pwd/", "superuser target"):
                                      (None, None, DENY, DENY, DENY, DENY, None, None, None, None, None, None),
    # E-mail: the user themself only, first-hand; no operator power covers it.
    R("PUT", "/users/{loginname}/email/"):
                                      (AUTH, OK,   DENY, DENY, DENY, DENY, DENY, OFF,  OFF,  AUTH, DENY, DENY),
    R("POST", "/users/{loginname}/email/verify/"):
                                      (AUTH, OK,   DENY, DENY, DENY, DENY, DENY, OFF,  OFF,  AUTH, DENY, DENY),
    # E-mailed codes: whoever holds the code. A frozen or deleted account holds no working code (issue 9
    # item 5: codes are void once the account leaves 'active'), so its codes are VOID.
    R("PUT", "/users/{loginname}/active/"):
                                      (OK,   OK,   OK,   OK,   OK,   OK,   OK,   VOID, VOID, OK,   OK,   OK),
    R("POST", "/users/{loginname}/active/resend/"): OPEN,
    R("PUT", "/users/{loginname}/forget/pwd/"): OPEN,
    R("PUT", "/users/{loginname}/pwd/reset/"):
                                      (OK,   OK,   OK,   OK,   OK,   OK,   OK,   VOID, VOID, OK,   OK,   OK),
    # OK if right, CRED if wrong; a frozen account's right password gets the sign-in's answer (OFF), and a
    # deleted account is an unknown name.
    R("GET", "/users/{loginname}/pwd/validate/"):
                                      (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  CRED, OK,   OK,   OK),
    R("POST", "/users/{loginname}/pwd/validate/"):
                                      (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OFF,  CRED, OK,   OK,   OK),

    # --- quotas (README: another non-admin gets 404 when reading). Create, change limits and
    # add use are operator powers (change_quota / add_quota: a superuser here); whoever may do them to
    # nobody is refused at the door (DENY) whatever the name, which says nothing about alice.
    **{R("GET", f"/quota/{{loginname}}/{kind}/"):
                                      (AUTH, OK,   MISS, MISS, OK,   MISS, OK,   OFF,  OFF,  AUTH, OK,   OK)
       for kind in ("repository", "deposit", "pullnum")},
    **{R(method, f"/quota/{{loginname}}/{kind}/"): OPERATOR_ONLY_ROOT
       for kind in ("repository", "deposit", "pullnum") for method in ("POST", "PUT")},
    # Repository use counts: self or an operator (change_quota); support sees them but may not set them.
    R("POST", "/quota/{loginname}/repository/use/"):
                                      (AUTH, OK,   MISS, MISS, DENY, MISS, OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("POST", "/quota/{loginname}/deposit/use/"): OPERATOR_ONLY_ROOT,
    R("POST", "/quota/{loginname}/pullnum/use/"): OPERATOR_ONLY_ROOT,

    # --- membership and billing (README: someone else's cost/PUT/ledger is 404)
    R("GET", "/vip/{loginname}/"):    PUBLIC,
    R("GET", "/vip/{loginname}/", "alice deleted"):
                                      (MISS, None, MISS, MISS, OK,   OK,   OK,   None, None, None, None, None),
    R("GET", "/vip/{loginname}/cost/"):
                                      (AUTH, OK,   MISS, MISS, MISS, OK,   OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("GET", "/vip/{loginname}/ledger/"):
                                      (AUTH, OK,   MISS, MISS, MISS, OK,   OK,   OFF,  OFF,  AUTH, DENY, DENY),
    # Spending money: self first-hand, or an operator who may change memberships (billing may not).
    R("PUT", "/vip/{loginname}/"):    (AUTH, OK,   MISS, MISS, MISS, DENY, OK,   OFF,  OFF,  AUTH, DENY, DENY),
    # Top-ups: billing and superusers, of other people's wallets only (README: one's own is DENY).
    R("POST", "/vip/{loginname}/topup/"):
                                      (AUTH, DENY, DENY, DENY, DENY, OK,   OK,   OFF,  OFF,  AUTH, DENY, DENY),
    R("POST", "/vip/{loginname}/topup/", "own wallet"):
                                      (None, None, None, None, None, DENY, DENY, None, None, None, None, None),

    # --- repositories: alice's private `closed`
    R("GET", "/repos/"):              SELF,
    R("GET", "/repo/"):               SELF,
    R("POST", "/repos/"):             (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("POST", "/repo/add/"):          (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    R("GET", "/commit/"):             SELF,
    # The seed 000 alias commits to the caller's own repository of that name: others have no `closed`.
    R("POST", "/commit/add/"):        (AUTH, OK,   MISS, MISS, MISS, MISS, MISS, OFF,  OFF,  AUTH, DENY, OK),
    # A private repository is 404 to whoever may not read it, for writes too; support may read it.
    R("GET", "/repos/{owner}/{name}/"):
                                      (MISS, OK,   MISS, MISS, OK,   MISS, OK,   OFF,  OFF,  AUTH, OK,   OK),
    R("GET", "/repos/{owner}/{name}/commits/"):
                                      (MISS, OK,   MISS, MISS, OK,   MISS, OK,   OFF,  OFF,  AUTH, OK,   OK),
    **{R(method, path):               (AUTH, OK,   MISS, MISS, DENY, MISS, OK,   OFF,  OFF,  AUTH, DENY, OK)
       for method, path in (("PATCH", "/repos/{owner}/{name}/"), ("DELETE", "/repos/{owner}/{name}/"),
                            ("POST", "/repos/{owner}/{name}/commits/"))},
    # Readers pull, paying with their own pulls; an app needs `write`.
    R("POST", "/repos/{owner}/{name}/pull/"):
                                      (AUTH, OK,   MISS, MISS, OK,   MISS, OK,   OFF,  OFF,  AUTH, DENY, OK),
    # ... and her public `open`: visible to all, so a write by someone else is DENY, not MISS.
    R("GET", "/repos/{owner}/{name}/", "public repo"): PUBLIC,
    R("GET", "/repos/{owner}/{name}/commits/", "public repo"): PUBLIC,
    **{R(method, path, "public repo"):
                                      (AUTH, OK,   DENY, DENY, DENY, DENY, OK,   OFF,  OFF,  AUTH, DENY, OK)
       for method, path in (("PATCH", "/repos/{owner}/{name}/"), ("DELETE", "/repos/{owner}/{name}/"),
                            ("POST", "/repos/{owner}/{name}/commits/"))},
    R("POST", "/repos/{owner}/{name}/pull/", "public repo"):
                                      (AUTH, OK,   OK,   OK,   OK,   OK,   OK,   OFF,  OFF,  AUTH, DENY, OK),
    # A deleted account's public repository is hidden like a private one.
    R("GET", "/repos/{owner}/{name}/", "public repo, alice deleted"):
                                      (MISS, None, MISS, MISS, OK,   MISS, OK,   None, None, None, None, None),
}
# fmt: on

# Cells where the code answers otherwise than EXPECTED, believed to be the code's fault: (row, caller) ->
# what it answers and why EXPECTED holds. Each runs as a strict xfail until the code is fixed.
CODE_DISAGREES: dict[tuple[Row, str], str] = {}

# --- The world every cell starts from ----------------------------------------------------------------------


@dataclass
class World:
    alice: User
    alice_client: APIClient  # her first-party session on terminal "default"
    laptop: Session  # another of her sessions, the target of DELETE /auth/sessions/{id}
    app: Application  # her OAuth app (she is a developer)
    app_secret: str
    code: str = ""  # an e-mailed or OAuth code a row's setup issued


def with_room(user: User) -> User:
    """Room to create repositories and commit (tier 1 has none): one UPDATE, as an operator's override
    through quota_limits_set would leave it (this runs in every cell, so it stays cheap)."""
    Quota.objects.filter(user=user, kind__in=(QuotaKind.REPO_PUBLIC, QuotaKind.REPO_PRIVATE, QuotaKind.DEPOSIT)
                         ).update(quota=1024**3)
    return user


def build_world() -> World:
    alice = with_room(UserFactory(username="alice"))
    issued = applications.application_create(owner=alice, name="alice's app", redirect_uris=REDIRECT_URI)
    repository_create(owner=alice, name="open")
    repository_create(owner=alice, name="closed", visibility="private", secret="closed-secret")
    wallet_topup(user=alice, amount=Decimal("20000.00"), actor=None, note="for the matrix")
    alice = User.objects.get(pk=alice.pk)
    alice_client = client_for(alice)
    client_for(alice, "laptop")
    return World(alice=alice, alice_client=alice_client, laptop=Session.objects.get(user=alice, terminal="laptop"),
                 app=issued.application, app_secret=issued.client_secret)


CALLER_ACCOUNTS: Mapping[str, Callable[[], User]] = {
    "other": lambda: with_room(UserFactory(username="bob")),
    "staff": lambda: staff_user("staffer"),
    "support": lambda: staff_user("helpdesk", "support"),
    "billing": lambda: staff_user("cashier", "billing"),
    "root": lambda: AdminFactory(username="root"),
}
STATUS_BEHIND_CREDENTIALS = {"frozen": UserStatus.FROZEN, "deleted": UserStatus.DELETED}


def matrix_client(caller: str, world: World) -> APIClient:
    if caller == "anon":
        return APIClient()
    if caller in ("owner", "frozen", "deleted"):
        return world.alice_client
    if caller == "logged_out":
        return signed_out(world.alice_client)
    if caller in ("app_read", "app_rw"):
        return app_client(world.alice, "read" if caller == "app_read" else "read write")
    return client_for(CALLER_ACCOUNTS[caller]())


# --- How each row is called --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A request an allowed caller succeeds with. `body`, `query` and `args` values may be functions of
    (world, client); `args` overrides the path parameters (alice, `closed`, her session, her app)."""

    body: Any = None
    query: Any = None
    args: Mapping[str, Any] = field(default_factory=dict)
    setup: Callable[[World], None] | None = None
    created: bool = False  # success is 201


def issued_code(purpose: str, **fields: Any) -> Callable[[World], None]:
    def setup(world: World) -> None:
        world.code, _secret = codes.secret_issue(user=world.alice, purpose=purpose, **fields)

    return setup


def inactive_with_activation_code(world: World) -> None:
    User.objects.filter(pk=world.alice.pk).update(status=UserStatus.INACTIVE)
    issued_code(SecretPurpose.ACTIVATION)(world)


def seed_code(world: World) -> None:
    target = seed.seed_target_resolve(client_id=world.app.client_id, redirect_uri=REDIRECT_URI)
    world.code = seed.seed_code_issue(user=world.alice, target=target).code


def without_quota_record(*kinds: str) -> Callable[[World], None]:
    def setup(world: World) -> None:
        Quota.objects.filter(user=world.alice, kind__in=kinds).delete()

    return setup


def alice_deleted(world: World) -> None:
    users.user_delete(user=world.alice, actor=None)


def alice_frozen(world: World) -> None:
    users.user_status_set(user=world.alice, status=UserStatus.FROZEN, actor=None)


def staff_target(world: World) -> None:
    staff_user("ops")


def superuser_target(world: World) -> None:
    AdminFactory(username="root")  # the `root` caller's own account when it is the caller


def own_name(world: World, client: APIClient) -> str:
    return client.user.username


def sid(world: World, client: APIClient) -> dict:
    return {"sid": world.code}


def vip_purchase(world: World, client: APIClient) -> dict:
    cost = membership_cost(user=world.alice, user_type=TierType.GOLD, validity=1)
    return {"userType": TierType.GOLD, "cost": str(cost), "validity": 1}


REGISTER = Call(body={"username": "carol", "password": PASSWORD, "email": "carol@example.com"}, created=True)
LOGIN = Call(body={"username": "alice", "password": PASSWORD})
PROFILE = Call(body={"nickname": "Changed"})
NEW_REPO = Call(body={"name": "fresh", "visibility": "private"}, created=True)
APP = Call(body={"name": "renamed"})
QUOTA_LIMITS = {"repository": {"public": 10, "private": 10}, "deposit": {"quota": 1, "unit": "G"},
                "pullnum": {"quota": 600}}
QUOTA_KINDS = {"repository": (QuotaKind.REPO_PUBLIC, QuotaKind.REPO_PRIVATE), "deposit": (QuotaKind.DEPOSIT,),
               "pullnum": (QuotaKind.PULLS,)}
STAFF, SUPERUSER = {"loginname": "ops"}, {"loginname": "root"}
PUBLIC_REPO = {"name": "open"}

def factor_owner(world: World, client: APIClient) -> User:
    return getattr(client, "user", None) or world.alice


def totp_enrolled(world: World, client: APIClient) -> dict:
    """The caller's authenticator app waiting for its first code, and that code."""
    mfa.totp_enrol_start(user=factor_owner(world, client))
    return {"code": totp_code(factor_owner(world, client))}


def totp_turned_on(world: World, client: APIClient) -> dict:
    """The caller's authenticator app on; the password and a current code."""
    totp_on(factor_owner(world, client))
    return {"password": PASSWORD, "code": totp_code(factor_owner(world, client))}


def totp_on_password(world: World, client: APIClient) -> dict:
    """The caller's authenticator app on; the password (new recovery codes ask for nothing else)."""
    totp_on(factor_owner(world, client))
    return {"password": PASSWORD}


def mfa_login(world: World, client: APIClient) -> dict:
    """Alice's sign-in waiting for her authenticator app's code, and the code."""
    totp_on(world.alice)
    challenge = challenges.challenge_issue(user=world.alice, methods=mfa_methods(world.alice), terminal="phone")
    return {"mfa_token": challenge.token, "code": totp_code(world.alice)}


def passkey_login(world: World, client: APIClient) -> dict:
    """An assertion of alice's passkey over a passwordless sign-in's challenge."""
    authenticator = passkey_on(world.alice)
    options = passkeys.passwordless_options()
    return {"passkey_token": options["passkey_token"], "webauthn": authenticator.get(options["webauthn"])}


def passkey_created(world: World, client: APIClient) -> dict:
    """The caller's new passkey, answering the registration options issued to them."""
    authenticator = SoftAuthenticator()
    return {"webauthn": authenticator.create(passkeys.registration_options(user=factor_owner(world, client)))}


def alice_passkey(world: World) -> None:
    passkey_on(world.alice)


ALICE_PASSKEY = {"id": lambda world, client: Passkey.objects.get(user=world.alice).pk}

REQUESTS: dict[Row, Call] = {
    R("POST", "/auth/register/"): REGISTER,
    R("POST", "/register/"): REGISTER,
    R("POST", "/auth/login/"): LOGIN,
    R("POST", "/login/"): LOGIN,
    R("POST", "/auth/refresh/"): Call(body=lambda world, client: {"refresh": world.alice_client.tokens.refresh}),
    R("GET", "/auth/me/"): Call(),
    R("GET", "/auth/"): Call(),
    R("PUT", "/auth/me/"): PROFILE,
    R("PATCH", "/auth/me/"): PROFILE,
    R("PUT", "/auth/"): PROFILE,
    R("PATCH", "/auth/"): PROFILE,
    R("PATCH", "/auth/me/", "developer mode"): Call(body={"is_developer": True}),
    R("POST", "/auth/logout/"): Call(body={}),
    R("POST", "/auth/logout/", "all"): Call(body={"all": True}),
    R("POST", "/auth/logout/", "username of another"): Call(body={"username": "alice"}),
    R("POST", "/auth/password/"): Call(body={"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
    R("POST", "/auth/password/", "seed 003 without a token"):
        Call(body={"username": "alice", "old_password": PASSWORD, "new_password": NEW_PASSWORD}),
    R("POST", "/auth/unregister/"): Call(body={"username": "alice", "password": PASSWORD}),
    R("GET", "/auth/sessions/"): Call(),
    R("DELETE", "/auth/sessions/{id}/"): Call(),
    R("POST", "/auth/login/mfa/"): Call(body=mfa_login),
    R("POST", "/auth/login/passkey/options/"): Call(),
    R("POST", "/auth/login/passkey/"): Call(body=passkey_login),
    R("GET", "/auth/passkeys/"): Call(),
    R("GET", "/auth/events/"): Call(),
    R("POST", "/auth/passkeys/"): Call(body=passkey_created, created=True),
    R("POST", "/auth/passkeys/options/"): Call(body={"password": PASSWORD}),
    R("PATCH", "/auth/passkeys/{id}/"): Call(setup=alice_passkey, args=ALICE_PASSKEY, body={"name": "renamed"}),
    R("DELETE", "/auth/passkeys/{id}/"): Call(setup=alice_passkey, args=ALICE_PASSKEY, body={"password": PASSWORD}),
    R("GET", "/auth/mfa/"): Call(),
    R("POST", "/auth/mfa/totp/"): Call(body={"password": PASSWORD}),
    R("DELETE", "/auth/mfa/totp/"): Call(body=totp_turned_on),
    R("POST", "/auth/mfa/totp/confirm/"): Call(body=totp_enrolled),
    R("POST", "/auth/mfa/recovery-codes/"): Call(body=totp_on_password),
    R("GET", "/developer/apps/"): Call(),
    R("POST", "/developer/apps/"): Call(body={"name": "another app", "redirect_uris": "https://app.example/cb"},
                                        created=True),
    R("GET", "/developer/apps/{id}/"): Call(),
    R("PUT", "/developer/apps/{id}/"): APP,
    R("PATCH", "/developer/apps/{id}/"): APP,
    R("DELETE", "/developer/apps/{id}/"): Call(),
    R("POST", "/developer/apps/{id}/rotate_secret/"): Call(),
    R("GET", "/oauth/"): Call(query=lambda world, client: {"secret_id": world.app.client_id,
                                                           "redirect_uri": REDIRECT_URI}),
    R("POST", "/oauth/"): Call(setup=seed_code, body=lambda world, client: {
        "secret_id": world.app.client_id, "secret_value": world.app_secret, "authorization_code": world.code}),
    R("GET", "/healthz/"): Call(),
    R("GET", "/"): Call(),
    R("GET", "/vip/tiers/"): Call(),
    R("GET", "/users/"): Call(query={"loginName": "ali"}),
    R("GET", "/users/search/user/"): Call(query={"loginName": "ali"}),
    R("GET", "/users/{loginname}/"): Call(),
    R("GET", "/users/{loginname}/", "alice deleted"): Call(setup=alice_deleted),
    R("POST", "/users/{loginname}/"): Call(args={"loginname": "carol"}, created=True,
                                           body={"password": PASSWORD, "email": "carol@example.com"}),
    R("POST", "/users/{loginname}/", "with role admin"): Call(
        args={"loginname": "carol"}, created=True,
        body={"password": PASSWORD, "email": "carol@example.com", "role": "admin"}),
    R("PUT", "/users/{loginname}/"): PROFILE,
    R("PATCH", "/users/{loginname}/"): PROFILE,
    R("PUT", "/users/{loginname}/", "status frozen"): Call(body={"status": UserStatus.FROZEN}),
    R("PUT", "/users/{loginname}/", "status active, alice frozen"):
        Call(setup=alice_frozen, body={"status": UserStatus.ACTIVE}),
    R("PUT", "/users/{loginname}/", "password"): Call(body={"password": NEW_PASSWORD}),
    R("PUT", "/users/{loginname}/", "role admin"): Call(body={"role": "admin"}),
    R("PUT", "/users/{loginname}/", "userType"): Call(body={"userType": TierType.GOLD}),
    R("PUT", "/users/{loginname}/", "staff target: status frozen"):
        Call(setup=staff_target, args=STAFF, body={"status": UserStatus.FROZEN}),
    R("PUT", "/users/{loginname}/", "superuser target: status frozen"):
        Call(setup=superuser_target, args=SUPERUSER, body={"status": UserStatus.FROZEN}),
    R("PUT", "/users/{loginname}/", "superuser target: password"):
        Call(setup=superuser_target, args=SUPERUSER, body={"password": NEW_PASSWORD}),
    R("PUT", "/users/{loginname}/", "superuser target: role common"):
        Call(setup=superuser_target, args=SUPERUSER, body={"role": "common"}),
    R("DELETE", "/users/{loginname}/"): Call(),
    R("DELETE", "/users/{loginname}/", "staff target"): Call(setup=staff_target, args=STAFF),
    R("DELETE", "/users/{loginname}/", "superuser target"): Call(setup=superuser_target, args=SUPERUSER),
    R("PUT", "/users/{loginname}/pwd/"): Call(body={"oldpwd": PASSWORD, "passwd": NEW_PASSWORD}),
    R("PUT", "/users/{loginname}/pwd/", "staff target"):
        Call(setup=staff_target, args=STAFF, body={"passwd": NEW_PASSWORD}),
    R("PUT", "/users/{loginname}/pwd/", "superuser target"):
        Call(setup=superuser_target, args=SUPERUSER, body={"passwd": NEW_PASSWORD}),
    R("PUT", "/users/{loginname}/email/"): Call(body={"email": "alice.new@example.com", "password": PASSWORD}),
    R("POST", "/users/{loginname}/email/verify/"):
        Call(setup=issued_code(SecretPurpose.EMAIL_CHANGE, new_email="alice.new@example.com"), body=sid),
    R("PUT", "/users/{loginname}/active/"): Call(setup=inactive_with_activation_code, body=sid),
    R("POST", "/users/{loginname}/active/resend/"): Call(setup=inactive_with_activation_code),
    R("PUT", "/users/{loginname}/forget/pwd/"): Call(),
    R("PUT", "/users/{loginname}/pwd/reset/"): Call(
        setup=issued_code(SecretPurpose.PASSWORD_RESET),
        body=lambda world, client: {"sid": world.code, "passwd": NEW_PASSWORD}),
    R("GET", "/users/{loginname}/pwd/validate/"): Call(query={"pwd": PASSWORD}),
    R("POST", "/users/{loginname}/pwd/validate/"): Call(body={"pwd": PASSWORD}),
    **{R("GET", f"/quota/{{loginname}}/{kind}/"): Call() for kind in QUOTA_KINDS},
    **{R("POST", f"/quota/{{loginname}}/{kind}/"): Call(setup=without_quota_record(*kinds), created=True,
                                                         body=QUOTA_LIMITS[kind])
       for kind, kinds in QUOTA_KINDS.items()},
    **{R("PUT", f"/quota/{{loginname}}/{kind}/"): Call(body=QUOTA_LIMITS[kind]) for kind in QUOTA_KINDS},
    # alice has one public and one private repository.
    R("POST", "/quota/{loginname}/repository/use/"): Call(body={"public": 1, "private": 1}),
    R("POST", "/quota/{loginname}/deposit/use/"): Call(body={"use": 1, "unit": "M"}),
    R("POST", "/quota/{loginname}/pullnum/use/"): Call(body={"use": 1}),
    R("GET", "/vip/{loginname}/"): Call(),
    R("GET", "/vip/{loginname}/", "alice deleted"): Call(setup=alice_deleted),
    R("GET", "/vip/{loginname}/cost/"): Call(query={"type": TierType.GOLD, "validity": 1}),
    R("GET", "/vip/{loginname}/ledger/"): Call(),
    R("PUT", "/vip/{loginname}/"): Call(body=vip_purchase),
    R("POST", "/vip/{loginname}/topup/"): Call(body={"amount": "10.00"}, created=True),
    R("POST", "/vip/{loginname}/topup/", "own wallet"):
        Call(args={"loginname": own_name}, body={"amount": "10.00"}, created=True),
    R("GET", "/repos/"): Call(),
    R("GET", "/repo/"): Call(),
    R("POST", "/repos/"): NEW_REPO,
    R("POST", "/repo/add/"): NEW_REPO,
    R("GET", "/commit/"): Call(),
    R("POST", "/commit/add/"): Call(body={"repo_name": "closed", "content": "a commit"}, created=True),
    R("GET", "/repos/{owner}/{name}/"): Call(),
    R("GET", "/repos/{owner}/{name}/commits/"): Call(),
    R("PATCH", "/repos/{owner}/{name}/"): Call(body={"description": "changed"}),
    R("DELETE", "/repos/{owner}/{name}/"): Call(),
    R("POST", "/repos/{owner}/{name}/commits/"): Call(body={"content": "a commit"}, created=True),
    R("POST", "/repos/{owner}/{name}/pull/"): Call(body={}, created=True),
    R("GET", "/repos/{owner}/{name}/", "public repo"): Call(args=PUBLIC_REPO),
    R("GET", "/repos/{owner}/{name}/commits/", "public repo"): Call(args=PUBLIC_REPO),
    R("PATCH", "/repos/{owner}/{name}/", "public repo"): Call(args=PUBLIC_REPO, body={"description": "changed"}),
    R("DELETE", "/repos/{owner}/{name}/", "public repo"): Call(args=PUBLIC_REPO),
    R("POST", "/repos/{owner}/{name}/commits/", "public repo"):
        Call(args=PUBLIC_REPO, body={"content": "a commit"}, created=True),
    R("POST", "/repos/{owner}/{name}/pull/", "public repo"): Call(args=PUBLIC_REPO, body={}, created=True),
    R("GET", "/repos/{owner}/{name}/", "public repo, alice deleted"): Call(args=PUBLIC_REPO, setup=alice_deleted),
}


# --- Helpers -----------------------------------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
def schema_operations() -> set[tuple[str, str]]:
    """Every operation of the OpenAPI document /schema/ serves, as (METHOD, path)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method.upper(), path) for path, item in schema["paths"].items() for method in item
            if method in HTTP_METHODS}


def value(spec: Any, world: World, client: APIClient) -> Any:
    return spec(world, client) if callable(spec) else spec


def path_of(row: Row, call: Call, world: World, client: APIClient) -> str:
    args = {"loginname": "alice", "owner": "alice", "name": "closed",
            "id": world.laptop.pk if row.path.startswith("/auth/sessions/") else world.app.pk}
    args.update({name: value(spec, world, client) for name, spec in call.args.items()})
    return row.path.format(**args)


def send(client: APIClient, method: str, path: str, body: Any, query: Any):
    if method == "GET":
        return client.get(path, query or {})
    if query:
        path = f"{path}?{urlencode(query)}"
    return getattr(client, method.lower())(path, body, format="json")


def assert_answer(response, expected: Cell, row: Row, call: Call) -> None:
    if expected == GOTO:
        assert response.status_code == 302, (response.status_code, response.content[:300])
        assert response["Location"].startswith("/oauth/consent/"), response["Location"]
    elif expected == OK:
        envelope(response, status=201 if call.created else 200)
    elif expected is CRED and row.path in LOGIN_PATHS:
        envelope(response, CRED, status=401)
    else:
        assert isinstance(expected, type), expected
        envelope(response, expected)


def cells() -> Iterator[Any]:
    for row, expected in EXPECTED.items():
        for caller, answer in zip(CALLERS, expected, strict=True):
            if answer is None:
                continue
            reason = CODE_DISAGREES.get((row, caller))
            marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)] if reason else []
            name = f"{row.method} {row.path}" + (f" ({row.variant})" if row.variant else "") + f" as {caller}"
            yield pytest.param(row, caller, answer, id=name.replace(" ", "_"), marks=marks)


# --- Tests -------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    """Every new test client builds its middleware, and WhiteNoise's then walks every static file of the
    finders (about 20 ms); the matrix makes two or three clients a cell and serves no static file."""
    settings.WHITENOISE_USE_FINDERS = False


def test_the_table_has_one_row_for_every_operation_in_the_schema():
    """A new endpoint cannot be missed, and a removed one leaves no stale row."""
    in_schema = schema_operations()
    in_table = {(row.method, row.path) for row in EXPECTED}
    assert sorted(in_schema - in_table) == [], "operations in /schema/ without a row in EXPECTED"
    assert sorted(in_table - in_schema) == [], "rows in EXPECTED for operations /schema/ no longer has"
    assert EXPECTED.keys() == REQUESTS.keys()
    assert all(EXPECTED[row][CALLERS.index(caller)] is not None for row, caller in CODE_DISAGREES)


def test_the_snapshot_covers_every_table_the_api_writes():
    """tests.snapshots, which every "nothing changed" assertion of the suite uses."""
    tables = {model._meta.db_table for model in snapshot_models()}
    expected = {"accounts_user", "accounts_user_groups", "accounts_user_user_permissions", "accounts_session",
                "accounts_accountsecret", "accounts_auditevent", "quotas_quota", "membership_membership",
                "membership_wallet", "membership_ledgerentry", "membership_idempotencyrecord", "repos_repository",
                "repos_commit", "repos_pull", "oauth2_provider_application", "oauth2_provider_accesstoken",
                "oauth2_provider_refreshtoken", "oauth2_provider_grant", "oauth2_provider_idtoken",
                "django_session", "accounts_totpdevice", "accounts_recoverycode", "accounts_passkey"}
    assert expected <= tables


@pytest.mark.django_db
def test_the_snapshot_sees_a_single_column_change():
    world = build_world()
    before = snapshot()
    Session.objects.filter(pk=world.laptop.pk).update(revoke_reason="x")
    with pytest.raises(AssertionError, match="accounts_session"):
        before.assert_unchanged()


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "caller", "answer"), list(cells()))
def test_permission_matrix(row: Row, caller: str, answer: Cell):
    world = build_world()
    client = matrix_client(caller, world)
    call = REQUESTS[row]
    if call.setup is not None:
        call.setup(world)
    if caller in STATUS_BEHIND_CREDENTIALS:
        User.objects.filter(pk=world.alice.pk).update(status=STATUS_BEHIND_CREDENTIALS[caller])
    path = path_of(row, call, world, client)
    body, query = value(call.body, world, client), value(call.query, world, client)
    before = snapshot() if row.method != "GET" else None
    response = send(client, row.method, path, body, query)
    if before is not None and response.status_code >= 400:
        before.assert_unchanged()
    assert_answer(response, answer, row, call)
