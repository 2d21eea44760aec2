"""Run the npm `smtp-server` peer (tests/peers/smtp_sink.js) on a loopback port."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.support.server import free_port

PEERS = Path(__file__).resolve().parent.parent / "peers"


class SmtpSink:
    def __init__(self, outdir: Path, count_only: bool = False) -> None:
        self.outdir = outdir
        outdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        args = ["node", str(PEERS / "smtp_sink.js"), str(self.port), str(outdir)]
        if count_only:
            args.append("--count-only")
        self.proc = subprocess.Popen(args, cwd=PEERS, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"smtp-server peer did not start: {line!r}")

    def messages(self, expect: int = 1, timeout: float = 20.0) -> list[tuple[dict, bytes]]:
        deadline = time.monotonic() + timeout
        while True:
            found = sorted(self.outdir.glob("*.json"), key=lambda p: int(p.stem))
            if len(found) >= expect or time.monotonic() > deadline:
                return [(json.loads(p.read_text()), p.with_suffix(".eml").read_bytes()) for p in found]
            time.sleep(0.05)

    def count(self) -> int:
        path = self.outdir / "count"
        return int(path.read_text() or 0) if path.exists() else 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
