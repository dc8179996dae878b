"""Refuse requests a browser was tricked into sending: a foreign Host, or a foreign Origin.

A page on another site can make a visitor's browser POST a multipart form to the API (no CORS
preflight) and start a run on the operator's models; after a DNS rebinding its script reads the
answers as if same-origin, since the browser then sends the attacker's name as Host. So every
request must name this server in `Host` (loopback names, plus the operator's `CRS_ALLOWED_HOSTS`),
and a request a browser marks as coming from another site or another port (`Origin`,
`Sec-Fetch-Site`) is refused, reads included. Scripts and curl send no Origin and are unaffected.

A plain ASGI middleware (not `BaseHTTPMiddleware`): the event streams pass through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send


def host_name(authority: str) -> str:
    """`Example.com:8502` → `example.com`, `[::1]:8502` → `[::1]`: the name without the port."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[: authority.find("]") + 1] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def origin_host(origin: str) -> str | None:
    """The host name an `Origin` header names; None for `null` or anything that is not one."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return host_name(parts.netloc)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_port(host: str, origin: str) -> bool:
    """Whether `Origin` names the port `Host` does. A page on another port of the same machine
    (another local server) is another origin, and its form posts passed as this one's. A Host
    without a port is not compared: a proxy may set it so (nginx's `$host`)."""
    authority = host.strip().lower()
    if authority.startswith("["):
        port_text = authority[authority.find("]") + 1 :].removeprefix(":")
    else:
        port_text = authority.rsplit(":", 1)[1] if authority.count(":") == 1 else ""
    if not port_text:
        return True
    parts = urlsplit(origin.strip())
    try:
        origin_port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        return port_text.isdigit() and int(port_text) == origin_port
    except ValueError:  # a port that is not a number
        return False


class RequestGuard:
    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(name.lower() for name in hosts)

    def problem(self, headers: dict[str, str]) -> tuple[int, str] | None:
        """What is wrong with a request's Host and Origin, as (status, message), or None."""
        if host_name(headers.get("host", "")) not in self.hosts:
            return 400, "This server does not answer to that host name (CRS_ALLOWED_HOSTS)"
        origin = headers.get("origin")
        if origin is not None and (
            origin_host(origin) not in self.hosts or not same_port(headers.get("host", ""), origin)
        ):
            return 403, "Requests from another site's pages are refused"
        if origin is None and headers.get("sec-fetch-site") == "cross-site":
            return 403, "Requests from another site's pages are refused"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope["headers"]
        }
        problem = self.problem(headers)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, message = problem
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
