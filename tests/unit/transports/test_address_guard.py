"""The SSRF guard: which addresses it refuses, and that it holds for DNS names and redirects."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import httpx
import pytest

from openline.transports.address_guard import (
    BlockedAddressError,
    GuardedTransport,
    IpAddress,
    allowed_addresses,
    is_blocked,
)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::",
])
def test_private_loopback_link_local_and_reserved_are_blocked(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked(ipaddress.ip_address(address))


def test_mixed_dns_answers_keep_only_public_ones() -> None:
    assert allowed_addresses("h", ["10.0.0.1", "8.8.8.8"]) == ["8.8.8.8"]
    with pytest.raises(BlockedAddressError, match="private"):
        allowed_addresses("h", ["10.0.0.1", "127.0.0.1"])


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.partition("?to=")[2])
            self.end_headers()
            return
        body = f"host={self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    """An HTTP server on 127.0.0.2 (treated as public below) and one on 127.0.0.1 (private)."""
    started = []
    for host in ("127.0.0.2", "127.0.0.1"):
        server = ThreadingHTTPServer((host, 0), _Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started[0].server_address[1], started[1].server_address[1]
    for server in started:
        server.shutdown()
        server.server_close()


def _only_127_0_0_1(address: IpAddress) -> bool:
    return str(address) == "127.0.0.1"


async def test_loopback_literal_and_name_are_refused_with_the_real_rules(servers: tuple[int, int]) -> None:
    _, private_port = servers
    async with httpx.AsyncClient(transport=GuardedTransport()) as client:
        for host in ("127.0.0.1", "localhost"):
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"http://{host}:{private_port}/")
            assert isinstance(caught.value.__cause__, BlockedAddressError)


async def test_allowed_target_is_reached_by_name_and_redirects_are_checked(servers: tuple[int, int]) -> None:
    public_port, private_port = servers
    transport = GuardedTransport(blocked=_only_127_0_0_1)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        ok = await client.get(f"http://127.0.0.2:{public_port}/hello")
        assert ok.status_code == 200 and ok.text == f"host=127.0.0.2:{public_port}"
        # A public server redirecting inside: the hop's own connection is refused.
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://127.0.0.2:{public_port}/redirect?to=http://127.0.0.1:{private_port}/")
        assert isinstance(caught.value.__cause__, BlockedAddressError)


async def test_the_guarded_pool_is_the_one_httpx_uses() -> None:
    # GuardedTransport replaces httpx's private pool; this fails if httpx stops using it.
    transport = GuardedTransport()
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool)
    request = httpx.Request("GET", "http://127.0.0.1:9/")
    with pytest.raises(httpx.ConnectError):
        await transport.handle_async_request(request)
    await transport.aclose()
