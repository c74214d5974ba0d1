"""manage.py import_users, purge_deleted_users, run_outbox and demo_admin."""

import hashlib
import io
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.management.commands.import_users import ROWS_SKIPPED
from accounts.models import AuditEvent, Session, User, UserStatus
from accounts.plans import KEEP, plans
from accounts.services import users
from accountsite import errors
from accountsite import settings as project_settings
from membership.models import Membership, TierType
from quotas.models import Quota
from tests.conftest import client_for, envelope
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def run(*args: str, skipped: int = 0) -> tuple[str, str]:
    """The command's output. With `skipped`, import_users must end, after its summary, with the exit status
    of skipped rows and a message counting them; without, it must succeed."""
    out, err = StringIO(), StringIO()
    if skipped:
        with pytest.raises(CommandError, match=rf"^{skipped} row\(s\) skipped; see above$") as failed:
            call_command(*args, stdout=out, stderr=err)
        assert failed.value.returncode == ROWS_SKIPPED
    else:
        call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def import_rows(tmp_path, rows: list[str], *, dry_run: bool = False, skipped: int = 0) -> tuple[str, str]:
    """import_users on a file of these rows under the header (line 1)."""
    path = tmp_path / "rows.csv"
    path.write_text("\n".join(["loginname,email,nickname,hash", *rows]) + "\n")
    return run("import_users", str(path), *(["--dry-run"] if dry_run else []), skipped=skipped)


@pytest.fixture
def legacy_csv(tmp_path, user):
    pbkdf2 = PBKDF2PasswordHasher().encode("pbkdf2-Old-passw0rd", "somesalt", iterations=1000)
    path = tmp_path / "users.csv"
    path.write_text("\n".join([
        "loginname,email,nickname,hash",
        f"old1@example.com,old1@example.com,Old One,{md5('md5-Old-passw0rd').upper()}",  # line 2
        f"old2,,Old Two,{pbkdf2}",                                                       # line 3
        f"ALICE,someone@example.com,Dup Name,{md5('x')}",                                 # line 4: name taken
        f"old3,Alice@Example.com,Dup Mail,{md5('x')}",                                    # line 5: e-mail taken
        "bad name,bad@example.com,Bad,0123",                                              # line 6
        f"old4,not-an-email,Bad Mail,{md5('x')}",                                         # line 7
        "old5,old5@example.com,Bad Hash,sha1$abc$def",                                    # line 8
        f"OLD1@example.com,other@example.com,Dup In File,{md5('x')}",                     # line 9
        f"old6,old6@example.com,{'n' * 65},{md5('x')}",                                   # line 10
    ]) + "\n")
    return path


def test_import_reports_bad_rows_and_imports_the_good(legacy_csv):
    count = User.objects.count()
    out, err = run("import_users", str(legacy_csv), skipped=7)
    assert "imported 2, skipped 7" in out
    for line in (4, 5, 6, 7, 8, 9, 10):
        assert f"line {line}: skipped" in err
    assert "line 2:" not in err and "line 3:" not in err
    assert "line 4: skipped: This login name is already taken." in err
    assert "line 8: skipped: hash: neither a hex MD5 nor a pbkdf2_sha256 hash" in err
    assert User.objects.count() == count + 2
    old1 = User.objects.get(username="old1@example.com")
    assert old1.password == f"unsalted_md5$${md5('md5-Old-passw0rd')}" and old1.status == UserStatus.ACTIVE
    assert Membership.objects.get(user=old1).tier.user_type == TierType.REGISTERED
    assert Quota.objects.filter(user=old1).count() == 4
    assert User.objects.get(username="old2").email is None


def test_dry_run_writes_nothing_but_reports_the_same(legacy_csv):
    count, events = User.objects.count(), AuditEvent.objects.count()
    out, err = run("import_users", str(legacy_csv), "--dry-run", skipped=7)
    assert "would import 2, skipped 7" in out and "line 9: skipped: duplicate of an earlier row" in err
    assert (User.objects.count(), AuditEvent.objects.count()) == (count, events)


def test_import_of_a_missing_file_or_column_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_users", str(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("loginname,email\nx,y\n")
    with pytest.raises(CommandError, match="missing column"):
        run("import_users", str(bad))
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("loginname,email,password,nickname\n", encoding="utf-16")
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        run("import_users", str(utf16))


@pytest.mark.parametrize(("username", "password"), [
    ("old1@example.com", "md5-Old-passw0rd"), ("old2", "pbkdf2-Old-passw0rd"),
])
def test_imported_user_logs_in_and_is_rehashed_with_argon2id(legacy_csv, settings, anon_client, username, password):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    run("import_users", str(legacy_csv), skipped=7)
    envelope(anon_client.post("/auth/login", {"username": username, "password": "wrong-passw0rd"}, format="json"),
             errors.WrongPasswordError, status=401)
    envelope(anon_client.post("/auth/login", {"username": username, "password": password}, format="json"))
    stored = User.objects.get(username=username).password
    assert stored.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    envelope(anon_client.post("/auth/login", {"username": username, "password": password}, format="json"))


def test_a_pbkdf2_hash_spelt_otherwise_is_stored_as_django_checks_it(tmp_path, settings, anon_client):
    """Iterations with a leading zero decode to the same hash, but Django compares the hash as text: stored as
    given, the account could never sign in."""
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    _algorithm, iterations, salt, digest = PBKDF2PasswordHasher().encode("pbkdf2-Old-passw0rd", "somesalt",
                                                                         iterations=1000).split("$")
    import_rows(tmp_path, [f"old9,,Nine,pbkdf2_sha256$0{iterations}${salt}${digest}"])
    assert User.objects.get(username="old9").password == f"pbkdf2_sha256${iterations}${salt}${digest}"
    envelope(anon_client.post("/auth/login", {"username": "old9", "password": "pbkdf2-Old-passw0rd"}, format="json"))


def test_purge_anonymises_old_deleted_users_only(anon_client, admin_client):
    now = timezone.now()
    old = UserFactory(username="longgone", email="longgone@example.com", real_name="Real Name", github="lg")
    client_for(old)
    recent = UserFactory(username="justgone")
    active = UserFactory(username="stays")
    User.objects.filter(pk=old.pk).update(status=UserStatus.DELETED, status_changed_at=now - timedelta(days=31))
    User.objects.filter(pk=recent.pk).update(status=UserStatus.DELETED, status_changed_at=now - timedelta(days=5))
    out, _err = run("purge_deleted_users", "--older-than", "30")
    assert "purged 1 deleted account(s)" in out

    purged = User.objects.get(pk=old.pk)
    assert purged.username.startswith(f"deleted-{old.pk}-") and purged.email is None
    assert (purged.real_name, purged.github, purged.nickname) == ("", "", "")
    assert not purged.has_usable_password() and purged.status == UserStatus.DELETED
    assert not Session.objects.filter(user=purged).exists()
    assert Membership.objects.filter(user=purged).exists()  # billing history keeps its user row
    assert User.objects.get(pk=recent.pk).username == "justgone"
    assert User.objects.get(pk=active.pk).status == UserStatus.ACTIVE
    # The name and address are free again; a second run finds nothing more to do.
    envelope(anon_client.post("/users/longgone", {"password": "a-Long-enough-passw0rd",
                                                  "email": "longgone@example.com"}, format="json"), status=201)
    assert "purged 0" in run("purge_deleted_users", "--older-than", "30")[0]


def test_a_purged_administrator_keeps_neither_the_admin_tier_nor_any_power(admin_user):
    """Purging dropped the staff flags but not the admin tier: restored, the account was a common user with
    unlimited quotas, and its staff groups stayed."""
    former = UserFactory(username="ex-ops", is_staff=True)
    plans().account_plan_assign(user=former, actor=None, user_type=None, expires_at=KEEP, role_changed=True)
    former.groups.set(Group.objects.filter(name="support"))
    User.objects.filter(pk=former.pk).update(status=UserStatus.DELETED,
                                             status_changed_at=timezone.now() - timedelta(days=31))
    assert "purged 1" in run("purge_deleted_users", "--older-than", "30")[0]
    purged = User.objects.get(pk=former.pk)
    assert purged.role == "common" and not purged.groups.exists()
    assert Membership.objects.get(user=purged).tier.user_type == TierType.REGISTERED
    assert purged.user_type == TierType.REGISTERED
    assert not Quota.objects.filter(user=purged, quota=-1).exists()


def test_purge_takes_a_deleted_user_who_chose_a_purged_looking_name():
    lookalike = UserFactory(username="deleted-1-abcdef12", email="look@example.com")
    User.objects.filter(pk=lookalike.pk).update(status=UserStatus.DELETED,
                                                status_changed_at=timezone.now() - timedelta(days=31))
    assert "purged 1" in run("purge_deleted_users", "--older-than", "30")[0]
    purged = User.objects.get(pk=lookalike.pk)
    assert purged.email is None and not purged.has_usable_password()
    assert "purged 0" in run("purge_deleted_users", "--older-than", "30")[0]


def test_purge_takes_an_account_created_deleted(admin_client):
    """An operator may create an account in status 7; it never changed status, so it had no
    status_changed_at and no run of purge_deleted_users ever took it: its name stayed reserved for good."""
    envelope(admin_client.post("/users/borngone", {"password": "a-Long-enough-passw0rd", "status": 7,
                                                   "email": "borngone@example.com"}, format="json"), status=201)
    User.objects.filter(username="borngone").update(registered_at=timezone.now() - timedelta(days=31))
    assert "purged 0" in run("purge_deleted_users", "--older-than", "32")[0]
    assert "purged 1" in run("purge_deleted_users", "--older-than", "30")[0]
    assert not User.objects.filter(username="borngone").exists()
    assert User.objects.filter(status=UserStatus.DELETED, email__isnull=True, username__startswith="deleted-").exists()


@pytest.mark.parametrize("days", ["-1", "36501", "99999999999"])
def test_purge_needs_a_sane_age(days):
    with pytest.raises(CommandError, match="0 to 36,500 days"):
        run("purge_deleted_users", "--older-than", days)


def test_demo_admin_makes_the_operator_and_re_keys_only_its_own_account(settings):
    settings.PRODUCTION = False
    first = run("demo_admin")[0]
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(first.split("password '")[1].split("'")[0])
    api = client_for(admin, "cli")
    second = run("demo_admin")[0].split("password '")[1].split("'")[0]
    assert User.objects.get(pk=admin.pk).check_password(second)
    envelope(api.get("/auth/me"), errors.NotAuthenticatedError)  # re-keyed: its sessions ended


def test_demo_admin_creates_and_revives_its_account_on_the_record(settings):
    settings.PRODUCTION = False
    run("demo_admin")
    admin = User.objects.get(username="admin")
    assert AuditEvent.objects.filter(user=admin, action="user.create").count() == 1
    users.user_status_set(user=admin, status=UserStatus.FROZEN, actor=None)
    run("demo_admin")
    assert User.objects.get(pk=admin.pk).status == UserStatus.ACTIVE
    assert AuditEvent.objects.filter(user=admin, action="user.status", data__reason="demo_admin",
                                     data__status=UserStatus.ACTIVE).exists()


def test_demo_admin_does_not_take_over_a_user_named_admin(settings):
    settings.PRODUCTION = False
    someone = UserFactory(username="Admin")
    signed_in = client_for(someone, "cli")
    with pytest.raises(CommandError, match="not a superuser"):
        run("demo_admin")
    assert not User.objects.get(pk=someone.pk).is_staff
    envelope(signed_in.get("/auth/me"))
    envelope(signed_in.get("/users/"), errors.PermissionDeniedError)


@pytest.mark.parametrize("dry_run", [False, True])
def test_import_skips_a_row_with_a_nul_character(tmp_path, dry_run):
    # PostgreSQL refuses NUL in text: the row used to end the import with a DataError traceback.
    count = User.objects.count()
    out, err = import_rows(tmp_path, [
        f"nul1,nul1@example.com,Fine,{md5('x')}",             # line 2
        f"nul2,nul2@example.com,Bad\x00Nick,{md5('x')}",      # line 3
        f"nul3\x00,,Bad Name,{md5('x')}",                     # line 4
        f"nul4,nul4@example.com,Fine Too,{md5('x')}",         # line 5
    ], dry_run=dry_run, skipped=2)
    assert f"{'would import' if dry_run else 'imported'} 2, skipped 2" in out
    assert "line 3: skipped: nickname: must not contain a NUL character" in err
    assert "line 4: skipped: loginname: must not contain a NUL character" in err
    expected = set() if dry_run else {"nul1", "nul4"}
    assert set(User.objects.filter(username__startswith="nul").values_list("username", flat=True)) == expected
    assert User.objects.count() == count + len(expected)


@pytest.mark.parametrize("dry_run", [False, True])
def test_import_counts_names_and_addresses_as_one_namespace_in_the_dry_run_too(tmp_path, dry_run):
    out, err = import_rows(tmp_path, [
        f"ww1,ww2@ex.com,One,{md5('x')}",        # line 2
        f"ww2@ex.com,,Two,{md5('x')}",            # line 3: ww1's address as a login name
        f"ww4@ex.com,,Four,{md5('x')}",           # line 4
        f"ww5,WW4@EX.COM,Five,{md5('x')}",        # line 5: line 4's login name as an address
    ], dry_run=dry_run, skipped=2)
    assert f"{'would import' if dry_run else 'imported'} 2, skipped 2" in out
    assert "line 3: skipped" in err and "line 5: skipped" in err


def test_import_reports_the_line_a_row_starts_on_and_refuses_line_breaks_in_a_field(tmp_path):
    path = tmp_path / "breaks.csv"
    path.write_text("loginname,email,nickname,hash\n"
                    f'br1,br1@ex.com,"Evil\r\nBcc: x@ex.com",{md5("x")}\n'    # lines 2-3
                    f"br2,br2@ex.com,Fine,{md5('x')}\n"                      # line 4
                    f"br3 bad,br3@ex.com,Bad,{md5('x')}\n"                   # line 5
                    f"br4,br4@ex.com,Long,pbkdf2_sha256$1$salt${'A' * 200}\n"  # line 6: longer than the column
                    f"br5,{'e' * 250}@ex.com,Long,{md5('x')}\n", newline="")  # line 7
    out, err = run("import_users", str(path), skipped=4)
    assert "imported 1, skipped 4" in out
    assert "line 2: skipped: nickname: must not contain a line break character" in err
    assert "line 5: skipped: loginname" in err and "line 6: skipped: hash" in err and "line 7: skipped: email" in err
    assert User.objects.filter(username__startswith="br").count() == 1


def test_import_refuses_a_column_given_twice_and_names_the_line_of_a_broken_record(tmp_path):
    """Of two `email` columns the last silently won, so every account got the other column's address; and a
    record the csv module refused was reported by the line before it."""
    twice = tmp_path / "twice.csv"
    twice.write_text(f"loginname,email,nickname,hash,email\ntw1,tw1@ex.com,One,{md5('x')},other@ex.com\n")
    with pytest.raises(CommandError, match=r"column\(s\) given more than once: email"):
        run("import_users", str(twice))
    assert not User.objects.filter(username="tw1").exists()
    huge = tmp_path / "huge.csv"
    huge.write_text(f"loginname,email,nickname,hash\nhg1,,,{md5('x')}\nhg2,,{'n' * 200_000},{md5('x')}\n")
    with pytest.raises(CommandError, match=r"huge.csv, line 3: field larger than field limit"):
        run("import_users", str(huge))
    assert not User.objects.filter(username__startswith="hg").exists()


def test_import_refuses_a_pbkdf2_hash_no_sign_in_could_check(tmp_path, anon_client):
    """A hash with 10^20 iterations was imported, and every sign-in to the account was then a 500
    (OverflowError in hashlib); 2^31 - 1 iterations held a worker for over 20 minutes per attempt."""
    real = PBKDF2PasswordHasher().encode("pbkdf2-Old-passw0rd", "somesalt", iterations=1000)
    _algorithm, _iterations, salt, digest = real.split("$")
    out, err = import_rows(tmp_path, [
        f"it1,,,pbkdf2_sha256$99999999999999999999${salt}${digest}",   # line 2
        f"it2,,,pbkdf2_sha256$2147483647${salt}${digest}",             # line 3
        f"it3,,,pbkdf2_sha256$0${salt}${digest}",                      # line 4
        f"it4,,,pbkdf2_sha256$1000${salt}$AAAA",                       # line 5: 3 bytes
        f"it5,,,pbkdf2_sha256$1000${salt}${digest[:-2]}",              # line 6: not base64
        f"it6,,,{real}",                                               # line 7
    ], skipped=5)
    assert "imported 1, skipped 5" in out
    assert "line 2: skipped: hash: a pbkdf2_sha256 hash has 1 to 2,000,000 iterations" in err
    assert "line 3: skipped: hash" in err and "line 4: skipped: hash" in err
    assert "line 5: skipped: hash: a pbkdf2_sha256 digest is 32 bytes in base64" in err
    assert "line 6: skipped: hash: a pbkdf2_sha256 digest" in err
    assert list(User.objects.filter(username__startswith="it").values_list("username", flat=True)) == ["it6"]
    envelope(anon_client.post("/auth/login", {"username": "it6", "password": "pbkdf2-Old-passw0rd"}, format="json"))


@pytest.mark.parametrize("interval", ["-1", "nan", "inf", "1e400", "0", "x", "0.0001", "\u0663", "1_0", " 1"])
def test_run_outbox_refuses_an_interval_it_cannot_sleep(interval):
    with pytest.raises(CommandError, match=r"give 0\.1 to 3,600 seconds, in ASCII digits"):
        run("run_outbox", "--once", "--interval", interval)


@pytest.mark.parametrize("interval", ["0.1", "2.5", "3600"])
def test_run_outbox_takes_an_interval_in_ascii_digits(interval):
    run("run_outbox", "--once", "--interval", interval)


@pytest.mark.parametrize("days", ["\u0663\u0660", "\uff13\uff10", "3_0", " 30", "30.0", "3e1"])
def test_purge_reads_its_age_in_ascii_digits_only(days):
    """argparse's int read "٣٠" (Arabic-Indic) as 30; the API reads ASCII digits only, and so do the commands."""
    gone = UserFactory(username="digits")
    User.objects.filter(pk=gone.pk).update(status=UserStatus.DELETED,
                                           status_changed_at=timezone.now() - timedelta(days=31))
    with pytest.raises(CommandError, match="give 0 to 36,500 days, in ASCII digits"):
        run("purge_deleted_users", "--older-than", days)
    assert User.objects.get(pk=gone.pk).username == "digits"


def test_import_of_a_clean_file_succeeds(tmp_path):
    out, err = import_rows(tmp_path, [f"ok1,,,{md5('x')}", f"ok2,,,{md5('x')}"])
    assert "imported 2, skipped 0" in out and err == ""


@pytest.mark.parametrize("dry_run", [False, True])
def test_import_with_skipped_rows_exits_non_zero_after_importing_the_rest(tmp_path, dry_run):
    """It exited 0 whatever it skipped, so cron or a CI check of a file could not tell it partly failed."""
    out, err = import_rows(tmp_path, [f"ex1,,,{md5('x')}", f"ex 2,,,{md5('x')}", f"ex3,,,{md5('x')}"],
                           dry_run=dry_run, skipped=1)
    assert f"{'would import' if dry_run else 'imported'} 2, skipped 1" in out and "line 3: skipped" in err
    expected = [] if dry_run else ["ex1", "ex3"]
    assert sorted(User.objects.filter(username__startswith="ex").values_list("username", flat=True)) == expected


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_import_draws_its_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    """The bar went to standard error whatever it was, and so into every cron mail."""
    import_rows(tmp_path, [f"pb1,,,{md5('x')}", f"pb2,,,{md5('x')}"])  # pytest captures stderr: no terminal
    assert capsys.readouterr().err == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    import_rows(tmp_path, [f"pb3,,,{md5('x')}"])
    assert "import: 100%" in terminal.getvalue()
    assert User.objects.filter(username__startswith="pb").count() == 3


def test_demo_admin_says_why_when_its_address_is_someone_elses(settings):
    settings.PRODUCTION = False
    UserFactory(username="someone", email="Admin@Example.com")
    with pytest.raises(CommandError, match="already someone's"):
        run("demo_admin")
    assert not User.objects.filter(username="admin").exists()


def test_import_keeps_the_name_rule_of_every_other_door(tmp_path):
    """A right-to-left override reversed the text around a name wherever it was shown; the API and the
    back office refused it, the import did not."""
    out, err = import_rows(tmp_path, [f"rtl1,rtl1@ex.com,admin\u202egnp.exe,{md5('x')}",   # line 2
                                      f"rtl2,rtl2@ex.com,\u0645\u0631\u062d\u0628\u0627,{md5('x')}"],  # line 3
                           skipped=1)
    assert "imported 1, skipped 1" in out
    assert "line 2: skipped: nickname: No control characters or text-direction marks here." in err



def test_import_keeps_the_address_rule_of_every_other_door(tmp_path):
    out, err = import_rows(tmp_path, [f"lit1,lit1@[10.0.0.5],One,{md5('x')}",       # line 2
                                      f"lit2,lit2@localhost,Two,{md5('x')}",         # line 3
                                      f"lit3,lit3@mail.example.com,Three,{md5('x')}"],  # line 4
                           skipped=2)
    assert "imported 1, skipped 2" in out
    assert "line 2: skipped: email: An e-mail address needs a domain name" in err and "line 3: skipped" in err
    assert set(User.objects.filter(username__startswith="lit").values_list("username", flat=True)) == {"lit3"}


def test_createsuperuser_without_a_prompt_holds_to_the_password_rules_and_is_audited(monkeypatch):
    """Asked for no password, createsuperuser checked none: `1` made an operator the API would refuse."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "1")
    with pytest.raises(CommandError, match="too short"):
        call_command("createsuperuser", interactive=False, username="weakop", email="weak@example.com", verbosity=0)
    assert not User.objects.filter(username="weakop").exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Op3rator-pass-2026!")
    call_command("createsuperuser", interactive=False, username="ops", email="ops@example.com", verbosity=0)
    assert AuditEvent.objects.filter(user__username="ops", action="user.create", actor=None).exists()


def test_import_skips_a_row_with_more_fields_than_the_header(tmp_path):
    """An unquoted comma in a nickname shifted nothing the importer checked, and the extra field was
    dropped without a word."""
    out, err = import_rows(tmp_path, [f"wide,wide@example.com,Wide,{md5('x')},extra",
                                      f"fits,fits@example.com,Fits,{md5('x')}"], skipped=1)
    assert "imported 1, skipped 1" in out and "line 2: skipped: 1 field(s) more than the header names" in err
    assert not User.objects.filter(username="wide").exists()
