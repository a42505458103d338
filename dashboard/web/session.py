"""The session cookie and the small signed values around it: form tokens, safe `next` paths, the client.

The cookie holds `<token>.<signature>`: the token is `secrets.token_urlsafe(32)` from
`koban_geo.community.accounts.start_session` (the store keeps only its SHA-256), the signature an HMAC-SHA256
of it under `web.process.session_key()`, so a forged or altered cookie is refused before the store is asked.
It is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Path=/, Secure when
the request came over HTTPS, and lasts as long as the session; the store decides whether it is still live
on every request and every Streamlit run, so logout anywhere ends it everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "COOKIE",
    "FORM_COOKIE",
    "client_address",
    "form_token",
    "is_https",
    "new_form_cookie",
    "safe_next",
    "set_session_cookie",
    "sign",
    "token_from_cookie",
    "valid_form_token",
]

COOKIE = "koban_session"
FORM_COOKIE = "koban_form"  # one random value per browser for the login form's CSRF token and throttle
_SIG_CHARS = 43  # base64url of 32 bytes, unpadded


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:_SIG_CHARS]


def sign(token: str, key: bytes) -> str:
    """The cookie value for a session token."""
    return f"{token}.{_mac(key, COOKIE, token)}"


def token_from_cookie(value: str | None, key: bytes) -> str | None:
    """The session token inside a cookie value, or None when it is missing, malformed or not signed by us."""
    if not value or len(value) > 300 or "." not in value:
        return None
    token, _, signature = value.rpartition(".")
    if not token or not hmac.compare_digest(signature, _mac(key, COOKIE, token)):
        return None
    return token


def form_token(key: bytes, purpose: str, bound_to: str) -> str:
    """A CSRF token for a form: an HMAC of a value only this browser holds in an HttpOnly cookie."""
    return _mac(key, purpose, bound_to)


def valid_form_token(key: bytes, purpose: str, bound_to: str | None, given: str | None) -> bool:
    if not bound_to or not given:
        return False
    return hmac.compare_digest(given, _mac(key, purpose, bound_to))


def new_form_cookie() -> str:
    return secrets.token_urlsafe(32)


def is_https(request: Request, trust_proxy: bool) -> bool:
    """Whether the browser reached us over HTTPS (behind a trusted proxy: its X-Forwarded-Proto)."""
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if forwarded:
            return forwarded == "https"
    return request.url.scheme in ("https", "wss")


def client_address(request: Request, trust_proxy: bool) -> str:
    """The client's address for throttling (behind a trusted proxy: the first X-Forwarded-For entry)."""
    if trust_proxy:
        first = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response, value: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(
        COOKIE, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="strict"
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")


def safe_next(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site (no scheme, no host, no `//` or `\\` tricks), else `default`.

    >>> safe_next("/map?lang=nl"), safe_next("//evil.example/"), safe_next("https://evil.example/")
    ('/map?lang=nl', '/', '/')
    """
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 32 or c == "\\" for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/auth/", "/account/")):
        return default
    return value


def cookie(cookies: Mapping[str, str], name: str) -> str | None:
    value = cookies.get(name)
    return value if isinstance(value, str) and value else None
