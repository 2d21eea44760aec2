#!/usr/bin/env python3
"""Concurrent IVR calls through the whole stack: SIPp → `openline serve` ([sip]) → TwiML app.

One `openline serve` process with a `[sip]` trunk; its number's VoiceUrl points at a small TwiML
app in this process (built with twilio.twiml.voice_response): a `<Gather>` wrapping a `<Say>`
(espeak-ng, cached after the first call), the choice spoken back, then a `<Redirect>` to the
menu. SIPp places CALLS calls at RATE per second; each streams µ-law for HOLD seconds, presses
1 half-way (RFC 2833, root only: play_dtmf needs a raw socket) and hangs up.

Reported, each with the load average (the machine is shared):

* peak concurrent calls (Openline's /health, sampled every 0.5 s) and SIPp's verdict;
* Openline's own pacing statistic over every leg (/health ``sip.media``): RTP packets sent more
  than 10 ms after their deadline, target < 1 %;
* the same measured on the wire: dumpcap captures Openline's RTP on the loopback interface and
  tshark reads it (``-z rtp,streams`` for the stream summary; per packet, lateness against the
  stream's own RTP-timestamp grid, the earliest packet of the stream taken as on time);
* CPU of Openline, of SIPp and of this process (TwiML app + sampling).

    .venv/bin/python bench/voice_ivr.py 200 20 40          # CALLS HOLD_SECONDS RATE
    .venv/bin/python bench/voice_ivr.py 100 20 40 --no-capture -v   (-v: late share over time)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
from twilio.twiml.voice_response import Gather, VoiceResponse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from openline.codecs.media import lin2ulaw, tone

SCENARIO = Path(__file__).parents[1] / "tests" / "peers" / "sipp" / "uac_stream.xml"
NUMBER = "+14155550200"
SIP_PORT, SIPP_PORT, SIPP_MEDIA = 15060, 15070, 16000
RTP_LOW, RTP_HIGH = 40000, 49999
PROMPT = "Welcome to the Openline benchmark line. Press one for sales, or two for support."
LATE = 0.010


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


class TwimlApp:
    """The customer's IVR: menu (Gather + Say), choice (Say + Redirect back to the menu)."""

    def __init__(self) -> None:
        menu = VoiceResponse()
        gather = Gather(input="dtmf", num_digits=1, timeout=5, action="/choice")
        gather.say(PROMPT)
        menu.append(gather)
        menu.redirect("/menu")
        self.menu = str(menu).encode()
        self.hits: defaultdict[str, int] = defaultdict(int)
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                path = self.path.split("?", 1)[0]
                app.hits[path] += 1
                if path == "/choice":
                    answer = VoiceResponse()
                    answer.say(f"You pressed {form.get('Digits', 'nothing')}.")
                    answer.redirect("/menu")
                    body = str(answer).encode()
                else:
                    body = app.menu
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def scenario(folder: Path, hold_ms: int, digits: bool) -> Path:
    stream = folder / "caller.ulaw"
    stream.write_bytes(lin2ulaw(tone((620.0,), 2000, amplitude=0.3)))
    text = SCENARIO.read_text().replace("@STREAM@,1,0", f"{stream},-1,0")
    middle = f'<pause milliseconds="{hold_ms // 2}"/>'
    if digits:  # SIPp's play_dtmf always sends PT 96: offer that as telephone-event
        text = text.replace("RTP/AVP 0 101", "RTP/AVP 0 96").replace("rtpmap:101 telephone-event",
                                                                      "rtpmap:96 telephone-event")
        middle += '\n  <nop><action><exec play_dtmf="1,120"/></action></nop>'
    text = text.replace('<pause milliseconds="2000"/>', middle + f'\n  <pause milliseconds="{hold_ms // 2}"/>')
    path = folder / "uac_ivr_hold.xml"
    path.write_text(text)
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_openline(folder: Path, sid: str, token: str) -> tuple[subprocess.Popen[str], str]:
    config = folder / "openline.toml"
    config.write_text(f"""
[sip]
listen = "127.0.0.1:{SIP_PORT}"
rtp_ports = "{RTP_LOW}-{RTP_HIGH}"

[[sip.trunks]]
name = "bench"
proxy = "127.0.0.1:{SIPP_PORT}"
inbound_from = ["127.0.0.1"]
numbers = ["{NUMBER}"]
""")
    port = free_port()
    env = {**os.environ, "OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token, "OPENLINE_LOG_LEVEL": "warning"}
    with (folder / "openline.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "openline", "serve", "--port", str(port), "--data-dir",
                                 str(folder / "data"), "--config", str(config)], env=env, stdout=subprocess.DEVNULL,
                                stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"openline serve did not start: {(folder / 'openline.log').read_text()[-2000:]}")


def wire_lateness(capture: Path) -> tuple[int, int, int, float]:
    """(streams, packets, packets > 10 ms late against their stream's timestamp grid, worst ms)."""
    out = subprocess.run(
        ["tshark", "-r", str(capture), "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp && !rtpevent", "-T", "fields",
         "-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "rtp.ssrc", "-e", "rtp.timestamp"],
        capture_output=True, text=True, check=True).stdout
    streams: defaultdict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[3]:
            streams[(parts[1], parts[2])].append((float(parts[0]), int(parts[3])))
    packets = late = 0
    worst = 0.0
    for points in streams.values():
        first_ts = points[0][1]
        # unwrap the 32-bit timestamp; offset = arrival minus media time; the smallest is "on time"
        offsets = [t - ((ts - first_ts) % 2**32) / 8000 for t, ts in points]
        base = min(offsets)
        for offset in offsets:
            lateness = offset - base
            worst = max(worst, lateness)
            late += lateness > LATE
        packets += len(points)
    return len(streams), packets, late, worst * 1000


def rtp_streams_summary(capture: Path) -> str:
    out = subprocess.run(["tshark", "-r", str(capture), "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams"],
                         capture_output=True, text=True, check=True).stdout
    streams = packets = lost = 0
    max_delta = max_jitter = 0.0
    for line in out.splitlines():
        # start end src sport dst dport ssrc payload pkts lost (lost%) min/mean/max delta, min/mean/max jitter
        cols = line.split()
        if len(cols) < 17 or not cols[6].startswith("0x"):
            continue
        streams += 1
        packets, lost = packets + int(cols[8]), lost + max(0, int(cols[9]))
        max_delta, max_jitter = max(max_delta, float(cols[13])), max(max_jitter, float(cols[16]))
    return (f"{streams} streams, {packets} packets, {lost} lost, max delta {max_delta:.1f} ms, "
            f"max jitter {max_jitter:.2f} ms")


def main(calls: int, hold: float, rate: float, capture: bool) -> None:
    for tool in ("sipp", "espeak-ng", *(("dumpcap", "tshark") if capture else ())):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install sip-tester espeak-ng tshark)")
    folder = Path(tempfile.mkdtemp(prefix="openline-voice-bench-"))
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    app = TwimlApp()
    print(f"load average before     {loadavg()}", flush=True)
    openline, url = start_openline(folder, sid, token)
    print(f"openline serve          pid {openline.pid}, {url}", flush=True)
    dumpcap: subprocess.Popen[bytes] | None = None
    try:
        created = httpx.post(f"{url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", auth=(sid, token),
                             data={"PhoneNumber": NUMBER, "VoiceUrl": f"http://127.0.0.1:{app.port}/menu"})
        assert created.status_code == 201, created.text
        # a first call warms the TTS cache (as a deployed IVR's would be) outside the measurement
        digits = os.geteuid() == 0
        warm = subprocess.run(["sipp", f"127.0.0.1:{SIP_PORT}", "-sf", str(scenario(folder, 4000, digits)), "-s",
                               NUMBER, "-i", "127.0.0.1", "-p", str(SIPP_PORT), "-mi", "127.0.0.1", "-mp",
                               str(SIPP_MEDIA), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"],
                              cwd=folder, capture_output=True)
        if warm.returncode != 0:
            raise SystemExit(f"warm-up call failed: {warm.stdout.decode()[-1500:]}")
        before = httpx.get(f"{url}/health").json()["sip"]["media"]
        if capture:
            only_ours = f"udp and src portrange {RTP_LOW}-{RTP_HIGH}"
            dumpcap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-s", "96", "-f", only_ours,
                                        "-w", str(folder / "rtp.pcapng")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # dumpcap opens the interface
        path = scenario(folder, int(hold * 1000), digits)
        cpu0, own_cpu0, wall0 = cpu_seconds(openline.pid), time.process_time(), time.monotonic()
        sipp = subprocess.Popen(
            ["sipp", f"127.0.0.1:{SIP_PORT}", "-sf", str(path), "-s", NUMBER, "-i", "127.0.0.1", "-p", str(SIPP_PORT),
             "-mi", "127.0.0.1", "-mp", str(SIPP_MEDIA), "-r", str(rate), "-l", str(calls), "-m", str(calls),
             "-nostdin", "-timeout", f"{int(hold * 3 + 60)}s", "-timeout_error", "-trace_err"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
        peak, loads, sipp_cpu = 0, [], 0.0
        timeline: list[tuple[float, int, int, int, float]] = []  # (t, calls, sent, late, load)
        with httpx.Client() as http:
            while sipp.poll() is None:
                media = http.get(f"{url}/health").json()["sip"]["media"]
                peak = max(peak, media["calls"])
                loads.append(os.getloadavg()[0])
                timeline.append((time.monotonic() - wall0, media["calls"], media["packets_sent"],
                                 media["packets_late"], loads[-1]))
                with contextlib.suppress(OSError, IndexError):
                    sipp_cpu = cpu_seconds(sipp.pid)
                time.sleep(0.5)
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(openline.pid) - cpu0
        own_cpu = time.process_time() - own_cpu0
        after = httpx.get(f"{url}/health").json()["sip"]["media"]
        sent = after["packets_sent"] - before["packets_sent"]
        late = after["packets_late"] - before["packets_late"]
        print(f"calls                   {calls} at {rate}/s, {hold:.0f} s each; SIPp exit code {sipp.returncode} "
              "(0 = every call OK)")
        print(f"peak concurrent calls   {peak} (Openline /health), load average during the run "
              f"{min(loads, default=0):.2f}..{max(loads, default=0):.2f}, after {loadavg()}")
        print(f"RTP sent by Openline    {sent}, > 10 ms late {late} ({100 * late / max(1, sent):.3f} %), "
              f"worst {after['max_lateness_ms']:.1f} ms (since start); media clock skipped "
              f"{after['clock_skipped_ticks'] - before['clock_skipped_ticks']} periods after stalls")
        print(f"RTP received            {after['packets_received'] - before['packets_received']}, digits "
              f"{after['digits_received'] - before['digits_received']}"
              + ("" if digits else " (play_dtmf needs root: none sent)"))
        print(f"TwiML requests          menu {app.hits['/menu']}, choice {app.hits['/choice']}")
        print(f"CPU                     Openline {cpu:.1f} s ({100 * cpu / wall:.0f}% of one core over "
              f"{wall:.1f} s), SIPp {sipp_cpu:.1f} s, bench + TwiML app {own_cpu:.1f} s")
        if "-v" in sys.argv:
            print("   t(s) calls  late% since the last line  load")
            for (_, _, s0, l0, _), (t1, up, s1, l1, load) in zip(timeline[::2], timeline[2::2], strict=False):
                print(f"  {t1:5.1f} {up:5d}  {100 * (l1 - l0) / max(1, s1 - s0):6.2f}  {load:.2f}")
        if dumpcap is not None:
            dumpcap.send_signal(signal.SIGTERM)
            dumpcap.wait(10)
            dumpcap = None
            streams, packets, wire_late, worst = wire_lateness(folder / "rtp.pcapng")
            print(f"tshark, wire            {streams} streams from Openline, {packets} packets, > 10 ms late "
                  f"against their timestamp grid {wire_late} ({100 * wire_late / max(1, packets):.3f} %), "
                  f"worst {worst:.1f} ms")
            print(f"tshark -z rtp,streams   {rtp_streams_summary(folder / 'rtp.pcapng')}")
    finally:
        if dumpcap is not None:
            dumpcap.kill()
            dumpcap.wait()
        openline.send_signal(signal.SIGTERM)
        try:
            openline.wait(20)
        except subprocess.TimeoutExpired:
            openline.kill()
            openline.wait()
        app.server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    flags = {a for a in sys.argv[1:] if a.startswith("-")}
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    main(int(args[0]) if args else 200, float(args[1]) if len(args) > 1 else 20.0,
         float(args[2]) if len(args) > 2 else 40.0, "--no-capture" not in flags)
