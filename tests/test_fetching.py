"""Downloads from URLs: the form, the addresses refused (SSRF), size, time-outs and redirects.

Files are served by a thread on 127.0.0.1 (``tests.fileserver``), which the ``file_server``
fixture lets downloads reach through ``DATA_EXCHANGE_URL_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress

import pytest

from data_exchange_tool import fetching
from data_exchange_tool.exceptions import URLFetchError
from data_exchange_tool.fetching import address_problem, download, file_name_of, url_problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://example.com/a.png", None),
        ("http://example.com:8080/a b.png", "Enter a valid URL."),
        ("ftp://example.com/a.png", "Only http:// and https:// URLs can be downloaded."),
        ("file:///etc/passwd", "Only http:// and https:// URLs can be downloaded."),
        ("http:///a.png", "Enter a valid URL: it names no host."),
        ("http://example.com:99999/a.png", "Enter a valid URL."),
        ("", "Enter a valid URL."),
    ],
)
def test_the_form_of_a_url(url, problem):
    assert url_problem(url) == problem


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "the cloud metadata address"),
        ("fd00:ec2::254", "the cloud metadata address"),
        ("169.254.10.10", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "a private address"),  # noqa: S104 - an address to refuse
        ("100.64.0.1", "not a public address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("2002:7f00:1::", "a loopback address"),
        ("64:ff9b::a00:1", "a private address"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_addresses_a_download_may_not_reach(address, kind):
    assert address_problem(ipaddress.ip_address(address)) == kind


def test_a_file_name_is_taken_from_the_path():
    assert file_name_of("https://cdn.example.com/img/Lamp%20red.png?v=2") == "Lamp red.png"
    assert file_name_of("https://cdn.example.com/") == "download"


def test_a_file_is_downloaded(file_server):
    file_server.files["a.png"] = b"\x89PNG image"
    fetched = download(file_server.url("/files/a.png"))
    with fetched.file:
        assert fetched.file.read() == b"\x89PNG image"
    assert fetched.size == 10
    assert fetched.content_type == "application/octet-stream"


def test_a_loopback_address_is_refused_unless_its_host_is_allowed(file_server, settings):
    file_server.files["a.png"] = b"x"
    settings.DATA_EXCHANGE_URL_ALLOWED_HOSTS = []
    with pytest.raises(URLFetchError, match=r"127\.0\.0\.1 is a loopback address: downloads"):
        download(file_server.url("/files/a.png"))
    assert file_server.hosts == []  # refused before connecting


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch, settings):
    monkeypatch.setattr(fetching, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(URLFetchError, match=r"intranet.example resolves to 10\.0\.0\.7, a priv"):
        download("http://intranet.example/report.pdf")


def test_the_metadata_address_is_refused():
    with pytest.raises(URLFetchError, match="the cloud metadata address"):
        download("http://169.254.169.254/latest/meta-data/iam/security-credentials/")


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    file_server, monkeypatch, settings
):
    """DNS rebinding: the name is resolved once and never again by the HTTP client."""
    file_server.files["a.png"] = b"pinned"
    calls = []

    def resolve_once(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(fetching, "resolve", resolve_once)
    settings.DATA_EXCHANGE_URL_ALLOWED_HOSTS = ["files.example.test"]
    fetched = download(file_server.url("/files/a.png", host="files.example.test"))
    with fetched.file:
        assert fetched.file.read() == b"pinned"
    assert calls == ["files.example.test"]
    assert file_server.hosts == [f"files.example.test:{file_server.port}"]


def test_a_file_over_the_size_limit_is_refused(file_server, settings):
    settings.DATA_EXCHANGE_URL_MAX_SIZE = 100
    file_server.files["big.bin"] = b"x" * 5000
    with pytest.raises(URLFetchError, match="The file is 5,000 bytes; the largest accepted is 100"):
        download(file_server.url("/files/big.bin"))
    with pytest.raises(URLFetchError, match="larger than 100 bytes"):
        download(file_server.url("/stream/big.bin"))


def test_a_server_that_does_not_answer_in_time_is_given_up(file_server, settings):
    settings.DATA_EXCHANGE_URL_READ_TIMEOUT = 0.2
    file_server.delay = 1.0
    with pytest.raises(URLFetchError, match=r"did not answer within 0\.2 s"):
        download(file_server.url("/slow"))


def test_a_download_that_takes_too_long_in_all_is_given_up(file_server, settings):
    settings.DATA_EXCHANGE_URL_DOWNLOAD_TIMEOUT = 0.3
    file_server.delay = 0.1
    with pytest.raises(URLFetchError, match=r"took longer than 0\.3 s"):
        download(file_server.url("/trickle"))


def test_redirects_are_followed_and_each_checked(file_server, settings):
    file_server.files["a.png"] = b"moved"
    target = file_server.url("/files/a.png")
    with download(file_server.url(f"/redirect?to={target}")).file as moved:
        assert moved.read() == b"moved"
    # localhost is not an allowed host: its loopback address is refused after the redirect.
    elsewhere = file_server.url("/files/a.png", host="localhost")
    with pytest.raises(URLFetchError, match=r"localhost resolves to .*, a loopback address"):
        download(file_server.url(f"/redirect?to={elsewhere}"))
    with pytest.raises(URLFetchError, match="the cloud metadata address"):
        download(file_server.url("/redirect?to=http://169.254.169.254/latest/"))
    with pytest.raises(URLFetchError, match="Only http:// and https://"):
        download(file_server.url("/redirect?to=file:///etc/passwd"))


def test_redirects_are_limited(file_server, settings):
    settings.DATA_EXCHANGE_URL_MAX_REDIRECTS = 2
    with pytest.raises(URLFetchError, match="More than 2 redirects"):
        download(file_server.url("/loop"))
    assert len(file_server.hosts) == 3


@pytest.mark.parametrize(
    ("path", "message"),
    [("/files/missing.png", "The server answered 404"), ("/nowhere", "The server answered 404")],
)
def test_an_error_answer_is_reported(file_server, path, message):
    with pytest.raises(URLFetchError, match=message):
        download(file_server.url(path))


def test_a_closed_port_is_reported(file_server, settings):
    port = file_server.port
    file_server.stop()
    with pytest.raises(URLFetchError, match=r"Could not connect to 127\.0\.0\.1"):
        download(f"http://127.0.0.1:{port}/files/a.png")


def test_an_unknown_host_is_reported():
    with pytest.raises(URLFetchError, match="could not be found"):
        download("http://no-such-host.invalid/a.png")
