"""node-smpp as the SMSC (tests/peers/smsc_node.js): start it, read its events, send it commands.

    from tests.support.node_smsc import NodeSmsc, node_peer_fixture, node_smsc_fixture  # noqa: F401

    async def test_x(node_smsc: NodeSmsc) -> None:
        client = SmppClient(node_smsc.carrier_settings(), events)
        (submit,) = await node_smsc.wait_event("submit_sm")
        await node_smsc.command("receipt", message_id=submit["message_id"], stat="DELIVRD")

The peer needs node and npm. When ``tests/peers/node_modules`` is missing, ``npm ci`` installs
the pinned node-smpp from package-lock.json; without node/npm the tests fail with a clear
message rather than skip (scripts/test installs both with apt-get).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openline.config import SmppCarrierSettings

PEERS = Path(__file__).resolve().parents[1] / "peers"
SCRIPT = PEERS / "smsc_node.js"


def ensure_node_peer() -> str:
    """Path of ``node`` once node-smpp is installed; fails the test (never skips) otherwise."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the node-smpp peer tests need node and npm on PATH (Debian: apt-get install nodejs npm; "
                    "scripts/test installs them)", pytrace=False)
    if not (PEERS / "node_modules" / "smpp" / "package.json").is_file():
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEERS, capture_output=True,
                                text=True, timeout=600, check=False)
        if result.returncode != 0:
            pytest.fail(f"`npm ci` in {PEERS} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}",
                        pytrace=False)
    return node


class NodeSmsc:
    def __init__(self, node: str, *, system_id: str = "openline", password: str = "secret",
                 auto_receipt: str | None = None, receipt_form: str = "text", message_ids: str = "decimal") -> None:
        self.node = node
        self.system_id = system_id
        self.password = password
        self.argv = ["--system-id", system_id, "--password", password, "--receipt-form", receipt_form,
                     "--message-ids", message_ids]
        if auto_receipt:
            self.argv += ["--auto-receipt", auto_receipt]
        self.port = 0
        self.version = ""
        self.events: list[dict[str, Any]] = []
        self.stderr = b""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._refs = 0

    async def start(self, timeout: float = 15.0) -> NodeSmsc:
        self._proc = await asyncio.create_subprocess_exec(
            self.node, str(SCRIPT), "--port", "0", *self.argv, cwd=PEERS,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), timeout)
            first = json.loads(line)
        except (TimeoutError, json.JSONDecodeError) as exc:
            await self.stop()
            raise RuntimeError(f"node-smpp peer did not start: {exc}; stderr: {self.stderr.decode()}") from exc
        self.port, self.version = first["port"], first["smpp_version"]
        self._reader = asyncio.create_task(self._read())
        return self

    async def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError):
                proc.stdin.write(b'{"cmd":"quit"}\n')
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if proc.stderr is not None:
            self.stderr = await proc.stderr.read()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def __aenter__(self) -> NodeSmsc:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            self.events.append(json.loads(line))
            self._changed.set()
            self._changed = asyncio.Event()

    def carrier_settings(self, **overrides: Any) -> SmppCarrierSettings:
        values: dict[str, Any] = {
            "name": "node-smpp", "host": "127.0.0.1", "port": self.port, "system_id": self.system_id,
            "password": self.password, "reconnect_min": 0.05, "reconnect_max": 0.5, "response_timeout": 3.0,
        }
        values.update(overrides)
        return SmppCarrierSettings(**values)

    async def command(self, cmd: str, **fields: Any) -> str:
        """Send one stdin command; returns its ``ref``, echoed by the events it causes."""
        assert self._proc is not None and self._proc.stdin is not None
        self._refs += 1
        ref = f"r{self._refs}"
        self._proc.stdin.write(json.dumps({"cmd": cmd, "ref": ref, **fields}).encode() + b"\n")
        await self._proc.stdin.drain()
        return ref

    def of(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event and all(e.get(k) == v for k, v in match.items())]

    async def wait_event(self, event: str, count: int = 1, timeout: float = 10.0, **match: Any) -> list[dict[str, Any]]:
        """The first ``count`` events named ``event`` whose fields equal ``match``."""
        try:
            async with asyncio.timeout(timeout):
                while len(found := self.of(event, **match)) < count:
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"waited {timeout}s for {count} {event} {match}; events: {self.events[-20:]}") from None
        return found[:count]


# Fixtures named apart from their functions, so that importing them into a test module does not
# shadow the argument names (``node_peer``, ``node_smsc``) the tests ask for.
@pytest.fixture(scope="session", name="node_peer")
def node_peer_fixture() -> str:
    """``node``, with node-smpp installed."""
    return ensure_node_peer()


@pytest.fixture(name="node_smsc")
async def node_smsc_fixture(node_peer: str) -> AsyncIterator[NodeSmsc]:
    """A running node-smpp SMSC (system_id "openline", password "secret")."""
    async with NodeSmsc(node_peer) as peer:
        yield peer
