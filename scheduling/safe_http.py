"""Fetching a URL that a user typed, without letting it reach our own network.

Out-of-office calendars are URLs members give us, so a fetch must not become a
way to read services inside the network (server-side request forgery).  Rules:

* ``http`` and ``https`` only;
* the host is resolved here and every address it resolves to must be public --
  not loopback, private, link-local (the cloud metadata address), shared,
  reserved or multicast -- unless it lies in ``allowed_networks`` (tests allow
  the loopback network, where their server runs);
* the connection goes to the address that was checked (the URL's host is kept
  for ``Host`` and for TLS, so certificates are verified as usual), so a second
  DNS answer cannot swap in a private address after the check;
* redirects are not followed by the client: each hop is checked like the first,
  at most :data:`MAX_REDIRECTS` of them;
* connect and read timeouts, an overall deadline, and a cap on the body's size
  (read in chunks, so an endless body costs at most the cap).

Errors are :class:`FetchError` with a reason fit for the admin; the reason never
contains the URL (calendar URLs often carry a secret).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

MAX_REDIRECTS = 3
# Letters, digits and hyphens in dot-separated labels (IDNs arrive as punycode):
# anything else is refused before a resolver is asked.
HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?)+", re.I)
REDIRECTS = (301, 302, 303, 307, 308)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A fetch that failed; ``str(error)`` says why, for people."""


@dataclass(frozen=True)
class Limits:
    connect_timeout: float
    read_timeout: float
    deadline: float  # seconds for the whole fetch, redirects included
    max_bytes: int
    allowed_networks: Sequence[Network] = ()


@dataclass(frozen=True)
class Fetched:
    """A 200 with its body, or a 304 (``not_modified``, empty body)."""

    body: bytes
    etag: str
    not_modified: bool = False


def parse_networks(raw: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(item.strip(), strict=False) for item in raw if item]


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _check_address(address: Address, limits: Limits) -> None:
    if _is_public(address):
        return
    if any(address in network for network in limits.allowed_networks):
        return
    raise FetchError(
        f"refused to connect to {address}: a loopback, private, link-local or "
        "reserved address"
    )


def _resolve(host: str, port: int, limits: Limits) -> Address:
    """The address to connect to, every address of ``host`` checked."""
    try:
        return_literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        _check_address(return_literal, limits)
        return return_literal
    if not HOSTNAME.fullmatch(host):
        raise FetchError("not a valid host name")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"host not found ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError("host not found")
    for address in addresses:
        _check_address(address, limits)
    return addresses[0]


def _pinned(url: httpx.URL, limits: Limits) -> tuple[httpx.URL, dict[str, str], dict]:
    """The URL rewritten to the checked address, its ``Host`` header and TLS name."""
    if url.scheme not in ("http", "https"):
        raise FetchError("only http and https URLs are fetched")
    host = url.host
    if not host:
        raise FetchError("the URL has no host")
    port = url.port or (443 if url.scheme == "https" else 80)
    address = _resolve(host, port, limits)
    literal = f"[{address}]" if address.version == 6 else str(address)
    host_header = host if url.port is None else f"{host}:{url.port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if url.port is None else f"[{host}]:{url.port}"
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return url.copy_with(host=literal.strip("[]")), {"Host": host_header}, extensions


def fetch(url: str, *, etag: str, limits: Limits, user_agent: str) -> Fetched:
    """GET ``url`` under the rules above; with ``etag``, conditionally."""
    started = time.monotonic()
    timeout = httpx.Timeout(
        connect=limits.connect_timeout,
        read=limits.read_timeout,
        write=limits.read_timeout,
        pool=limits.connect_timeout,
    )
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"not a valid URL ({exc})") from None
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as c:
        for _hop in range(MAX_REDIRECTS + 1):
            target, headers, extensions = _pinned(current, limits)
            headers["User-Agent"] = user_agent
            headers["Accept"] = "text/calendar, */*;q=0.1"
            if etag:
                headers["If-None-Match"] = etag
            location = _get(c, target, headers, extensions, limits, started)
            if isinstance(location, Fetched):
                return location
            try:
                current = current.join(location)
            except httpx.InvalidURL as exc:
                raise FetchError(f"redirected to an invalid URL ({exc})") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _get(
    client: httpx.Client,
    target: httpx.URL,
    headers: dict[str, str],
    extensions: dict,
    limits: Limits,
    started: float,
) -> Fetched | str:
    """One request: the result, or where a redirect points."""
    try:
        request = client.build_request(
            "GET", target, headers=headers, extensions=extensions
        )
        response = client.send(request, stream=True)
    except httpx.TimeoutException:
        raise FetchError("timed out connecting or waiting for an answer") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not connect ({type(exc).__name__})") from None
    try:
        if response.status_code in REDIRECTS:
            location = response.headers.get("Location", "")
            if not location:
                raise FetchError(f"HTTP {response.status_code} without a Location")
            return location
        if response.status_code == 304:
            return Fetched(b"", response.headers.get("ETag", ""), not_modified=True)
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise FetchError(f"larger than {limits.max_bytes} bytes")
        body = _read(response, limits, started)
        return Fetched(body, response.headers.get("ETag", ""))
    finally:
        response.close()


def _read(response: httpx.Response, limits: Limits, started: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(f"larger than {limits.max_bytes} bytes")
            if time.monotonic() - started > limits.deadline:
                raise FetchError(f"took longer than {limits.deadline:g} s")
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise FetchError("timed out reading the answer") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"the connection failed ({type(exc).__name__})") from None
    return b"".join(chunks)
