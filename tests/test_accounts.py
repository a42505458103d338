"""Local accounts on a real store: argon2id hashes, refusals that say nothing, lock-out, sessions, the CLI."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import click
import pytest
from argon2 import PasswordHasher, Type
from click.testing import CliRunner

from koban_geo.cli.users import users
from koban_geo.community import accounts
from koban_geo.community.accounts import (
    AccountError,
    LoginError,
    PasswordPolicyError,
    Role,
    account_for_sso,
    add_user,
    audience_for,
    authenticate,
    disable_user,
    enable_user,
    end_session,
    list_users,
    purge_sessions,
    session_user,
    set_email,
    set_password,
    start_session,
)
from koban_geo.privacy.audience import Audience
from koban_geo.store.db import connect

REAL_HASHER = accounts._HASHER
PASSWORD = "correct horse battery staple"
T0 = datetime(2025, 3, 1, 9, 0)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """Cheap argon2id parameters: the tests count and compare, they do not measure the hash's cost."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_HASHER", hasher)
    return hasher


@pytest.fixture
def anna(con) -> str:
    add_user(con, "anna.k", PASSWORD, "officer", actor="admin:setup", now=T0)
    return "anna.k"


def _audit(con) -> list[tuple[str, str, str]]:
    return con.execute("SELECT actor, action, detail FROM audit_log ORDER BY id").fetchall()


def _refusal(con, settings, username: str, password: str, now: datetime) -> LoginError:
    with pytest.raises(LoginError) as caught:
        authenticate(con, settings, username, password, now=now)
    return caught.value


def test_roles_map_to_audience_tiers() -> None:
    assert {role: audience_for(role) for role in Role} == {
        Role.OFFICER: Audience.OFFICER,
        Role.ANALYST: Audience.ANALYST,
        Role.COUNCIL: Audience.COUNCIL,
        Role.ADMIN: Audience.OFFICER,
    }
    assert audience_for("admin") is Audience.OFFICER
    with pytest.raises(AccountError, match="unknown role"):
        audience_for("public")


def test_password_is_an_argon2id_hash_and_never_in_the_store_file(settings, monkeypatch) -> None:
    monkeypatch.setattr(accounts, "_HASHER", REAL_HASHER)
    assert (REAL_HASHER.type, REAL_HASHER.time_cost, REAL_HASHER.memory_cost) == (Type.ID, 3, 65536)
    con = connect(settings.db)
    add_user(con, "anna.k", PASSWORD, "officer", actor="admin")
    authenticate(con, settings, "anna.k", PASSWORD)
    token = start_session(con, settings, "anna.k")
    (stored,) = con.execute("SELECT password_hash FROM accounts").fetchone()
    (token_hash,) = con.execute("SELECT token_hash FROM sessions").fetchone()
    con.close()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert REAL_HASHER.verify(stored, PASSWORD)
    assert token_hash == accounts._token_hash(token) and len(token_hash) == 64
    raw = settings.db.read_bytes()
    wal = settings.db.with_name(settings.db.name + ".wal")
    if wal.exists():
        raw += wal.read_bytes()
    assert PASSWORD.encode() not in raw
    assert token.encode() not in raw


def test_login_ok_returns_the_account_and_a_wrong_password_is_counted(con, settings, anna) -> None:
    account = authenticate(con, settings, anna, PASSWORD, now=T0)
    assert (account.username, account.role, account.audience) == ("anna.k", Role.OFFICER, Audience.OFFICER)
    assert account.last_login_at == T0 and account.failed_logins == 0
    error = _refusal(con, settings, anna, PASSWORD + "!", T0)
    assert error.reason == "bad_password"
    assert accounts.get_user(con, anna).failed_logins == 1
    assert _audit(con)[-2:] == [
        ("anna.k", "login_ok", ""),
        ("anna.k", "login_failed", "wrong password (1 in a row)"),
    ]


def test_unknown_user_gets_the_same_message_after_a_hash_check(con, settings, anna, monkeypatch) -> None:
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "_HASHER", CountingHasher(time_cost=1, memory_cost=8, parallelism=1))
    wrong = _refusal(con, settings, anna, "not the password at all", T0)
    unknown = _refusal(con, settings, "nobody", "not the password at all", T0)
    malformed = _refusal(con, settings, "Robert'); DROP TABLE accounts;--", PASSWORD, T0)
    assert str(wrong) == str(unknown) == str(malformed) == LoginError.MESSAGE
    assert unknown.reason == malformed.reason == "unknown_user" and "nobody" not in str(unknown)
    assert len(verified) == 3  # the unknown names were checked against a dummy hash, taking as long
    assert verified[1].startswith("$argon2id$") and verified[1] == verified[2]
    # the attempted name is not recorded: it may be a password typed into the username box
    assert _audit(con)[-2:] == [("-", "login_failed", "unknown username")] * 2
    assert con.execute("SELECT count(*) FROM accounts").fetchone() == (1,)


def test_lockout_after_n_failures_refuses_the_right_password_until_it_ends(con, settings, anna) -> None:
    assert (settings.login_max_failures, settings.lockout_minutes) == (5, 15)
    for i in range(5):
        assert _refusal(con, settings, anna, f"wrong guess number {i}", T0 + timedelta(seconds=i)).reason == (
            "bad_password"
        )
    account = accounts.get_user(con, anna)
    assert account.failed_logins == 5 and account.locked_until == T0 + timedelta(seconds=4, minutes=15)
    assert account.locked(T0 + timedelta(minutes=1))
    during = _refusal(con, settings, anna, PASSWORD, T0 + timedelta(minutes=10))
    assert during.reason == "locked" and str(during) == LoginError.MESSAGE
    assert [a for _, a, _ in _audit(con)].count("account_locked") == 1
    assert _audit(con)[-1] == ("anna.k", "login_failed", "locked")

    after = T0 + timedelta(minutes=15, seconds=5)
    # once the lock-out is over a wrong password starts a fresh run: it does not lock again at once
    assert _refusal(con, settings, anna, "one more wrong guess", after).reason == "bad_password"
    assert accounts.get_user(con, anna).failed_logins == 1
    account = authenticate(con, settings, anna, PASSWORD, now=after)
    assert (account.failed_logins, account.locked_until) == (0, None)


def test_a_success_resets_the_failure_count(con, settings, anna) -> None:
    for round_ in range(2):
        for i in range(4):
            _refusal(con, settings, anna, f"wrong guess {round_} {i}", T0)
        authenticate(con, settings, anna, PASSWORD, now=T0)
    assert not accounts.get_user(con, anna).locked(T0)


def test_disabled_users_are_refused_and_lose_their_sessions(con, settings, anna) -> None:
    token = start_session(con, settings, anna, now=T0)
    disable_user(con, anna, actor="admin:b", now=T0)
    assert session_user(con, token, now=T0) is None
    assert _refusal(con, settings, anna, PASSWORD, T0).reason == "disabled"
    with pytest.raises(AccountError, match="no active account"):
        start_session(con, settings, anna, now=T0)
    assert ("admin:b", "user_disabled", "anna.k (1 sessions ended)") in _audit(con)
    enable_user(con, anna, actor="admin:b", now=T0)
    assert authenticate(con, settings, anna, PASSWORD, now=T0).active
    assert session_user(con, token, now=T0) is None  # re-enabling does not bring old sessions back
    with pytest.raises(AccountError, match="no account named"):
        disable_user(con, "ghost", actor="admin:b")


def test_enable_lifts_a_lock_out(con, settings, anna) -> None:
    for i in range(5):
        _refusal(con, settings, anna, f"wrong guess {i}", T0)
    enable_user(con, anna, actor="admin:b", now=T0)
    assert authenticate(con, settings, anna, PASSWORD, now=T0 + timedelta(minutes=1)).username == anna


def test_session_expiry_and_revocation(con, settings, anna) -> None:
    assert settings.session_minutes == 480
    token = start_session(con, settings, anna, now=T0)
    assert len(token) >= 40
    assert session_user(con, token, now=T0 + timedelta(minutes=479)).username == anna
    assert session_user(con, token, now=T0 + timedelta(minutes=480)) is None
    for bad in (None, "", "x" * 43, token[:-1], token + "x"):
        assert session_user(con, bad, now=T0) is None

    second = start_session(con, settings, anna, now=T0)
    assert end_session(con, second, now=T0 + timedelta(minutes=1)) is True
    assert session_user(con, second, now=T0 + timedelta(minutes=2)) is None
    assert end_session(con, second, now=T0 + timedelta(minutes=3)) is False
    assert end_session(con, "no such token at all here", now=T0) is False

    third = start_session(con, settings, anna, now=T0)
    set_password(con, anna, "a different long phrase", actor="anna.k", now=T0)
    assert session_user(con, third, now=T0) is None  # a new password ends every session
    assert purge_sessions(con, now=T0 + timedelta(days=1)) == 3
    assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_login_rehashes_when_the_parameters_change(con, settings, anna, monkeypatch) -> None:
    (old,) = con.execute("SELECT password_hash FROM accounts").fetchone()
    assert "m=8,t=1,p=1" in old
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(accounts, "_HASHER", stronger)
    authenticate(con, settings, anna, PASSWORD, now=T0)
    (new,) = con.execute("SELECT password_hash FROM accounts").fetchone()
    assert "m=16,t=2,p=1" in new and not stronger.check_needs_rehash(new)
    assert _audit(con)[-1] == ("anna.k", "login_ok", "password rehashed")
    authenticate(con, settings, anna, PASSWORD, now=T0)
    assert con.execute("SELECT password_hash FROM accounts").fetchone() == (new,)
    assert _audit(con)[-1] == ("anna.k", "login_ok", "")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "at least 12"),
        ("x" * 1025, "at most 1024"),
        ("Anna.K", "at least 12"),
        ("anna.k.from.the.station", None),
        ("Password2024!", "too common"),
        ("qwerty123456", "too common"),
        ("123456789012", "too common"),
        ("aaaaaaaaaaaaaa", "too common"),
        ("iloveyou!!!!", "too common"),
    ],
)
def test_password_policy(password: str, message: str | None) -> None:
    if message is None:
        accounts.check_password(password, "anna.k")
    else:
        with pytest.raises(PasswordPolicyError, match=message):
            accounts.check_password(password, "anna.k")


def test_password_equal_to_the_username_is_refused(con) -> None:
    with pytest.raises(PasswordPolicyError, match="must not be the username"):
        add_user(con, "constable.long", "Constable.Long", "officer", actor="admin")
    assert list_users(con) == []


@pytest.mark.parametrize("username", ["a", "Anna", "anna k", "anna@police.example", "x" * 65, "anna/k", ""])
def test_usernames_outside_the_pattern_are_refused(con, username: str) -> None:
    with pytest.raises(AccountError, match="2 to 64 characters"):
        add_user(con, username, PASSWORD, "officer", actor="admin")


def test_add_user_refuses_duplicates_and_unknown_roles(con, anna) -> None:
    with pytest.raises(AccountError, match="exists already"):
        add_user(con, anna, PASSWORD, "analyst", actor="admin")
    with pytest.raises(AccountError, match="unknown role"):
        add_user(con, "bert", PASSWORD, "superuser", actor="admin")
    assert [(a.username, a.role) for a in list_users(con)] == [("anna.k", Role.OFFICER)]


def test_add_user_is_all_or_nothing(con, monkeypatch) -> None:
    def failing_audit(*args: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(accounts, "audit", failing_audit)
    with pytest.raises(RuntimeError):
        add_user(con, "anna.k", PASSWORD, "officer", actor="admin")
    assert list_users(con) == []


def test_an_account_without_password_signs_in_only_through_the_identity_provider(con, settings) -> None:
    add_user(con, "carla", None, "council", actor="admin", now=T0)
    assert _refusal(con, settings, "carla", "", T0).reason == "no_password"
    token = start_session(con, settings, "carla", now=T0)  # what the OIDC login does after mapping the e-mail
    assert session_user(con, token, now=T0).audience is Audience.COUNCIL
    assert accounts.get_user(con, "carla").failed_logins == 0


def test_audit_rows_name_every_event_and_hold_no_secret(con, settings, anna) -> None:
    authenticate(con, settings, anna, PASSWORD, now=T0)
    for i in range(5):
        _refusal(con, settings, anna, f"secret guess {i} xyz", T0)
    token = start_session(con, settings, anna, now=T0 + timedelta(hours=1))
    end_session(con, token, now=T0 + timedelta(hours=1))
    set_password(con, anna, "brand new secret phrase", actor="admin:b", now=T0)
    disable_user(con, anna, actor="admin:b", now=T0)
    enable_user(con, anna, actor="admin:b", now=T0)
    rows = _audit(con)
    assert {action for _, action, _ in rows} == {
        "user_added", "login_ok", "login_failed", "account_locked", "session_started", "session_ended",
        "password_changed", "user_disabled", "user_enabled",
    }  # fmt: skip
    dump = repr(rows)
    for secret in (PASSWORD, "secret guess", "brand new secret phrase", token, accounts._token_hash(token)):
        assert secret not in dump
    assert "$argon2" not in dump


def test_single_sign_on_maps_an_admin_set_address_to_an_active_account(con, anna) -> None:
    assert account_for_sso(con, "anna.k@police.example") is None  # no address set: no access
    set_email(con, anna, "Anna.K@Police.Example", actor="admin:b")
    assert account_for_sso(con, "anna.k@POLICE.example").username == anna
    assert account_for_sso(con, "anna.k@gmail.example") is None  # same local part, other domain
    for bad in (None, "", "anna.k", "a@b@c.example"):
        assert account_for_sso(con, bad) is None
    with pytest.raises(AccountError, match="already signs in as 'anna.k'"):
        add_user(con, "anna.k2", None, "officer", actor="admin:b", email="anna.k@police.example")
    with pytest.raises(AccountError, match="not an e-mail address"):
        set_email(con, anna, "not an address", actor="admin:b")
    disable_user(con, anna, actor="admin:b")
    assert account_for_sso(con, "anna.k@police.example") is None
    enable_user(con, anna, actor="admin:b")
    set_email(con, anna, None, actor="admin:b")
    assert account_for_sso(con, "anna.k@police.example") is None
    assert [d for _, a, d in _audit(con) if a == "email_changed"] == ["anna.k set", "anna.k cleared"]


def _failed_logins_from_threads(con, settings, n: int = 20) -> list[str]:
    barrier = threading.Barrier(n)

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            authenticate(con, settings, "anna.k", f"wrong password number {i}", now=T0)
        except LoginError as exc:
            return exc.reason
        return "ok"

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))


def test_concurrent_failed_logins_on_one_connection_all_count(con, settings, anna) -> None:
    settings = settings.replace(login_max_failures=50)
    reasons = _failed_logins_from_threads(con, settings)
    assert reasons == ["bad_password"] * 20
    assert accounts.get_user(con, anna).failed_logins == 20
    details = sorted(d for _, a, d in _audit(con) if a == "login_failed")
    assert details == sorted(f"wrong password ({n} in a row)" for n in range(1, 21))


def test_concurrent_failed_logins_lock_exactly_once(con, settings, anna) -> None:
    reasons = _failed_logins_from_threads(con, settings)
    assert sorted(reasons) == ["bad_password"] * 5 + ["locked"] * 15
    assert accounts.get_user(con, anna).failed_logins == 5
    assert [a for _, a, _ in _audit(con)].count("account_locked") == 1
    assert _refusal(con, settings, anna, PASSWORD, T0 + timedelta(minutes=1)).reason == "locked"


# --- the `koban-geo users` commands -------------------------------------------------------------------------


@pytest.fixture
def cli() -> click.Group:
    """The real koban-geo group with `users` on it, without changing the shared group object."""
    from koban_geo.cli.main import cli as main

    return click.Group(name="koban-geo", params=main.params, callback=main.callback,
                       commands={**main.commands, "users": users})  # fmt: skip


def _run(cli, settings, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--db", str(settings.db), "users", *args], input=input)


def test_cli_add_list_disable_enable(cli, settings) -> None:
    added = _run(cli, settings, "add", "anna.k", "--role", "analyst", "--password-stdin", "--actor", "sgt.b",
                 input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert added.stdout == "added anna.k (analyst, sees analyst)\n"
    sso = _run(
        cli,
        settings,
        "add",
        "carla",
        "--role",
        "council",
        "--no-password",
        "--email",
        "Carla@Council.Example",
    )
    assert sso.exit_code == 0, sso.stderr

    table = _run(cli, settings, "list")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["username", "role", "sees", "state"]
    assert lines[1].split() == ["anna.k", "analyst", "analyst", "active", "never", "-"]
    assert lines[2].split()[-1] == "carla@council.example"
    assert PASSWORD not in table.stdout and "argon2" not in table.stdout

    assert _run(cli, settings, "disable", "anna.k", "--actor", "sgt.b").stdout == "disabled anna.k\n"
    listed = [json.loads(line) for line in _run(cli, settings, "list", "--json").stdout.splitlines()]
    assert [(r["username"], r["role"], r["audience"], r["active"], r["email"]) for r in listed] == [
        ("anna.k", "analyst", "analyst", False, None),
        ("carla", "council", "council", True, "carla@council.example"),
    ]
    assert "password_hash" not in listed[0]
    assert _run(cli, settings, "enable", "anna.k").exit_code == 0
    assert _run(cli, settings, "email", "anna.k", "anna.k@police.example").exit_code == 0

    con = connect(settings.db)
    assert authenticate(con, settings, "anna.k", PASSWORD).role is Role.ANALYST
    assert account_for_sso(con, "anna.k@police.example").username == "anna.k"
    log = [(actor, action) for actor, action, _ in _audit(con)]
    con.close()
    assert ("sgt.b", "user_added") in log and ("sgt.b", "user_disabled") in log


def test_cli_prompts_for_the_password_twice_and_hides_it(cli, settings) -> None:
    result = _run(cli, settings, "add", "admin.one", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.stderr
    assert PASSWORD not in result.output  # the prompt does not echo
    mismatch = _run(cli, settings, "passwd", "admin.one", input="another long phrase\nanother long phrasx\n"
                    "another long phrase\nanother long phrase\n")  # fmt: skip
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output
    con = connect(settings.db)
    assert authenticate(con, settings, "admin.one", "another long phrase").is_admin
    con.close()


def test_cli_refusals_exit_2_and_change_nothing(cli, settings) -> None:
    weak = _run(cli, settings, "add", "anna.k", "--role", "officer", "--password-stdin", input="password1\n")
    assert weak.exit_code == 2 and "at least 12 characters" in weak.stderr
    bad_name = _run(cli, settings, "add", "Anna K", "--role", "officer", "--password-stdin", input=PASSWORD)
    assert bad_name.exit_code == 2 and "2 to 64 characters" in bad_name.stderr
    bad_role = _run(cli, settings, "add", "anna.k", "--role", "root", "--password-stdin", input=PASSWORD)
    assert bad_role.exit_code == 2
    missing = _run(cli, settings, "disable", "ghost")
    assert missing.exit_code == 2 and "no account named 'ghost'" in missing.stderr
    empty = _run(cli, settings, "add", "anna.k", "--role", "officer", "--password-stdin", input="")
    assert empty.exit_code == 2 and "nothing on standard input" in empty.stderr
    bad_email = _run(cli, settings, "add", "anna.k", "--role", "officer", "--no-password", "--email", "anna")
    assert bad_email.exit_code == 2 and "not an e-mail address" in bad_email.stderr
    assert _run(cli, settings, "list").stdout.startswith("no accounts yet")
    con = connect(settings.db)
    assert con.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
    con.close()


def test_cli_help_names_every_command(cli) -> None:
    result = CliRunner().invoke(cli, ["users", "--help"])
    for command in ("add", "list", "disable", "enable", "passwd", "email"):
        assert command in result.stdout
