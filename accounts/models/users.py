"""The account: its login name, address and profile, its status and the tier in force, and the manager
that creates accounts (opening their plan with them). Also the validators its fields share with the API and
the import, and `_minute`, how the other rows' names write a moment."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.plans import plans
from accountsite.audit import AuditAction, audit_record
from accountsite.text import MULTILINE, ONE_LINE, WEB_ADDRESS

# "tiers" is taken by the API itself: /vip/tiers lists the tiers, so that account's /vip/{loginname} could not be
# reached (names are matched without regard to case).
LOGIN_NAME_VALIDATOR = RegexValidator(
    r"^(?![Tt][Ii][Ee][Rr][Ss]\Z)[A-Za-z0-9@.+\-_]{3,64}\Z",
    "A login name has 3-64 characters: letters, digits and @ . + - _ (and is not \"tiers\", an address of the API)",
)
# Addresses in ASCII: Django's e-mail check takes a fullwidth or soft-hyphened domain (IDNA maps them to plain
# letters) and, matching without regard to case, a long s (U+017F) or a Kelvin sign (U+212A) in the local part,
# which the database's case folding equates with `s` and `k`. So bob@ with a fullwidth EXAMPLE.com gave the owner
# of bob@example.com a second account, and U+017F + am@ex.com took sam@ex.com. International domains: xn--.
EMAIL_ASCII_VALIDATOR = RegexValidator(
    r"^[!-~]+\Z", "An e-mail address is written in ASCII (an international domain in its xn-- form).",
)


def may_name_an_account(text: str) -> bool:
    """Whether `text` may be a login name or an e-mail address, both ASCII (their validators): a lookup by name
    checks this first. Matching without regard to case, PostgreSQL folds letters past ASCII that Python's
    lower() keeps apart (a dotless i with i, a long s with s): "al\u0131ce" found alice, while the keys its
    attempts were counted under (a lockout's, a mail cap's) were its own, which told real names from unknown
    ones and multiplied an account's reset mails."""
    return text.isascii()


def validate_email_domain(value: str) -> None:
    """Django's e-mail check takes domains that name no mailbox on the Internet: an address literal
    (`x@[127.0.0.1]`, `x@[IPv6:::1]`), a bare `localhost` and names under it (`x@db.localhost`, RFC 6761).
    Codes and notices sent there go to whatever host the address names, the mail server itself or the
    service's private network included."""
    _, at, domain = value.rpartition("@")
    host = domain.lower()
    if at and (host.startswith("[") or host == "localhost" or host.endswith(".localhost")):
        raise ValidationError("An e-mail address needs a domain name (name@example.com), not an IP address "
                              "or localhost.", code="invalid")


def validate_email_mailbox(value: str) -> None:
    """One mailbox, one spelling. A quoted local part ("bob"@example.com) and an RFC 2047 encoded word
    (=?utf-8?q?bob?=@example.com, which the mail library decodes: the code goes to bob@example.com) name
    bob@example.com's mailbox while differing from it as text, so its owner opened more accounts on one
    address and anyone could register an address whose mail went to someone else's."""
    local, at, _ = value.rpartition("@")
    if at and ('"' in local or "=?" in local):
        raise ValidationError("An e-mail address is written plainly (name@example.com): no quotes and no "
                              "encoded words (=?...?=) before the @.", code="invalid")


EMAIL_VALIDATORS: list[Callable[[str], None]] = [EMAIL_ASCII_VALIDATOR, validate_email_domain, validate_email_mailbox]
GITHUB_LOGIN_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\Z",
    "A GitHub login has up to 39 letters, digits or single inner hyphens (without @).",
)


def _minute(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class UserStatus(models.IntegerChoices):
    # The numbers are the original service's (seed 004); 4 and 6 were never used.
    INACTIVE = 1, "inactive"
    ACTIVE = 2, "active"
    INVALID = 3, "invalid"
    FROZEN = 5, "frozen"
    DELETED = 7, "deleted"


class Role(models.TextChoices):
    """What the API calls an account's powers: `admin` is a staff or superuser account, `common` neither."""
    COMMON = "common", "common"
    ADMIN = "admin", "admin"


# The accounts whose role is admin (User.role), as a filter: the API's role search, the back office, an index.
ADMINISTRATORS = Q(is_staff=True) | Q(is_superuser=True)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        # Login names are unique case-insensitively, so lookups are too (the admin login uses this).
        if username is None or not may_name_an_account(username):
            raise self.model.DoesNotExist("No such user.")
        return self.get(username__iexact=username)

    def name_claimed(self, name: str, *, by_other_than: "User | None" = None) -> bool:
        """Is `name` someone's address, or someone's login name? Sign-in takes either, so the two fields are
        one namespace, case-insensitively."""
        users = self.filter(Q(email__iexact=name) | Q(username__iexact=name))
        if by_other_than is not None:
            users = users.exclude(pk=by_other_than.pk)
        return users.exists()

    def lock_names(self, *names: str | None) -> None:
        """Holds these names until the transaction ends, on PostgreSQL (an advisory lock per name, taken in
        one order): the unique indexes cover each column alone, so two sign-ups claiming one name, one as its
        login name and one as its address, both passed the checks before either committed. The second now
        waits for the first and then sees it. (SQLite runs one writing transaction at a time.)"""
        connection = connections[router.db_for_write(self.model)]
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for name in sorted({name.lower() for name in names if name}):
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"accounts.identity:{name}"])

    def first_name_claimed(self, username: str, email: str | None, *,
                           by_other_than: "User | None" = None) -> str | None:
        """Holds an account's two names (lock_names) and answers the first that someone else has claimed, in
        either field (name_claimed), or None: the one identity rule of every way an account is created or
        renamed (services.users.identity_assert_free, create_user)."""
        self.lock_names(username, email)
        for name in (username, email):
            if name and self.name_claimed(name, by_other_than=by_other_than):
                return name
        return None

    def hold(self, pk: Any) -> None:
        """Holds the user's row until the transaction ends, FOR NO KEY UPDATE, as an UPDATE of it does: every
        change that writes the account's row queues behind it, and it behind them. Not FOR UPDATE, which also
        waits for the key-share locks that inserting a row pointing at the user (an audit row, a code, a token)
        takes at commit, for PostgreSQL's deferred foreign-key checks, and deadlocked with them. Changes that
        lock other rows of the account hold this one first (membership.services.membership_locked,
        accounts.oauth.revocation)."""
        self.select_for_update(no_key=True).filter(pk=pk).values_list("pk", flat=True).first()

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> "User":
        """For Django's createsuperuser and fixtures; the API creates users with services.users.user_create.
        Either way the password meets the validators (createsuperuser checks them only when it asks for the
        password), the names are held and checked, the account's plan is opened in the same transaction
        (accounts.plans) and the creation is audited. createsuperuser shows a ValidationError as its error."""
        user = self.model(username=username, **fields)
        if password is not None:
            validate_password(password, user)
        user.set_password(password)
        with transaction.atomic(using=self._db):
            taken = self.first_name_claimed(username, user.email)
            if taken is not None:
                raise ValidationError(f"{taken} is already someone's login name or e-mail address.")
            user.save(using=self._db)
            plans().account_open(user=user, now=timezone.now())
            audit_record(action=AuditAction.USER_CREATE, user=user)
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True, status=UserStatus.ACTIVE)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    username = models.CharField("login name", max_length=64, unique=True, validators=[LOGIN_NAME_VALIDATOR])
    email = models.EmailField(max_length=254, null=True, blank=True, validators=EMAIL_VALIDATORS)
    email_verified = models.BooleanField(default=False)
    nickname = models.CharField(max_length=64, blank=True, default="", validators=[ONE_LINE])
    real_name = models.CharField(max_length=64, blank=True, default="", validators=[ONE_LINE])
    intro = models.CharField("intro / comment", max_length=512, blank=True, default="", validators=[MULTILINE])
    github = models.CharField(max_length=39, blank=True, default="", validators=[GITHUB_LOGIN_VALIDATOR])
    school = models.CharField(max_length=64, blank=True, default="", validators=[ONE_LINE])
    website = models.URLField(max_length=200, blank=True, default="", validators=[WEB_ADDRESS])
    status = models.PositiveSmallIntegerField(choices=UserStatus.choices, default=UserStatus.ACTIVE)
    is_staff = models.BooleanField("admin role", default=False)
    is_developer = models.BooleanField(default=False)
    registered_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Tokens issued before this instant are refused: a password change ends every older credential.
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # The tier in force (`userType`), as membership records it (accounts.plans): `user_type` until
    # `invalid_at`, then `user_type_after`. Kept on the account so that every user reply is read from
    # one row, and so an expired tier reads as the base tier at once, before the nightly job runs.
    user_type = models.PositiveSmallIntegerField("userType", default=1, db_default=1)
    invalid_at = models.DateTimeField("tier expires at", null=True, blank=True)
    user_type_after = models.PositiveSmallIntegerField("userType after expiry", default=1, db_default=1)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["id"]
        # Operator powers beyond Django's add/change/delete/view (accountsite.policy names them).
        permissions = [
            ("change_user_status", "Can freeze, activate, invalidate, restore or delete users"),
            ("set_user_password", "Can set another user's password or e-mail address"),
            ("reset_user_mfa", "Can turn off another user's second factors"),
        ]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(
                Lower("email"), condition=models.Q(email__isnull=False), name="accounts_user_email_ci_unique"
            ),
            models.CheckConstraint(condition=models.Q(status__in=UserStatus.values), name="accounts_user_status_valid"),
            models.CheckConstraint(condition=~models.Q(email=""), name="accounts_user_email_null_not_blank"),
        ]
        # The back office's user list (ordered by id) filtered by role, developer mode or tier, and the
        # dashboard's users per tier (an index-only scan), stay fast on millions of rows.
        indexes = [
            models.Index(fields=["id"], condition=models.Q(is_staff=True), name="accounts_user_staff_id"),
            # The API search's role=admin (staff or superuser): one OR, which the staff index cannot serve.
            models.Index(fields=["id"], condition=ADMINISTRATORS, name="accounts_user_admin_id"),
            models.Index(fields=["id"], condition=models.Q(is_developer=True), name="accounts_user_developer_id"),
            # A userType filter is with_tier's two halves, each read from its own index alone. The tier not
            # lapsed, in id order: a page of it is the first ids of one tier, however rare or common (and
            # the dashboard's users per tier reads every column it needs from this index).
            models.Index(fields=["user_type", "id"], include=["invalid_at", "user_type_after"],
                         name="accounts_user_tier_id"),
            # The lapsed tiers (user_type_after, invalid_at <= now), ids included: few rows, sorted by id.
            models.Index(fields=["user_type_after", "invalid_at"], include=["id"], name="accounts_user_lapsed_id"),
            # A status in id order: a page deep in the frozen users skips their ids in this index alone.
            models.Index(fields=["status", "id"], name="accounts_user_status_id"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        # Django's auth (admin login, password reset forms) reads is_active; only status 2 may sign in.
        return self.status == UserStatus.ACTIVE

    @property
    def role(self) -> str:
        return Role.ADMIN if (self.is_staff or self.is_superuser) else Role.COMMON

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_deleted(self) -> bool:
        return self.status == UserStatus.DELETED

    @cached_property
    def has_second_factor(self) -> bool:
        """Whether the account signs in with a second factor (selectors.mfa_methods), asked once for this
        instance: STAFF_MFA_REQUIRED holds operators to it, in the API and the back office alike."""
        from accounts.selectors import mfa_methods  # the selectors read this module's models

        return bool(mfa_methods(self))

    @staticmethod
    def with_tier(user_type: int, now: datetime) -> models.Q:
        """A filter: the users whose tier in force at `now` is `user_type` (see tier_at)."""
        lapsed = models.Q(invalid_at__lte=now)
        return (models.Q(user_type=user_type) & ~lapsed) | (models.Q(user_type_after=user_type) & lapsed)

    def tier_at(self, now: datetime) -> tuple[int, datetime | None]:
        """(`userType`, `invalid_at`) in force at `now`: an expired tier reads as the one that follows it,
        with no expiry."""
        if self.invalid_at is not None and self.invalid_at <= now:
            return self.user_type_after, None
        return self.user_type, self.invalid_at
