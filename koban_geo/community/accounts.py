"""Local accounts: officers, analysts, council users and admins; password logins, lock-out and sessions.

Passwords are stored only as argon2id hashes (argon2-cffi, library defaults; rehashed at the next login when
the parameters change). A login failure says the same thing, after about the same time, whether the username
exists, the password is wrong, or the account is locked or disabled. Sessions are random tokens that only the
browser holds; the store keeps their SHA-256. Every write runs in `koban_geo.store.sql.writing` (one serialised
transaction, safe from the server's threads) together with its audit_log row, which never holds a password
or a token. Timestamps are naive UTC; every function takes `now` so tests need no clock.

    >>> add_user(con, "anna.k", "correct horse battery", "officer", actor="admin")   # doctest: +SKIP
    >>> account = authenticate(con, settings, "anna.k", "correct horse battery")      # doctest: +SKIP
    >>> token = start_session(con, settings, account.username)                        # doctest: +SKIP
    >>> session_user(con, token).audience                                             # doctest: +SKIP
    <Audience.OFFICER: 'officer'>
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from koban_geo.privacy.audience import Audience
from koban_geo.store.scope import bound_site
from koban_geo.store.settings import Settings
from koban_geo.store.sites import get_site
from koban_geo.store.sql import audit, plain_cursor, query, writing


class Role(StrEnum):
    OFFICER = "officer"
    ANALYST = "analyst"
    COUNCIL = "council"
    ADMIN = "admin"

    @property
    def audience(self) -> Audience:
        return audience_for(self)


_ROLE_AUDIENCE = {
    Role.OFFICER: Audience.OFFICER,
    Role.ANALYST: Audience.ANALYST,
    Role.COUNCIL: Audience.COUNCIL,
    Role.ADMIN: Audience.OFFICER,  # admins manage accounts; what they see is an officer's view
}


def audience_for(role: Role | str) -> Audience:
    """The audience tier a role sees: officer, analyst and council map to their own tier, admin to officer."""
    return _ROLE_AUDIENCE[_role(role)]


def role_of(role: Role | str) -> Role:
    """A role by name; an AccountError naming the roles for an unknown one."""
    return _role(role)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(Role)}") from None


class AccountError(ValueError):
    """An account operation that cannot be done (bad username, unknown user, weak password); one sentence."""


class PasswordPolicyError(AccountError):
    """A new password breaks the policy; the message says which rule."""


class LoginError(Exception):
    """A refused login. str(exc) is the one message users see, whatever the cause; `reason` is for tests and
    operators (unknown_user, bad_password, locked, disabled, no_password, changed) and must not be shown."""

    MESSAGE = "Login failed: wrong username or password, or the account is locked or disabled."

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGE)
        self.reason = reason


@dataclass(frozen=True)
class Account:
    """An account as the app sees it; the password hash never leaves the store."""

    username: str
    role: Role
    email: str | None
    active: bool
    created_at: datetime
    disabled_at: datetime | None
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    password_changed_at: datetime | None

    @property
    def audience(self) -> Audience:
        return audience_for(self.role)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > _utc(now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username, "role": str(self.role), "audience": str(self.audience),
            "email": self.email, "active": self.active, "created_at": self.created_at,
            "disabled_at": self.disabled_at, "failed_logins": self.failed_logins,
            "locked_until": self.locked_until, "last_login_at": self.last_login_at,
            "password_changed_at": self.password_changed_at,
        }  # fmt: skip


# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4). If a later
# release raises them, check_needs_rehash() upgrades each stored hash at that user's next login.
_HASHER = PasswordHasher()

USERNAME = re.compile(r"[a-z0-9._-]{2,64}")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps a hostile form post from costing much

# The 20 most common passwords seen in breaches (the top of the UK NCSC's 2019 list), plus the words a
# police station's staff would try first. Compared case-insensitively after trailing digits and symbols are
# stripped, so "Password2024!" and "qwerty123456" are refused too.
_COMMON = frozenset(
    ("123456", "123456789", "qwerty", "password", "1111111", "12345678", "abc123", "1234567", "password1",
     "12345", "1234567890", "123123", "000000", "iloveyou", "1234", "1q2w3e4r5t", "qwertyuiop", "123",
     "monkey", "dragon",
     "letmein", "welcome", "admin", "administrator", "football", "sunshine", "princess", "qwerty123",
     "passw0rd", "police", "politie", "poliisi", "policia", "koban")
)  # fmt: skip


def _utc(now: datetime | None) -> datetime:
    """`now` as naive UTC (the store's form); the clock when None."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(UTC).replace(tzinfo=None)
    return now


def check_username(username: str) -> str:
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise AccountError(
            "a username is 2 to 64 characters: lower-case letters, digits, dot, underscore or hyphen"
        )
    return username


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_email(email: str) -> str:
    """The address in the form it is stored and matched (lower case), or AccountError."""
    folded = email.strip().lower() if isinstance(email, str) else ""
    if len(folded) > 254 or not EMAIL.fullmatch(folded):
        raise AccountError(f"{email!r} is not an e-mail address")
    return folded


def check_password(password: str, username: str) -> None:
    """Raise PasswordPolicyError unless the password may be set for this user."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise PasswordPolicyError(f"a password must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise PasswordPolicyError(f"a password must be at most {MAX_PASSWORD} characters long")
    folded = password.strip().casefold()
    if folded == username.casefold():
        raise PasswordPolicyError("the password must not be the username")
    stem = folded.rstrip(string.digits + string.punctuation + " ")
    if not stem or stem in _COMMON or len(set(folded)) == 1:
        raise PasswordPolicyError("this password is too common or too simple; choose a longer phrase")


def _hash(password: str) -> str:
    return _HASHER.hash(password)


_dummy_lock = threading.Lock()
_dummy: dict[tuple[int, int, int, int], str] = {}


def _dummy_hash() -> str:
    """A hash with the current parameters, verified against for unknown users so they take as long
    (made at the first such login of a process, which alone takes one hash longer)."""
    key = (_HASHER.time_cost, _HASHER.memory_cost, _HASHER.parallelism, _HASHER.hash_len)
    with _dummy_lock:
        if key not in _dummy:
            _dummy[key] = _HASHER.hash(secrets.token_urlsafe(24))
        return _dummy[key]


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@contextmanager
def _reading(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own for a read, so that the server's threads never share one."""
    cur = plain_cursor(con)
    try:
        yield cur
    finally:
        cur.close()


def _account(row: tuple[Any, ...]) -> Account:
    username, role, email, active, created, disabled, failed, locked, last, changed = row
    return Account(
        username, Role(role), email, bool(active), created, disabled, int(failed), locked, last, changed
    )


def get_user(con: duckdb.DuckDBPyConnection, username: str) -> Account | None:
    with _reading(con) as cur:
        row = query(cur, "account_get", {"username": username}).fetchone()
    return _account(row) if row else None


def list_users(con: duckdb.DuckDBPyConnection) -> list[Account]:
    """Every account, by username (disabled ones too)."""
    with _reading(con) as cur:
        return [_account(row) for row in query(cur, "account_list").fetchall()]


def _require(cur: duckdb.DuckDBPyConnection, username: str) -> None:
    if query(cur, "account_get", {"username": username}).fetchone() is None:
        raise AccountError(f"no account named {username!r}")


def add_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    password: str | None,
    role: Role | str,
    actor: str,
    now: datetime | None = None,
    email: str | None = None,
    sites: Sequence[tuple[str, Role | str]] | None = None,
) -> Account:
    """Create an active account. password=None makes an account that signs in only through the identity
    provider (OIDC); otherwise the password must pass `check_password`. `email` is the identity-provider
    address that signs in as this account (see `account_for_sso`). `sites`: (site, role) pairs it works in;
    None: the connection's site (store.scope) with `role`, as a one-site store always had it."""
    check_username(username)
    role = _role(role)
    email = check_email(email) if email is not None else None
    if password is not None:
        check_password(password, username)
    for site, site_role in sites or ():
        get_site(con, site)  # a SiteError naming the store's sites
        _role(site_role)
    hashed = _hash(password) if password is not None else None
    with writing(con) as cur:
        if query(cur, "account_get", {"username": username}).fetchone() is not None:
            raise AccountError(f"an account named {username!r} exists already")
        _email_free(cur, email, username)
        query(cur, "account_insert", {"username": username, "role": str(role), "email": email,
                                      "password_hash": hashed, "now": _utc(now)})  # fmt: skip
        detail = f"{username} role={role}" + (" sso" if email else "") + ("" if hashed else " no password")
        audit(cur, actor, "user_added", detail)
        here = bound_site(con)
        for site, site_role in sites if sites is not None else [(here, role)] if here else []:
            query(cur, "account_sites_grant", {"username": username, "grant_site": site,
                                               "role": str(_role(site_role))})  # fmt: skip
    account = get_user(con, username)
    assert account is not None
    return account


def _email_free(cur: duckdb.DuckDBPyConnection, email: str | None, username: str) -> None:
    row = query(cur, "account_by_email", {"email": email}).fetchone() if email else None
    if row is not None and row[0] != username:
        raise AccountError(f"the address {email!r} already signs in as {row[0]!r}")


def set_email(con: duckdb.DuckDBPyConnection, username: str, email: str | None, actor: str) -> None:
    """Set (or with None clear) the identity-provider address that signs in as this account."""
    folded = check_email(email) if email is not None else None
    with writing(con) as cur:
        _require(cur, username)
        _email_free(cur, folded, username)
        query(cur, "account_set_email", {"username": username, "email": folded})
        audit(cur, actor, "email_changed", f"{username} {'set' if folded else 'cleared'}")


def _set_active(con: duckdb.DuckDBPyConnection, username: str, active: bool, actor: str,
                now: datetime | None) -> None:  # fmt: skip
    at = _utc(now)
    with writing(con) as cur:
        _require(cur, username)
        query(cur, "account_set_active", {"username": username, "active": active, "now": at})
        if active:
            audit(cur, actor, "user_enabled", username)
        else:
            revoked = len(query(cur, "account_sessions_revoke", {"username": username, "now": at}).fetchall())
            audit(cur, actor, "user_disabled", f"{username} ({revoked} sessions ended)")


def disable_user(
    con: duckdb.DuckDBPyConnection, username: str, actor: str, now: datetime | None = None
) -> None:
    """Refuse the account's logins and end its sessions at once. Nothing is deleted."""
    _set_active(con, username, False, actor, now)


def enable_user(
    con: duckdb.DuckDBPyConnection, username: str, actor: str, now: datetime | None = None
) -> None:
    """Allow the account again; this also lifts a lock-out (an admin's early unlock)."""
    _set_active(con, username, True, actor, now)


def set_password(
    con: duckdb.DuckDBPyConnection, username: str, password: str, actor: str, now: datetime | None = None
) -> None:
    """Set a new password (policy-checked); clears failures and lock-out, and ends the account's sessions."""
    check_password(password, username)
    hashed = _hash(password)
    at = _utc(now)
    with writing(con) as cur:
        _require(cur, username)
        query(cur, "account_set_password", {"username": username, "password_hash": hashed, "now": at})
        revoked = len(query(cur, "account_sessions_revoke", {"username": username, "now": at}).fetchall())
        audit(cur, actor, "password_changed", f"{username} ({revoked} sessions ended)")


def authenticate(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    username: str,
    password: str,
    now: datetime | None = None,
) -> Account:
    """The account if the password is right and the account active and not locked; else LoginError.

    After `settings.login_max_failures` wrong passwords in a row the account is locked for
    `settings.lockout_minutes`, during which even the right password is refused. The slow hash check runs
    outside the write lock; the counting runs inside it on a fresh read, so concurrent attempts all count.
    """
    at = _utc(now)
    stored: str | None = None
    exists = False
    if isinstance(username, str) and USERNAME.fullmatch(username):
        with _reading(con) as cur:
            row = query(cur, "account_credentials", {"username": username}).fetchone()
        if row is not None:
            exists, stored = True, row[0]
    ok = _verify(stored, password if isinstance(password, str) else "")  # a dummy hash when unknown
    rehashed = _hash(password) if ok and stored and _HASHER.check_needs_rehash(stored) else None
    if not exists:
        # The attempted name is not logged: it may be a password typed into the wrong box.
        with writing(con) as cur:
            audit(cur, "-", "login_failed", "unknown username")
        raise LoginError("unknown_user")

    with writing(con) as cur:
        row = query(cur, "account_credentials", {"username": username}).fetchone()
        reason = _refusal(row, stored, ok, at)
        if reason == "bad_password":
            failed = (0 if _lock_over(row, at) else int(row[2])) + 1
            lock = None
            if failed >= settings.login_max_failures:
                lock = at + timedelta(minutes=settings.lockout_minutes)
            query(cur, "account_login_failed",
                  {"username": username, "failed_logins": failed, "locked_until": lock})  # fmt: skip
            audit(cur, username, "login_failed", f"wrong password ({failed} in a row)")
            if lock is not None:
                audit(cur, username, "account_locked",
                      f"{failed} failed logins in a row; locked until {lock:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        elif reason:
            audit(cur, username, "login_failed", reason.replace("_", " "))
        else:
            query(cur, "account_login_ok",
                  {"username": username, "password_hash": rehashed or stored, "now": at})  # fmt: skip
            audit(cur, username, "login_ok", "password rehashed" if rehashed else "")
    if reason:
        raise LoginError(reason)
    account = get_user(con, username)
    assert account is not None
    return account


def _lock_over(row: tuple[Any, ...], at: datetime) -> bool:
    return row[3] is not None and row[3] <= at


def _refusal(row: tuple[Any, ...] | None, verified: str | None, ok: bool, at: datetime) -> str:
    """Why a login with this fresh credentials row is refused ('' when it is not)."""
    if row is None:
        return "unknown_user"  # deleted while the hash was checked
    current, active, _failed, locked_until = row
    if not active:
        return "disabled"
    if locked_until is not None and not _lock_over(row, at):
        return "locked"
    if current != verified:
        return "changed"  # the password changed while this attempt was hashing: the user tries again
    if current is None:
        return "no_password"
    return "" if ok else "bad_password"


SESSION_TOKEN_BYTES = 32


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    con: duckdb.DuckDBPyConnection, settings: Settings, username: str, now: datetime | None = None
) -> str:
    """A new session for an active account: returns the token (give it to the browser, store it nowhere).

    It expires `settings.session_minutes` after it starts; logout, disabling or a new password end it sooner.
    """
    at = _utc(now)
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    with writing(con) as cur:
        row = query(cur, "account_credentials", {"username": username}).fetchone()
        if row is None or not row[1]:
            raise AccountError(f"no active account named {username!r}")
        query(cur, "account_session_insert", {"token_hash": _token_hash(token), "username": username,
              "now": at, "expires_at": at + timedelta(minutes=settings.session_minutes)})  # fmt: skip
        audit(cur, username, "session_started", "")
    return token


def session_user(
    con: duckdb.DuckDBPyConnection, token: str | None, now: datetime | None = None
) -> Account | None:
    """The account behind a live session token; None if unknown, expired, revoked, or the account disabled."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return None
    with _reading(con) as cur:
        row = query(
            cur, "account_session_user", {"token_hash": _token_hash(token), "now": _utc(now)}
        ).fetchone()
    return _account(row) if row else None


def end_session(con: duckdb.DuckDBPyConnection, token: str | None, now: datetime | None = None) -> bool:
    """Log out: revoke the session. True if it was live (False for an unknown or already ended token)."""
    if not isinstance(token, str) or not token:
        return False
    with writing(con) as cur:
        row = query(
            cur, "account_session_end", {"token_hash": _token_hash(token), "now": _utc(now)}
        ).fetchone()
        if row is None:
            return False
        audit(cur, row[0], "session_ended", "logout")
    return True


def purge_sessions(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> int:
    """Forget sessions that have ended (expired or revoked); returns how many."""
    with writing(con) as cur:
        return len(query(cur, "account_sessions_purge", {"before": _utc(now)}).fetchall())


def account_for_sso(con: duckdb.DuckDBPyConnection, email: str | None) -> Account | None:
    """The active account an identity-provider (OIDC) login signs in as: the one whose `email` an admin set
    to this address (case-insensitive). None for an unknown address or a disabled account, so disabling in
    KOBAN shuts a leaver out whatever the identity provider still allows. Call it on every page load."""
    try:
        folded = check_email(email) if email else None
    except AccountError:
        return None
    if folded is None:
        return None
    with _reading(con) as cur:
        row = query(cur, "account_by_email", {"email": folded}).fetchone()
    account = _account(row) if row else None
    return account if account is not None and account.active else None
