"""Run unchanged client programs against `openline serve --intercept`, configured only by the
environment that `openline env` prints."""

from __future__ import annotations

import os
import shlex
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import OpenlineServer, free_port

PEERS = Path(__file__).resolve().parent.parent / "peers"
# Whatever the test runner's own environment says about proxies and CAs must not leak in.
_CLIENT_KEYS = {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                "SSL_CERT_DIR", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"}


@contextmanager
def intercepting_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[OpenlineServer]:
    """A real `openline serve --intercept` on free ports; ``server.proxy_port`` is the proxy's."""
    port = free_port()
    srv = OpenlineServer(data_dir, env=env, args=["--intercept", "--intercept-port", str(port), *extra])
    srv.start()
    srv.proxy_port = port  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        srv.stop()


def openline_env(server: OpenlineServer) -> dict[str, str]:
    """The variables `openline env --shell bash` tells a user to export."""
    port = str(server.proxy_port)  # type: ignore[attr-defined]
    output = server.cli("env", "--shell", "bash", "--intercept-port", port)
    variables: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            (variables[name],) = shlex.split(value)
    return variables


def app_environment(server: OpenlineServer, **extra: str) -> dict[str, str]:
    """The process environment of an unchanged app: the user's (PATH...), `openline env`, credentials."""
    base = {k: v for k, v in os.environ.items() if k.upper() not in _CLIENT_KEYS and not k.startswith("OPENLINE_")}
    return {**base, **openline_env(server), **extra}


def proxy_exchange(port: int, request: bytes, host: str = "127.0.0.1") -> bytes:
    """Send raw bytes to the proxy and read its answer until it closes the connection."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
