"""Start a real `openline serve` on a free loopback port, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpenlineServer:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.args = args or []
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.banner: list[str] = []
        self.output = ""
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> OpenlineServer:
        self.port = free_port()
        env = {**os.environ, **self.env}
        env.setdefault("OPENLINE_LOG_LEVEL", "warning")
        cmd = [sys.executable, "-m", "openline", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), *self.args]
        with open(self.log_path, "a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        self.banner = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"openline serve exited ({self.proc.wait()}); log: {self.log_path.read_text()}")
            self.banner.append(line.rstrip())
            if line.startswith("  Auth Token:"):
                break
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"openline serve did not become healthy; log: {self.log_path.read_text()}")

    def cli(self, *args: str) -> str:
        """Run another `openline` command on this server's data dir; its standard output."""
        done = subprocess.run([sys.executable, "-m", "openline", *args, "--data-dir", str(self.data_dir)],
                              env={**os.environ, **self.env}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def banner_value(self, label: str) -> str:
        for line in self.banner:
            if line.strip().startswith(label):
                return line.split(":", 1)[1].strip()
        raise KeyError(label)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout and not self.proc.stdout.closed:  # kill() may have closed it
            self.output = self.proc.stdout.read()  # whatever followed the banner (uvicorn's access log)
            self.proc.stdout.close()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
