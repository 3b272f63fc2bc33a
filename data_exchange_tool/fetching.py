"""
Files fetched from URLs, with the guards a server needs.

An import may give a file by its URL (``fields.FileFromURLField``), and the worker downloads it.
A worker sits inside a private network, so a URL in a spreadsheet is a way to make it call what
the person who wrote the URL could not reach: an internal admin page, a database's HTTP port,
the cloud's metadata service (169.254.169.254, fd00:ec2::254) and the credentials it hands out.
This module refuses that (server-side request forgery):

- only ``http`` and ``https`` URLs with a host are fetched;
- the host is resolved once and every address it resolves to must be public: not loopback,
  private, link-local (which holds the metadata address), multicast, reserved or unspecified.
  The connection then goes to that very address, with the host's name in the ``Host`` header and
  in TLS's SNI and certificate check, so a DNS answer that changes between the check and the
  connection (DNS rebinding) cannot swap the address;
- redirects are followed ``DATA_EXCHANGE_URL_MAX_REDIRECTS`` times at most, each new URL checked
  as the first one;
- the body is read up to ``DATA_EXCHANGE_URL_MAX_SIZE`` bytes, with time-outs to connect
  (``URL_CONNECT_TIMEOUT``), for each answer or chunk (``URL_READ_TIMEOUT``) and for the whole
  download (``URL_DOWNLOAD_TIMEOUT``).

Hosts listed in ``DATA_EXCHANGE_URL_ALLOWED_HOSTS`` skip the address check (a file server of your
own network; the tests serve files from 127.0.0.1 this way). Proxies from the environment are not
used: the worker connects by itself. Only the standard library is used (``http.client``,
``socket``, ``ssl``, ``ipaddress``): the pinned connection needs the socket in hand, which
``urllib.request`` and ``requests`` hide.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit

from django.http.request import validate_host

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import URLFetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Schemes a file may be downloaded with, and their default ports.
SCHEMES = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_SIZE = 64 * 1024
#: Downloads up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_SIZE = 1024 * 1024
USER_AGENT = "django-data-exchange-tool"
#: The cloud metadata services (AWS, GCP, Azure use the IPv4 one): named as such when refused.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
#: IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: The kinds of address a download may not connect to, in the order they are named.
REFUSED_KINDS = (
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_private", "a private address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_unspecified", "an unspecified address"),
)
#: Characters left as they are when a URL's path and query are sent.
SAFE_PATH = "/%:@!$&'()*+,;=-._~"
SAFE_QUERY = SAFE_PATH + "?"


def url_problem(url: str) -> str | None:
    """Return what is wrong with the form of a URL to download, or None when it may be fetched."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "Enter a valid URL."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme.lower() not in SCHEMES:
        return "Only http:// and https:// URLs can be downloaded."
    if not parts.hostname:
        return "Enter a valid URL: it names no host."
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Return what kind of address a download may not connect to ``address`` is, or None.

    ``"a loopback address"``, ``"a private address"``, ``"the cloud metadata address"``...
    An IPv6 address carrying an IPv4 one (mapped, 6to4, NAT64) is judged by that one too.
    """
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and (problem := address_problem(embedded)):
            return problem
    for attribute, kind in REFUSED_KINDS:
        if getattr(address, attribute):
            return kind
    if not address.is_global:
        return "not a public address"
    return None


def host_allowed(host: str) -> bool:
    """Return True when ``DATA_EXCHANGE_URL_ALLOWED_HOSTS`` lets ``host`` be internal."""
    allowed = list(app_settings.URL_ALLOWED_HOSTS or ())
    return bool(allowed) and validate_host(host.lower(), allowed)


def resolve(host: str, port: int) -> list[str]:
    """Return the addresses ``host`` resolves to, once (the connection uses them, not the name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise URLFetchError(f"The host {host} could not be found.") from exc
    addresses = [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise URLFetchError(f"The host {host} could not be found.")
    return list(dict.fromkeys(addresses))


def checked_address(host: str, port: int) -> str:
    """Return the address to connect to for ``host``: every address it has must be public."""
    addresses = resolve(host, port)
    if not host_allowed(host):
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address))
            if problem is not None:
                where = f"{address} is" if address == host else f"{host} resolves to {address},"
                raise URLFetchError(
                    f"{where} {problem}: downloads from internal addresses are refused."
                )
    return addresses[0]


class PinnedConnector:
    """Open a connection to the checked address, whatever the host's name resolves to now.

    ``http.client`` opens its socket through the connection's ``_create_connection``; given
    this, the ``Host`` header, SNI and certificate check keep the name while the socket goes to
    the address that was checked. Once connected, the socket waits ``read_timeout`` per read.
    """

    def __init__(self, address: str, read_timeout: float) -> None:
        self.address = address
        self.read_timeout = read_timeout

    def __call__(
        self, host_port: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        sock = socket.create_connection((self.address, host_port[1]), timeout, source_address)
        sock.settimeout(self.read_timeout)
        return sock


@dataclass
class Download:
    """A downloaded file: its bytes (a temporary file at position 0), size, type and URL."""

    file: IO[bytes]
    size: int
    content_type: str
    url: str


def file_name_of(url: str, default: str = "download") -> str:
    """Return the file name a URL's path ends with ("photo.jpg"), or ``default``."""
    name = os.path.basename(unquote(urlsplit(url).path).replace("\\", "/"))
    return name.strip() or default


def ascii_host(parts: SplitResult) -> str:
    """Return the URL's host as sent on the wire (an international name in IDNA)."""
    host = parts.hostname or ""
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise URLFetchError("Enter a valid URL.") from exc


def download(url: str) -> Download:
    """Download ``url`` with the module's guards; raise ``URLFetchError`` saying why not."""
    deadline = time.monotonic() + float(app_settings.URL_DOWNLOAD_TIMEOUT)
    redirects = int(app_settings.URL_MAX_REDIRECTS)
    for _hop in range(redirects + 1):
        found = fetch_once(url, deadline)
        if isinstance(found, Download):
            return found
        url = found
    raise URLFetchError(f"More than {redirects} redirects.")


def fetch_once(url: str, deadline: float) -> Download | str:
    """GET ``url`` once: return the file, or the URL a redirect points to."""
    problem = url_problem(url)
    if problem is not None:
        raise URLFetchError(problem)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = ascii_host(parts)
    port = parts.port or SCHEMES[scheme]
    connection = open_connection(scheme, host, port, checked_address(host, port))
    try:
        response = send(connection, parts, host)
        if response.status in REDIRECT_STATUSES:
            location = (response.getheader("Location") or "").strip()
            if not location:
                raise URLFetchError(f"The server answered {response.status} with no Location.")
            return urljoin(url, location)
        if response.status != 200:
            raise URLFetchError(f"The server answered {response.status} {response.reason}.")
        body, size = read_body(response, host, deadline)
        return Download(body, size, response.getheader("Content-Type") or "", url)
    finally:
        connection.close()


def open_connection(scheme: str, host: str, port: int, address: str) -> http.client.HTTPConnection:
    """Return a connection to ``host`` that opens its socket to ``address``, and open it."""
    connect_timeout = float(app_settings.URL_CONNECT_TIMEOUT)
    connection: http.client.HTTPConnection
    if scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(
            host, port, timeout=connect_timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
    connection._create_connection = PinnedConnector(  # type: ignore[attr-defined]
        address, float(app_settings.URL_READ_TIMEOUT)
    )
    try:
        connection.connect()
    except TimeoutError as exc:
        connection.close()
        raise URLFetchError(
            f"{host} did not accept a connection within {connect_timeout:g} s."
        ) from exc
    except ssl.SSLError as exc:
        connection.close()
        raise URLFetchError(
            f"The secure connection to {host} failed: {exc.reason or exc}."
        ) from exc
    except OSError as exc:
        connection.close()
        raise URLFetchError(f"Could not connect to {host}: {exc.strerror or exc}.") from exc
    return connection


def send(
    connection: http.client.HTTPConnection, parts: SplitResult, host: str
) -> http.client.HTTPResponse:
    """Send the GET request and return the response's head."""
    target = quote(parts.path or "/", safe=SAFE_PATH)
    if parts.query:
        target += "?" + quote(parts.query, safe=SAFE_QUERY)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"}
    try:
        connection.request("GET", target, headers=headers)
        return connection.getresponse()
    except TimeoutError as exc:
        raise URLFetchError(f"{host} did not answer within {read_timeout():g} s.") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise URLFetchError(f"{host} gave no answer that could be read: {exc}.") from exc


def read_timeout() -> float:
    return float(app_settings.URL_READ_TIMEOUT)


def read_body(
    response: http.client.HTTPResponse, host: str, deadline: float
) -> tuple[IO[bytes], int]:
    """Return the body in a temporary file and its size; refuse it past the limit or deadline."""
    limit = int(app_settings.URL_MAX_SIZE)
    length = (response.getheader("Content-Length") or "").strip()
    if length.isdigit() and int(length) > limit:
        raise URLFetchError(
            f"The file is {int(length):,} bytes; the largest accepted is {limit:,}."
        )
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)  # noqa: SIM115 - returned open
    try:
        size = 0
        while chunk := read_chunk(response, host):
            size += len(chunk)
            if size > limit:
                raise URLFetchError(
                    f"The file is larger than {limit:,} bytes, the largest accepted."
                )
            if time.monotonic() > deadline:
                raise URLFetchError(
                    f"The download took longer than {float(app_settings.URL_DOWNLOAD_TIMEOUT):g} s."
                )
            out.write(chunk)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, size


def read_chunk(response: http.client.HTTPResponse, host: str) -> bytes:
    """Return the next bytes of the body (b"" at its end)."""
    try:
        return response.read1(CHUNK_SIZE)
    except TimeoutError as exc:
        raise URLFetchError(f"{host} stopped sending for more than {read_timeout():g} s.") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise URLFetchError(f"The download from {host} broke off: {exc}.") from exc
