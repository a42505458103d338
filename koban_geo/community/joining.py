"""The address residents' phones open to join a meeting, and whether that address can work in the room.

One owner for the join link: the meeting screen's QR code and typed URL, the staff's warning, and the phones'
server-rendered page all build it here. The base is `settings.public_url` (KOBAN_PUBLIC_URL); a base that is
unset or points at this machine (localhost, 127.x, ::1, 0.0.0.0) cannot be opened by a phone in the room.

>>> join_url("http://10.0.0.5:8501/", "K7Q2MX")
'http://10.0.0.5:8501/vote?meeting=K7Q2MX'
>>> join_url("https://koban.example.org/geo", "K7Q2MX", "fi")
'https://koban.example.org/geo/vote?meeting=K7Q2MX&lang=fi'
>>> public_url_problem("http://localhost:8501"), public_url_problem(None), public_url_problem("http://10.0.0.5")
('localhost', 'unset', None)
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import quote, urlsplit

__all__ = ["JOIN_PATH", "join_url", "public_url_problem"]

JOIN_PATH = "/vote"


def join_url(base: str | None, code: str, lang: str | None = None) -> str:
    """The join link for meeting `code` under `base` ("" gives a path only); `lang` preselects the language."""
    query = f"meeting={quote(code, safe='')}"
    if lang:
        query += f"&lang={quote(lang, safe='')}"
    return f"{(base or '').rstrip('/')}{JOIN_PATH}?{query}"


def public_url_problem(base: str | None) -> Literal["unset", "localhost", "invalid"] | None:
    """Why phones in the room cannot open `base`, or None when they can (as far as the address tells)."""
    if not base or not base.strip():
        return "unset"
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "invalid"
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return "localhost" if address.is_loopback or address.is_unspecified else None
