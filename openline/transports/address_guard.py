"""The SSRF guard: outbound HTTP (webhooks, media fetches) that never reaches a private address.

With ``[webhooks] block_private_addresses`` on, every connection Openline opens on a customer's
behalf resolves the host itself, drops answers that are not globally routable (private,
loopback, link-local, shared, reserved, multicast; IPv4-mapped IPv6 included) and connects to
an address it checked — so neither a literal IP, a DNS name pointing inside, a DNS answer that
changes between check and connect (rebinding) nor a redirect to such a place gets through:
each redirect hop opens its own connection through the same check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddressError(httpcore.ConnectError):
    """The target resolved only to addresses the guard refuses."""


def is_blocked(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_multicast or not address.is_global


def allowed_addresses(host: str, answers: Iterable[str],
                      blocked: Callable[[IpAddress], bool] = is_blocked) -> list[str]:
    """The answers the guard lets through; raises BlockedAddressError when none is left."""
    allowed: list[str] = []
    refused: list[str] = []
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        (refused if blocked(address) else allowed).append(answer)
    if not allowed:
        raise BlockedAddressError(
            f"{host} resolves only to private, loopback or link-local addresses ({', '.join(refused) or 'none'}), "
            "which [webhooks] block_private_addresses refuses")
    return allowed


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, connecting only to addresses that pass :func:`is_blocked`."""

    def __init__(self, blocked: Callable[[IpAddress], bool] = is_blocked) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._blocked = blocked

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            literal: str | None = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            literal = None
        if literal is not None:
            answers = [literal]
        else:
            try:
                infos = await asyncio.wait_for(
                    asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
            except (OSError, TimeoutError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            answers = list(dict.fromkeys(str(info[4][0]) for info in infos))
        last: Exception | None = None
        # TLS still names the original host (httpcore passes server_hostname separately).
        for address in allowed_addresses(host, answers, self._blocked):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses :class:`GuardedNetworkBackend`."""

    def __init__(self, verify: ssl.SSLContext | bool = True,
                 blocked: Callable[[IpAddress], bool] = is_blocked) -> None:
        super().__init__(verify=verify)
        # httpx builds its pool without a backend parameter; replace it with one that has ours.
        # tests/unit/test_address_guard.py fails if a future httpx stops using this pool.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(blocked))


def outbound_transport(block_private_addresses: bool) -> httpx.AsyncBaseTransport | None:
    """The transport for customer-directed HTTP; None means httpx's default."""
    return GuardedTransport() if block_private_addresses else None
