"""Security headers on every response: a Content-Security-Policy that lets no third-party host in.

Data shown on a page may come from anyone (an area name, a report's text); rendering is plain text everywhere,
and this header is the second wall: images, scripts, styles, frames and connections may only come from the
app itself (plus `data:`/`blob:` images for QR codes and map canvases). Streamlit's front end and the folium
frames it hosts use inline styles and inline scripts, hence `'unsafe-inline'` for those two.

One document more: the map's frame (streamlit-folium's component page, MAP_FRAME_PATH) also gets
`'unsafe-eval'`: when only the filter changes, the component swaps the map's layer groups by evaluating the
script the server wrote for them (`feature_group_to_add`), so the frame, Leaflet and the basemap stay
(ui/map/show.py). Everything it evaluates is the server's own map script, the same code the frame already runs
inline; Streamlit's page, the phone page and every other document keep the policy without it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "frame-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
}
MAP_FRAME_PATH = "/component/streamlit_folium.st_folium/"
MAP_FRAME_CSP = CSP.replace(
    "script-src 'self' 'unsafe-inline'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'"
)
MAP_FRAME_HEADERS = HEADERS | {b"content-security-policy": MAP_FRAME_CSP.encode()}


def headers_for(path: str) -> dict[bytes, bytes]:
    """The security headers of a response to `path`."""
    relaxed = path.startswith(MAP_FRAME_PATH) and ".." not in path and "\\" not in path
    return MAP_FRAME_HEADERS if relaxed else HEADERS


class SecurityHeaders:
    """Pure ASGI middleware (no response buffering, so websockets and streamed files pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        wanted = headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in wanted.items() if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
