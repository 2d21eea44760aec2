"""Recipients per second from POST /v3/mail/send to an SMTP sink on loopback.

A real `openline serve` (embedded SQLite, durable) delivers by MX lookup (a DNS stub on
loopback) into the npm `smtp-server` package (tests/peers/smtp_sink.js, counting only).
Requests carry 1,000 personalizations each (one recipient each), sent by the official
`sendgrid` SDK from several threads. Prints delivered recipients/s, the accept rate, and the
server's CPU per recipient; with --dkim the sending domain has a DKIM key (RSA-2048, or
ed25519 with --algorithm ed25519-sha256).

    .venv/bin/python bench/email_send.py --requests 10 [--dkim] [--algorithm ed25519-sha256]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import new_credentials  # noqa: E402
from tests.support.dns_stub import DnsStub  # noqa: E402
from tests.support.sendgrid import create_key, sdk  # noqa: E402
from tests.support.server import OpenlineServer  # noqa: E402
from tests.support.smtp_peer import SmtpSink  # noqa: E402

PER_REQUEST = 1000


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16, help="[email] connections_per_domain")
    parser.add_argument("--dkim", action="store_true")
    parser.add_argument("--algorithm", default="rsa-sha256", choices=["rsa-sha256", "ed25519-sha256"])
    parser.add_argument("--profile", metavar="PATH", help="record the server with py-spy (raw folded stacks)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="openline-email-bench-"))
    sink = SmtpSink(root / "sink", count_only=True)
    stub = DnsStub(mx={f"d{i}.test": "mx.sink.test" for i in range(10)}, a={"mx.sink.test": "127.0.0.1"})
    data = root / "data"
    subprocess.run([sys.executable, "-m", "openline", "migrate", "--data-dir", str(data)], check=True,
                   capture_output=True)
    if args.dkim:
        subprocess.run([sys.executable, "-m", "openline", "email", "domains", "add", "example.com", "--algorithm",
                        args.algorithm, "--data-dir", str(data)], check=True, capture_output=True)
    sid, token = new_credentials()
    server = OpenlineServer(data, env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                                       "OPENLINE_EMAIL__RESOLVER": stub.address,
                                       "OPENLINE_EMAIL__SMTP_PORT": str(sink.port),
                                       "OPENLINE_EMAIL__CONNECTIONS_PER_DOMAIN": str(args.connections),
                                       "OPENLINE_EMAIL__DELIVERY_CONCURRENCY": str(args.connections * 2)})
    server.start()
    server.account_sid, server.auth_token = sid, token  # type: ignore[attr-defined]
    try:
        client = sdk(server, create_key(server))
        assert server.proc is not None
        total = args.requests * PER_REQUEST

        def body(n: int) -> dict:
            return {"from": {"email": "bench@example.com"}, "subject": "Bench -n-",
                    "content": [{"type": "text/plain", "value": "Hello -n-, this is a benchmark message."},
                                {"type": "text/html", "value": "<p>Hello -n-, this is a benchmark message.</p>"}],
                    "personalizations": [{"to": [{"email": f"r{n}-{i}@d{i % 10}.test"}],
                                          "substitutions": {"-n-": str(i)}} for i in range(PER_REQUEST)]}

        bodies = [body(n) for n in range(args.requests)]
        spy = None
        if args.profile:  # py-spy must be installed in the venv (pip install py-spy); it only reads the process
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server.proc.pid),
                                    "-o", args.profile, "-f", "raw", "-r", "250", "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        load = os.getloadavg()
        cpu0, t0 = cpu_seconds(server.proc.pid), time.perf_counter()
        sink0 = cpu_seconds(sink.proc.pid)
        with ThreadPoolExecutor(args.threads) as pool:
            statuses = list(pool.map(lambda b: client.client.mail.send.post(request_body=b).status_code, bodies))
        accepted = time.perf_counter() - t0
        assert statuses == [202] * args.requests, statuses
        deadline = time.monotonic() + 600
        while sink.count() < total and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(server.proc.pid) - cpu0
        sink_cpu = cpu_seconds(sink.proc.pid) - sink0
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        delivered = sink.count()
        label = f"DKIM {args.algorithm}" if args.dkim else "no DKIM"
        print(f"email bench ({label}): {args.requests} requests x {PER_REQUEST} personalizations")
        print(f"  accepted (202, durable): {total / accepted:,.0f} recipients/s ({accepted:.2f} s)")
        print(f"  delivered to the SMTP sink: {delivered}/{total} in {elapsed:.2f} s = "
              f"{delivered / elapsed:,.0f} recipients/s")
        print(f"  server CPU: {cpu:.2f} s = {cpu / max(delivered, 1) * 1000:.3f} ms per recipient"
              f" ({cpu / elapsed:.0%} of one core)")
        print(f"  SMTP sink CPU: {sink_cpu:.2f} s = {sink_cpu / max(delivered, 1) * 1000:.3f} ms per recipient")
        print(f"  load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    finally:
        server.stop()
        sink.stop()
        stub.stop()


if __name__ == "__main__":
    main()
