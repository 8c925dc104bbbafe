"""What every integration shares: the event it renders, its error type, outbound HTTP.

An integration is a package ``app/integrations/<kind>/`` whose ``transport.py`` defines a
msgspec ``Config`` struct and ``async def notify(event, config, ctx) -> None``, and whose
module registers itself in ``app/integrations/registry.py``. ``notify`` raises
``TransportError`` to report failure; ``permanent=True`` means "retrying will not help".
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from app.config import Settings
from app.integrations.lanes import ConnectionLanes

HTTP_TIMEOUT = 30.0
IDLE_CONNECTIONS = 32  # keep-alive connections an HTTP client keeps open between calls
USER_AGENT = "Cronbeat"
SUCCESS_CODES = frozenset({200, 201, 202, 204})


class TransportError(Exception):
    """A failed delivery. ``response`` is the error response, when the server sent one, so a
    transport can read the vendor's reason from its body and decide permanence.

    A permanent error also disables the channel, as in Healthchecks (the vendor said the
    webhook, chat or user is gone), unless ``by_setting`` says this server's own rules
    refused the call (an integration switched off, private addresses not allowed, an email
    address not yet verified): the channel is fine, and works once that changes.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        response: httpx.Response | None = None,
        by_setting: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or by_setting
        self.response = response
        self.by_setting = by_setting

    @property
    def disables_channel(self) -> bool:
        return self.permanent and not self.by_setting


def check_http_url(field: str, url: str, *, max_length: int = 1000) -> None:
    """Config validation: ``url`` must be a printable http(s) URL with a host."""
    if len(url) > max_length:
        raise msgspec.ValidationError(f"{field}: at most {max_length} characters")
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() or not c.isprintable() for c in url):
        raise msgspec.ValidationError(f"{field}: must be an http:// or https:// URL with a host")


@dataclass(frozen=True)
class PingInfo:
    """The last ping of the check, as messages show it."""

    n: int
    kind: str
    created: datetime
    scheme: str
    remote_addr: str | None
    method: str
    ua: str
    body: str  # decoded with replacement characters, cut to a readable length
    exitstatus: int | None


@dataclass(frozen=True)
class CheckInfo:
    code: uuid.UUID
    name: str
    slug: str
    tags: str
    desc: str
    kind: str
    timeout: int
    grace: int
    schedule: str
    tz: str
    status: str
    n_pings: int
    last_ping: datetime | None
    unique_key: str
    project_name: str
    details_url: str
    as_json: Mapping[str, Any] = field(default_factory=dict)  # the check's API JSON

    @property
    def display_name(self) -> str:
        return self.name or str(self.code)

    @property
    def tags_list(self) -> list[str]:
        return [tag for tag in self.tags.split(" ") if tag]


@dataclass(frozen=True)
class Event:
    """One notification to send: a check went up or down (or is still down, for a nag)."""

    status: str  # "up" | "down"
    reason: str  # "" | "timeout" | "fail" | "nag" | "test"
    created: datetime  # when it happened
    check: CheckInfo
    last_ping: PingInfo | None
    notification_code: uuid.UUID
    site_name: str
    # Where the recipient stops these alerts (email: app/domain/email_links.py), if anywhere.
    unsubscribe_url: str | None = None

    @property
    def repeat(self) -> bool:
        return self.reason == "nag"

    @property
    def headline(self) -> str:
        """One line: which check, what happened (and that it is a repeat)."""
        what = {"up": "is UP", "down": "is DOWN"}[self.status]
        suffix = " (repeat notification)" if self.repeat else ""
        return f'"{self.check.display_name}" {what}{suffix}'

    @property
    def cause(self) -> str:
        if self.status == "up":
            return "It received a success ping."
        if self.reason == "fail":
            return "It received a failure ping."
        if self.reason == "nag":
            return "It is still down."
        if self.reason == "test":
            return "This is a test notification."
        return "Its expected ping did not arrive in time."

    def summary_lines(self) -> list[str]:
        """The plain-text body most integrations send: what, when, last ping, where to look."""
        check = self.check
        lines = [self.headline, self.cause, f"Time: {self.created:%Y-%m-%d %H:%M:%S} UTC"]
        if check.project_name:
            lines.append(f"Project: {check.project_name}")
        if check.tags:
            lines.append(f"Tags: {check.tags}")
        if check.kind == "simple":
            lines.append(
                f"Period: {format_duration(check.timeout)}, grace: {format_duration(check.grace)}"
            )
        else:
            lines.append(
                f"Schedule: {check.schedule} ({check.tz}), grace: {format_duration(check.grace)}"
            )
        lines.append(f"Total pings: {check.n_pings}")
        lines.append(f"Last ping: {describe_ping(self.last_ping)}")
        if self.last_ping and self.last_ping.body:
            lines.append(f"Last ping body: {self.last_ping.body[:1000]}")
        lines.append(f"Details: {check.details_url}")
        return lines


def describe_ping(ping: PingInfo | None) -> str:
    if ping is None:
        return "never"
    text = f"{ping.kind} #{ping.n} at {ping.created:%Y-%m-%d %H:%M:%S} UTC"
    if ping.exitstatus is not None:
        text += f", exit status {ping.exitstatus}"
    if ping.scheme == "email":
        return text + f" by email ({ping.ua})"
    return text + f" from {ping.remote_addr or 'unknown'} ({ping.scheme} {ping.method})"


def format_duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


class UrlConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A channel config that is one incoming-webhook URL; subclass it as the package's Config."""

    url: str

    def __post_init__(self) -> None:
        check_http_url("url", self.url)


# --- outbound HTTP ------------------------------------------------------------------------------


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


async def guard_private_address(url: str, settings: Settings) -> None:
    """Refuse URLs that resolve to loopback/private/link-local addresses (SSRF guard)."""
    if settings.integrations_allow_private_ips:
        return
    host = urlsplit(url).hostname
    if not host:
        raise TransportError("Invalid URL", permanent=True)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TransportError("Could not resolve host") from None
    if any(not _is_public(str(info[4][0])) for info in infos):
        raise TransportError("Connections to private IP addresses are not allowed", by_setting=True)


@dataclass
class DeliveryContext:
    """What a transport may use: settings, one shared HTTP client, and the mail sender."""

    settings: Settings
    http: httpx.AsyncClient
    _host_slots: dict[tuple[str, str, int | None], asyncio.Semaphore] = field(
        default_factory=dict, init=False, repr=False
    )

    def _slots(self, url: str) -> asyncio.Semaphore:
        """At most DELIVERY_CALLS_PER_HOST calls in flight to one (scheme, host, port) on this
        event loop: a burst of alerts to one endpoint goes over a few kept-alive connections
        (one per call in flight, app/integrations/lanes.py), and a slow host holds up only
        its own calls."""
        parts = urlsplit(url)
        host = (parts.scheme, parts.hostname or "", parts.port)
        slots = self._host_slots.get(host)
        if slots is None:
            limit = self.settings.delivery_calls_per_host
            slots = self._host_slots[host] = asyncio.Semaphore(limit)
        return slots

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str | bytes] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Response:
        """One HTTP call with the SSRF guard; non-2xx raises ``TransportError``.

        A header value may be bytes, sent as they are (str values must be ASCII). The error
        for a non-2xx status carries the response, its body read.
        """
        await guard_private_address(url, self.settings)
        all_headers: dict[str, str | bytes] = {"User-Agent": USER_AGENT, **(headers or {})}
        if json_body is not None:
            content = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        try:
            async with self._slots(url):
                response = await self.http.request(
                    method,
                    url,
                    content=content,
                    data=data,
                    headers=_header_bytes(all_headers),
                    auth=auth,
                    timeout=HTTP_TIMEOUT,
                )
        except httpx.TimeoutException:
            raise TransportError("Connection timed out") from None
        except httpx.TooManyRedirects:
            raise TransportError("Too many redirects") from None
        except httpx.HTTPError:
            raise TransportError("Connection failed") from None
        if response.status_code not in SUCCESS_CODES:
            raise TransportError(f"Received status code {response.status_code}", response=response)
        return response

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)


def _header_bytes(headers: Mapping[str, str | bytes]) -> dict[bytes, bytes]:
    # httpx takes str or bytes for each header, but types a mapping as all one or the other.
    # str is encoded as httpx would encode it: ASCII.
    return {
        name.encode("ascii"): value if isinstance(value, bytes) else value.encode("ascii")
        for name, value in headers.items()
    }


def new_http_client() -> httpx.AsyncClient:
    # Redirects are not followed: a redirect could lead past the private-address guard.
    # Each connection is a lane of its own (app/integrations/lanes.py): httpcore's shared pool
    # cost more CPU per call the more calls were in flight.
    return httpx.AsyncClient(
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
        transport=ConnectionLanes(max_idle=IDLE_CONNECTIONS),
    )
