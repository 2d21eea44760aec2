"""A cluster on one fresh PostgreSQL database: `openline migrate`, then any number of
`openline serve --role api` and `--role worker` processes sharing a TOML config."""

from __future__ import annotations

import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from tests.support.server import OpenlineServer

START_TIMEOUT = 180.0  # several processes starting at once on a busy 2-core machine


class Cluster:
    def __init__(self, root: Path, admin_url: str, config: str) -> None:
        self.root = root
        self.admin_url = admin_url
        self.name = f"openline_test_{secrets.token_hex(6)}"
        self.url = f"{admin_url.rsplit('/', 1)[0]}/{self.name}"
        self.config = root / "openline.toml"
        self.config.write_text(config)
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.apis: list[OpenlineServer] = []
        self.workers: list[OpenlineServer] = []
        self._count = 0

    def create(self) -> Cluster:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        subprocess.run([sys.executable, "-m", "openline", "migrate", "--database-url", self.url,
                        "--data-dir", str(self.root / "migrate"), "--config", str(self.config)],
                       check=True, capture_output=True)
        return self

    def _server(self, role: str) -> OpenlineServer:
        self._count += 1
        # Each process has its own data dir, as on separate machines: nothing is shared but the database.
        return OpenlineServer(self.root / f"{role}{self._count}", args=[
            "--database-url", self.url, "--role", role, "--config", str(self.config)],
            env={"OPENLINE_ACCOUNT_SID": self.account_sid, "OPENLINE_AUTH_TOKEN": self.auth_token})

    def start(self, apis: int, workers: int) -> Cluster:
        servers = [self._server("api") for _ in range(apis)] + [self._server("worker") for _ in range(workers)]
        self.apis += servers[:apis]  # recorded first, so that stop() ends them even if one fails to start
        self.workers += servers[apis:]
        with ThreadPoolExecutor(max(1, len(servers))) as pool:  # start together, as a deployment would
            list(pool.map(lambda s: s.start(timeout=START_TIMEOUT), servers))
        return self

    def add_worker(self) -> OpenlineServer:
        server = self._server("worker").start(timeout=START_TIMEOUT)
        self.workers.append(server)
        return server

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def stop(self) -> None:
        for server in [*self.apis, *self.workers]:
            server.stop()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
