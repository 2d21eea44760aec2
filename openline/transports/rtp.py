"""RTP media legs over UDP, paced by one shared monotonic clock.

:class:`MediaClock` is a single task for every leg of the process: it wakes on absolute
deadlines (start + k x 5 ms on the loop's monotonic clock), so scheduling error never adds up,
and ticks the quarter of the legs whose 20 ms slot it is. A leg counts a packet as late when it leaves more than
10 ms after its deadline; when the process stalls for more than a few frames the clock skips
the missed deadlines (counted) instead of bursting them out. No task or timer per packet.

:class:`RtpLeg` is one call leg's media: a UDP socket (an asyncio DatagramProtocol), the sans-IO
sender (sequence/timestamp/SSRC, RFC 4733 digits), a DTMF detector, a jitter buffer and
RTCP parsing. Symmetric RTP (RFC 4961) / latching: the leg sends to the SDP address until the
first valid RTP packet of the negotiated payload types arrives, then to that packet's source,
which is what works behind NAT. After that, packets from other sources are ignored until the
next offer/answer (``negotiate``), so a stranger cannot take the stream over.

Outgoing audio is G.711 payload bytes from ``play`` (framed by 160 bytes) or from a
``source`` callable; when there is nothing to play the leg sends codec silence, keeping the
stream continuous as peers expect. Decoded incoming frames go to ``on_audio`` every tick.

RTCP (RFC 3550 §6): each leg also binds the odd port above its RTP port (the port range hands
out even ports only, so that one stays free) and sends compound reports from it to the peer's
RTP port + 1 (or the SDP's ``a=rtcp``): SR while it sends media, else RR, with a report block
about the received source once there is one, and SDES CNAME; at the two-party interval (Tmin
5 s, the first at 2.5 s, randomised x0.5-1.5). The due time is checked on the leg's clock tick:
no timer or task per leg. Closing a leg that took part in the session sends a final report with
BYE. RTCP that arrives (on either port, for rtcp-mux peers) is parsed and counted; a peer's SR
is remembered for the LSR/DLSR fields of our next report block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from openline.codecs.media.framer import Framer
from openline.codecs.media.g711 import silence_byte
from openline.codecs.rtp import (
    DtmfDetector,
    DtmfEnded,
    DtmfStarted,
    JitterBuffer,
    RtpPacket,
    RtpParseError,
    RtpSender,
    SenderInfo,
    SenderReport,
    SourceState,
    build_report,
    looks_like_rtcp,
    lsr_of,
    parse_compound,
    report_block,
    report_interval,
)
from openline.codecs.rtp.rtcp import RTCP_MIN_INTERVAL, ntp_from_unix
from openline.core.call_legs import FrameTicking

__all__ = ["FRAME_INTERVAL", "LATE_THRESHOLD", "LegStats", "MediaClock", "PortRange", "RtpLeg"]

log = logging.getLogger("openline.rtp")

FRAME_INTERVAL: Final = 0.020
LATE_THRESHOLD: Final = 0.010  # a packet leaving more than 10 ms after its deadline is late
MAX_CATCH_UP_FRAMES: Final = 5  # beyond this the clock skips deadlines rather than bursting
PHASES: Final = 4  # slots per 20 ms period that the legs are spread over


@dataclass(slots=True)
class LegStats:
    packets_sent: int = 0
    packets_late: int = 0
    max_lateness: float = 0.0
    packets_received: int = 0
    malformed: int = 0
    ignored: int = 0  # unknown payload types (SIPp's PT 97 "noop" packets), foreign sources
    rtcp_received: int = 0
    rtcp_sent: int = 0
    digits_received: int = 0

    @property
    def late_ratio(self) -> float:
        return self.packets_late / self.packets_sent if self.packets_sent else 0.0


class MediaClock:
    """The one pacing task for all legs.

    Legs are spread over ``phases`` evenly spaced slots of the 20 ms period (4 slots: every
    5 ms a quarter of the legs is ticked). Each leg still sends every 20 ms on its own absolute
    grid, but one wake-up does a quarter of the work, so the last leg of a slot leaves a quarter
    as late as it would if every leg shared one instant: with hundreds of legs that is what keeps
    packets inside the 10 ms lateness budget.
    """

    def __init__(self, interval: float = FRAME_INTERVAL, phases: int = PHASES) -> None:
        if phases < 1:
            raise ValueError("phases must be at least 1")
        self.interval = interval
        self.phases = phases
        self._slots: list[dict[int, FrameTicking]] = [{} for _ in range(phases)]
        self._slot_of: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._busy = asyncio.Event()  # set while legs are on the clock: an idle process does not wake
        self.ticks = 0  # whole periods: every slot ticked once
        self.skipped_ticks = 0  # whole periods dropped after a stall

    def add(self, leg: FrameTicking) -> None:
        key = id(leg)
        if key in self._slot_of:
            return
        slot = min(range(self.phases), key=lambda i: len(self._slots[i]))
        self._slots[slot][key] = leg
        self._slot_of[key] = slot
        self._busy.set()

    def remove(self, leg: FrameTicking) -> None:
        slot = self._slot_of.pop(id(leg), None)
        if slot is not None:
            self._slots[slot].pop(id(leg), None)

    @property
    def legs(self) -> int:
        return len(self._slot_of)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="openline-media-clock")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        step = self.interval / self.phases
        deadline = loop.time() + step
        slot = 0
        while True:
            if not self._slot_of:
                self._busy.clear()
                await self._busy.wait()
                deadline, slot = loop.time() + step, 0
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            behind = int((now - deadline) / self.interval)
            if behind > MAX_CATCH_UP_FRAMES:
                # a stall (GC, blocked loop): drop whole missed periods, so every leg keeps its grid
                self.skipped_ticks += behind
                deadline += behind * self.interval
                for slot_legs in self._slots:  # every leg's timestamps follow the time that passed
                    for skipped in slot_legs.values():
                        skipped.skip(behind)
            for leg in list(self._slots[slot].values()):
                try:
                    leg.tick(deadline, loop.time())
                except Exception:  # one broken leg must not stop the others' media
                    log.exception("rtp leg tick failed")
            slot += 1
            if slot == self.phases:
                slot = 0
                self.ticks += 1
            deadline += step


class PortRange:
    """Even ports (RTP convention, RFC 3550 §11) from ``start``..``end``, handed out in turn; the
    odd port above each is its RTCP port, so it must be inside the range too."""

    def __init__(self, start: int, end: int) -> None:
        if not 0 < start < end <= 65535:
            raise ValueError("bad RTP port range")
        self.start = start + (start & 1)
        self.end = end
        self._next = self.start

    def candidates(self) -> list[int]:
        ports = list(range(self._next, self.end, 2)) + list(range(self.start, self._next, 2))
        return ports

    def advance(self, used: int) -> None:
        self._next = used + 2 if used + 2 < self.end else self.start


class RtpLeg(asyncio.DatagramProtocol):
    def __init__(
        self,
        *,
        codec: str,
        payload_type: int,
        remote: tuple[str, int] | None,
        dtmf_payload_type: int | None = None,
        on_audio: Callable[[bytes], None] | None = None,
        on_dtmf: Callable[[str], None] | None = None,
        latching: bool = True,
        send_silence: bool = True,
        rng: random.Random | None = None,
        rtcp_interval: float = RTCP_MIN_INTERVAL,
    ) -> None:
        rng = rng or random.SystemRandom()
        self._rng = rng
        self.codec = codec.upper()
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self.remote = remote
        self.latching = latching
        self.latched = False
        self.send_silence = send_silence
        self.on_audio = on_audio
        self.on_dtmf = on_dtmf
        self.stats = LegStats()
        self._silence = bytes([silence_byte(self.codec)]) * 160
        # §5.1: random initial sequence number and timestamp, random SSRC
        self.sender = RtpSender(
            ssrc=rng.getrandbits(32),
            payload_type=payload_type,
            dtmf_payload_type=dtmf_payload_type,
            initial_seq=rng.getrandbits(16),
            initial_ts=rng.getrandbits(32),
        )
        self.jitter = JitterBuffer(silence=silence_byte(self.codec))
        self.detector = DtmfDetector(dtmf_payload_type) if dtmf_payload_type is not None else None
        self.source_state = SourceState()
        self._framer = Framer(160, pad=silence_byte(self.codec))
        self._queue: deque[bytes] = deque()
        self.source: Callable[[], bytes | None] | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self.digits: list[str] = []
        self._now: Callable[[], float] = lambda: 0.0
        # RTCP state: the socket at local_port + 1, where reports go, when the next is due
        self._rtcp_transport: asyncio.DatagramTransport | None = None
        self.rtcp_remote: tuple[str, int] | None = None  # from the SDP's a=rtcp; else RTP port + 1
        self.rtcp_interval = rtcp_interval
        self.cname = secrets.token_hex(12)  # RFC 7022: a random CNAME per leg, nothing to track
        self._rtcp_due: float | None = None
        self._sent_at_last_report = 0
        self._remote_ssrc: int | None = None
        self._last_sr: tuple[int, float] | None = None  # (LSR of the peer's last SR, arrival time)

    # --- socket -------------------------------------------------------------------------------

    async def open(self, host: str, ports: PortRange | None = None, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        candidates = ports.candidates() if ports is not None else [port]
        last_error: OSError | None = None
        for candidate in candidates:
            try:
                transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, candidate))
            except OSError as exc:
                last_error = exc
                continue
            local_port = int(transport.get_extra_info("sockname")[1])
            try:
                rtcp, _ = await loop.create_datagram_endpoint(lambda: _RtcpSocket(self),
                                                              local_addr=(host, local_port + 1))
            except (OSError, OverflowError) as exc:  # taken, or port 65535 has no neighbour
                if ports is not None:  # the pair must be free: try the next even port
                    transport.close()
                    last_error = OSError(str(exc))
                    continue
                rtcp = None  # an ephemeral RTP port whose neighbour is taken: RTP without RTCP
            self._transport = transport
            self._rtcp_transport = rtcp
            self.local_port = local_port
            if ports is not None:
                ports.advance(self.local_port)
            return self.local_port
        raise OSError(f"no free RTP port: {last_error}")

    def close(self) -> None:
        if self._transport is not None:
            # §6.3.7: a leg that sent RTP or RTCP says goodbye (the report and BYE leave at once)
            if self.stats.packets_sent or self.stats.rtcp_sent:
                self._send_rtcp(bye=True)
            self._transport.close()
            self._transport = None
        if self._rtcp_transport is not None:
            self._rtcp_transport.close()
            self._rtcp_transport = None

    @property
    def closed(self) -> bool:
        return self._transport is None

    def negotiate(
        self, *, codec: str, payload_type: int, dtmf_payload_type: int | None, remote: tuple[str, int],
        rtcp_remote: tuple[str, int] | None = None,
    ) -> None:
        """Adopt the outcome of offer/answer. The socket is opened first (its port goes into the
        SDP), so the codec is often known only afterwards, or changes on a re-INVITE."""
        self.codec = codec.upper()
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self.sender.payload_type = payload_type
        self.sender.dtmf_payload_type = dtmf_payload_type
        self.detector = DtmfDetector(dtmf_payload_type) if dtmf_payload_type is not None else None
        silence = silence_byte(self.codec)
        self.jitter = JitterBuffer(silence=silence)
        self._silence = bytes([silence]) * 160
        self._framer = Framer(160, pad=silence)
        self.remote = remote
        self.rtcp_remote = rtcp_remote
        self.latched = False  # learn the real source again for the new session

    # --- outgoing -----------------------------------------------------------------------------

    def play(self, payload: bytes) -> None:
        """Queue G.711 payload bytes (already in this leg's codec) to send, 20 ms at a time."""
        self._queue.extend(self._framer.push(payload))
        tail = self._framer.flush()
        if tail is not None:
            self._queue.append(tail)

    def clear_playback(self) -> None:
        self._queue.clear()

    @property
    def playing(self) -> bool:
        return bool(self._queue)

    def send_digits(self, digits: str, duration_ms: int = 100) -> None:
        self.sender.queue_digits(digits, duration_ms)

    def _next_frame(self) -> bytes | None:
        if self._queue:
            return self._queue.popleft()
        if self.source is not None:
            frame = self.source()
            if frame is not None:
                return frame
        return self._silence if self.send_silence else None

    def skip(self, frames: int) -> None:
        """The clock dropped ``frames`` periods after a stall: nothing was sent for them."""
        self.sender.skip(frames)

    def tick(self, deadline: float, now: float) -> None:
        """One 20 ms step: play out what arrived, send what is due (RTCP too, when its time comes)."""
        if self._rtcp_due is None:
            self._rtcp_due = deadline + report_interval(self._rng.random(), initial=True, minimum=self.rtcp_interval)
        elif deadline >= self._rtcp_due:
            self._send_rtcp()
            self._rtcp_due = deadline + report_interval(self._rng.random(), minimum=self.rtcp_interval)
        frame_in = self.jitter.pop()
        if frame_in is not None and self.on_audio is not None:
            self.on_audio(frame_in)
        # while digits go out the prompt waits (RFC 4733 events replace the audio of those ticks)
        packet = self.sender.next_packet(None if self.sender.sending_dtmf else self._next_frame())
        if packet is None or self._transport is None or self.remote is None:
            return
        self._transport.sendto(bytes(packet), self.remote)
        self.stats.packets_sent += 1
        lateness = now - deadline
        if lateness > self.stats.max_lateness:
            self.stats.max_lateness = lateness
        if lateness > LATE_THRESHOLD:
            self.stats.packets_late += 1

    # --- RTCP ---------------------------------------------------------------------------------

    def _rtcp_target(self) -> tuple[str, int] | None:
        if self.rtcp_remote is not None:
            return self.rtcp_remote
        if self.remote is None:
            return None
        return self.remote[0], self.remote[1] + 1  # §11: the next (odd) port; latched source's too

    def _send_rtcp(self, *, bye: bool = False) -> None:
        target = self._rtcp_target()
        transport = self._rtcp_transport
        if target is None or transport is None:
            return
        sender = self.sender
        # SR only while we send (§6.4: since the previous report); on hold, RR
        sending = sender.packets_sent != self._sent_at_last_report
        self._sent_at_last_report = sender.packets_sent
        info = SenderInfo(ntp_from_unix(time.time()), sender.ts, sender.packets_sent,
                          sender.octets_sent) if sending else None
        block = None
        if self._remote_ssrc is not None and self.source_state.received:
            lsr, dlsr = 0, 0.0
            if self._last_sr is not None:
                lsr, dlsr = self._last_sr[0], self._now() - self._last_sr[1]
            block = report_block(self._remote_ssrc, self.source_state, lsr=lsr, dlsr=dlsr)
        data = build_report(sender.ssrc, self.cname, sender=info, block=block, bye=bye)
        transport.sendto(data, target)
        self.stats.rtcp_sent += 1

    def rtcp_received(self, data: bytes) -> None:
        try:
            packets = parse_compound(data)
        except RtpParseError:
            self.stats.malformed += 1
            return
        self.stats.rtcp_received += 1
        for packet in packets:
            if isinstance(packet, SenderReport) and packet.ssrc == self._remote_ssrc:
                self._last_sr = (lsr_of(packet.ntp_timestamp), self._now())

    # --- incoming -----------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        source = (str(addr[0]), int(str(addr[1])))
        if looks_like_rtcp(data):  # rtcp-mux peers (RFC 5761) send it to the RTP port
            self.rtcp_received(data)
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.stats.malformed += 1
            return
        pt = packet.payload_type
        if pt != self.payload_type and pt != self.dtmf_payload_type:
            self.stats.ignored += 1
            return
        if self.latching and source != self.remote:
            if self.latched:
                # once latched, other sources are ignored until the next offer/answer: re-latching
                # on any packet would let a stranger hijack the stream ("RTP bleed")
                self.stats.ignored += 1
                return
            log.debug("rtp leg %s latched to %s:%s", self.local_port, *source)
            self.remote = source
        self.latched = self.latching  # latching off: media is taken from any source, sent to the SDP
        self.stats.packets_received += 1
        self._remote_ssrc = packet.ssrc
        self.source_state.update_seq(packet.sequence)
        if pt == self.payload_type:
            arrival = self._now()
            self.source_state.update_jitter(int(arrival * 8000), packet.timestamp)  # A.8, 8 kHz G.711
            self.jitter.push(packet, arrival)
            if self.detector is not None:
                self._digits(self.detector.expire(packet.ssrc, packet.timestamp))
        elif self.detector is not None:
            self._digits(self.detector.receive(packet))

    def _digits(self, events: list[DtmfStarted | DtmfEnded]) -> None:
        for event in events:
            if isinstance(event, DtmfStarted):
                # report at the start: the end may be lost entirely (peers' recipe, baresip quirk)
                self.stats.digits_received += 1
                self.digits.append(event.digit)
                if self.on_dtmf is not None:
                    self.on_dtmf(event.digit)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._now = asyncio.get_running_loop().time

    def error_received(self, exc: Exception) -> None:
        log.debug("rtp leg %s socket error: %s", self.local_port, exc)


class _RtcpSocket(asyncio.DatagramProtocol):
    """The leg's RTCP port (RTP port + 1): what arrives there goes to the leg's RTCP parsing."""

    def __init__(self, leg: RtpLeg) -> None:
        self.leg = leg

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.leg.rtcp_received(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("rtcp port of leg %s: %s", self.leg.local_port, exc)
