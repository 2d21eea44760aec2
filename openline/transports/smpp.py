"""SMPP v3.4 ESME client for one carrier: keep the bind(s) up, pace and window submits, relay
deliveries. The :class:`~openline.services.carriers.SmppLink` the SMPP carrier adapter uses.

Theory of operation
-------------------
:class:`SmppClient` supervises one connection (:class:`~openline.transports.smpp_link.SmppConnection`,
the Protocol around the codec's Session) per bind: a transceiver (``bind_mode = "trx"``), or a
transmitter plus a receiver (``"tx+rx"``; §2.2: deliver_sm flows on the receiver). Each supervisor
connects (TLS optional), binds, waits until the connection dies, and reconnects after an
exponential backoff from ``reconnect_min`` to ``reconnect_max`` with ±20 % jitter. A bind the SMSC
*refuses* (ESME_RINVPASWD, ESME_RBINDFAIL, ...; §4.1.2: the ESME "may retry") is a configuration
problem: it is logged as an error and retried only every ``reconnect_max``.

``submit`` (the hot path) takes a window slot (waiting, never failing, while the link is up), then
a pacing slot from a token bucket of one token (GCRA: PDUs leave at most every 1/throughput s,
with no bursts that an SMSC counting per second could refuse), sends, and awaits the
submit_sm_resp. Whatever its status, the response goes back to the caller, who decides
(ESME_RTHROTTLED is a retry, ESME_RINVDSTADR a failure). Only the absence of a response is an
exception, :class:`LinkDown`: not bound, the connection dropped with the PDU in flight (its fate
is unknown, so the caller retries and nothing is lost), or no response within
``response_timeout`` (§7.2). A timeout makes the link suspect: we probe with enquire_link, and
after MAX_TIMEOUTS_IN_A_ROW timeouts, or an unanswered enquire_link, the connection is dropped
and bound again.

Deliveries (deliver_sm §4.6, data_sm §4.7) go to ``SmppEvents.on_deliver`` in a task each, at
most ``deliver_concurrency`` at once, and are answered with the status it returns only *after* it
returns: a receipt or MO is acknowledged once the service has stored it. If on_deliver raises we
answer ESME_RX_T_APPN (§5.1.3, temporary), so the SMSC delivers again. Unanswered inbound
requests are bounded by the session's inbound window (beyond it, ESME_RTHROTTLED).

In a cluster (PostgreSQL) a :class:`~openline.services.carriers.BindOwnership` decides which
worker process binds: the others stand by (state ``standby``) and one takes over when the owner
dies. The owner re-checks its ownership every OWNERSHIP_CHECK seconds and drops its binds at once
when it lost it, so the SMSC never sees more binds (or a bigger window) than one process opens.

``stop`` unbinds gracefully (§4.2): no new submits, in-flight ones get up to ``response_timeout``
(at most STOP_WAIT_MAX) to finish, stored deliveries get their answers, then unbind, unbind_resp
(same bound), close.

Nothing blocks the loop and every buffer is bounded: the window bounds submits in flight, the
session its receive buffer and inbound requests, write backpressure (``pause_writing``) holds new
submits, and every metric keeps a fixed number of samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import ssl
import time
from typing import Final

from openline.codecs.smpp import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandStatus,
    DataSm,
    DeliverSm,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
)
from openline.codecs.smpp.status import describe_status
from openline.config import SmppCarrierSettings
from openline.services.carriers import BindOwnership, LinkDown, SmppEvents
from openline.transports.smpp_link import MAX_TIMEOUTS_IN_A_ROW, BindKind, LinkState, LinkStats, SmppConnection

__all__ = ["DELIVER_CONCURRENCY", "MAX_TIMEOUTS_IN_A_ROW", "LinkState", "SmppClient", "status_name"]

log = logging.getLogger("openline.smpp")

DELIVER_CONCURRENCY: Final = 32  # on_deliver calls running at once (each holds a DB transaction)
JITTER: Final = 0.2  # reconnect delays vary by ±20 % so many ESMEs do not reconnect in step
STOP_WAIT_MAX: Final = 5.0  # stop(): longest wait for in-flight responses, and for unbind_resp
INTERFACE_VERSION: Final = 0x34  # §5.2.4: "SMPP version 3.4"
OWNERSHIP_CHECK: Final = 2.0  # seconds between checks that this process still owns the binds

_BIND_PDUS: Final = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}
_BIND_NAMES: Final = {"trx": "transceiver", "tx": "transmitter", "rx": "receiver"}


class _BindRejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(describe_status(status))
        self.status = status


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED`` for a §5.1.3 code, ``0x00000400`` for reserved and vendor codes."""
    member = CommandStatus._value2member_map_.get(status)
    return member.name if isinstance(member, CommandStatus) else f"0x{status:08X}"


class _Pacer:
    """A token bucket of one token, as GCRA (the "virtual scheduling" form of ITU-T I.371): each
    PDU reserves the next free instant at least ``interval`` after the previous one. Reservations
    are made on the ideal schedule, so a late wake-up does not slow the PDUs queued behind it."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    def reserve(self, now: float) -> float:
        """Seconds to wait before sending (0 when a token is available now)."""
        at = max(now, self._next)
        self._next = at + self.interval
        return at - now


class SmppClient:
    """One SMPP carrier account: the ``SmppLink`` the SMPP carrier adapter submits through."""

    def __init__(
        self,
        settings: SmppCarrierSettings,
        events: SmppEvents,
        *,
        rng: random.Random | None = None,
        deliver_concurrency: int = DELIVER_CONCURRENCY,
        ownership: BindOwnership | None = None,
    ) -> None:
        self.settings = settings
        self.events = events
        self.name = settings.name
        self.stats = LinkStats()
        self._rng = rng or random.Random()
        self._kinds: tuple[BindKind, ...] = ("trx",) if settings.bind_mode == "trx" else ("tx", "rx")
        self._tx_kind: BindKind = "trx" if settings.bind_mode == "trx" else "tx"
        # Build the bind PDUs now: a system_id or password the codec cannot carry (§4.1.1 limits:
        # password 8 octets) is a configuration error that must stop start-up, not loop forever.
        password = settings.password.get_secret_value()
        try:
            self._binds = {
                kind: _BIND_PDUS[kind](system_id=settings.system_id, password=password,
                                       system_type=settings.system_type, interface_version=INTERFACE_VERSION)
                for kind in self._kinds
            }
        except ValueError as exc:
            raise ValueError(f"carrier {self.name}: {exc} (SMPP v3.4 §4.1.1)") from exc
        self._pacer = _Pacer(settings.throughput) if settings.throughput else None
        self._links: dict[BindKind, SmppConnection] = {}
        self._supervisors: dict[BindKind, asyncio.Task[None]] = {}
        self._deliver_sem = asyncio.Semaphore(deliver_concurrency)
        self._deliver_tasks: set[asyncio.Task[None]] = set()
        self._stop_event = asyncio.Event()
        self._bound_event = asyncio.Event()
        self._started = False
        self._stopped = False
        self._ownership = ownership
        self._owner_task: asyncio.Task[None] | None = None
        self.owner = ownership is None  # without a cluster, this process is the only one

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and bind in the background, and keep the bind(s) up until ``stop``."""
        if self._started:
            return
        self._started = True
        if self._ownership is None:
            self._start_supervisors()
        else:
            self._owner_task = asyncio.create_task(self._own(self._ownership), name=f"smpp-{self.name}-owner")

    def _start_supervisors(self) -> None:
        for kind in self._kinds:
            self._supervisors[kind] = asyncio.create_task(self._supervise(kind), name=f"smpp-{self.name}-{kind}")

    async def _own(self, ownership: BindOwnership) -> None:
        """Bind only while this process owns the carrier; drop the binds as soon as it does not."""
        while not self._stopped:
            await ownership.acquire(self.name)
            if self._stopped:
                break
            self.owner = True
            log.info("smpp %s: this process owns the carrier's binds", self.name)
            self._start_supervisors()
            while not self._stopped and await ownership.held(self.name):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(OWNERSHIP_CHECK):
                        await self._stop_event.wait()
            if self._stopped:
                break
            self.owner = False
            log.warning("smpp %s: lost ownership of the binds (database unreachable); dropping them", self.name)
            self.stats.error("bind ownership lost")
            tasks = list(self._supervisors.values())
            self._supervisors.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._bound_event.clear()
            for link in self._links.values():
                if not link.closed.done():
                    link.abort("bind ownership lost")
            self._links.clear()

    async def stop(self) -> None:
        """Graceful unbind: stop taking submits, let in-flight ones finish, unbind, close."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_event.set()
        self._bound_event.clear()
        wait = min(self.settings.response_timeout, STOP_WAIT_MAX)
        bound = []
        for kind, task in self._supervisors.items():
            link = self._links.get(kind)
            if link is not None and link.state is LinkState.BOUND:
                link.draining = True
                bound.append(link)
            else:
                task.cancel()  # connecting, binding or backing off: nothing to unbind
        if self._deliver_tasks:  # let stored events get their response before we unbind
            await asyncio.wait(set(self._deliver_tasks), timeout=wait)
        await asyncio.gather(*(link.shutdown(wait) for link in bound), return_exceptions=True)
        tasks = [*self._supervisors.values(), *self._deliver_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for link in self._links.values():
            if not link.closed.done():
                link.abort("stopped")
            link.state = LinkState.STOPPED
        if self._owner_task is not None:
            self._owner_task.cancel()
            await asyncio.gather(self._owner_task, return_exceptions=True)
        if self._ownership is not None and self.owner:
            with contextlib.suppress(Exception):  # the lock goes with our session anyway
                await self._ownership.release(self.name)
            self.owner = False

    async def wait_bound(self, timeout: float | None = None) -> None:
        """Until submits can go out (raises TimeoutError); for start-up and tests."""
        async with asyncio.timeout(timeout):
            while not self.bound:
                await self._bound_event.wait()
                await asyncio.sleep(0)

    @property
    def bound(self) -> bool:
        link = self._links.get(self._tx_kind)
        return link is not None and link.accepting and not self._stopped

    # --- submit -----------------------------------------------------------------------------

    async def submit(self, pdu: SubmitSm) -> SubmitSmResp:
        """Send one submit_sm when the window and pacing allow; return its response, whatever the
        status. Raises LinkDown when not bound, on disconnect, or on response timeout."""
        link = self._links.get(self._tx_kind)
        if link is None or self._stopped or not link.accepting:
            raise LinkDown(f"carrier {self.name}: not bound")
        await link.acquire_slot()
        loop = link.loop
        try:
            if self._pacer is not None:
                delay = self._pacer.reserve(loop.time())
                if delay > 0:
                    await asyncio.sleep(delay)
            await link.writable()
            if pdu.sequence_number:  # a retried PDU: the session numbers it afresh
                pdu = dataclasses.replace(pdu, sequence_number=0)
            fut = link.request(pdu, holds_slot=True)
        except BaseException:
            link.release_slot()
            raise
        sent_at = loop.time()
        self.stats.sent(sent_at)
        resp = await fut
        self.stats.responses_total += 1
        self.stats.latencies.append(loop.time() - sent_at)
        if isinstance(resp, GenericNack):
            # §4.3: the SMSC could not process our submit_sm at all; report it as that submit's
            # status so the caller's usual status mapping decides (never status 0).
            resp = SubmitSmResp(sequence_number=resp.sequence_number,
                                command_status=resp.command_status or CommandStatus.ESME_RUNKNOWNERR,
                                message_id=None)
        if not isinstance(resp, SubmitSmResp):  # pragma: no cover - the session matches responses
            raise LinkDown(f"carrier {self.name}: {resp.command_name} answered submit_sm")
        if resp.command_status:
            name = status_name(resp.command_status)
            self.stats.errors_by_status[name] = self.stats.errors_by_status.get(name, 0) + 1
        return resp

    # --- deliveries -------------------------------------------------------------------------

    def spawn_deliver(self, link: SmppConnection, pdu: DeliverSm | DataSm) -> None:
        task = asyncio.create_task(self._deliver(link, pdu))
        self._deliver_tasks.add(task)
        task.add_done_callback(self._deliver_tasks.discard)

    async def _deliver(self, link: SmppConnection, pdu: DeliverSm | DataSm) -> None:
        stats = self.stats
        stats.delivers_total += 1
        if pdu.is_delivery_receipt:
            stats.receipts_total += 1
        else:
            stats.mo_total += 1
        async with self._deliver_sem:
            try:
                status = int(await self.events.on_deliver(self.name, pdu))
            except Exception:
                log.exception("smpp %s: on_deliver failed; answering ESME_RX_T_APPN so the SMSC retries",
                              link.label)
                status = CommandStatus.ESME_RX_T_APPN
        if status:
            stats.deliver_errors += 1
        if not link.respond(pdu.response(status)):
            # The connection went away while the event was being stored: the SMSC never got its
            # response, so it will deliver again on the next bind (the service deduplicates).
            log.info("smpp %s: %s seq %d not answered, link gone", link.label, pdu.command_name, pdu.sequence_number)

    # --- supervision ------------------------------------------------------------------------

    async def _supervise(self, kind: BindKind) -> None:
        failures = 0
        settings = self.settings
        while not self._stopped:
            link = SmppConnection(self.settings, kind, self.stats, self.spawn_deliver)
            self._links[kind] = link
            try:
                await self._connect_and_bind(link)
            except _BindRejected as exc:
                delay = self._jitter(settings.reconnect_max)
                message = f"bind_{_BIND_NAMES[kind]} rejected: {exc}"
                log.error("smpp %s: %s by %s:%d (system_id %r); retrying in %.1fs", link.label, message,
                          settings.host, settings.port, settings.system_id, delay)
            except (OSError, TimeoutError, LinkDown) as exc:
                delay = self._backoff(failures)
                failures += 1
                message = f"cannot bind: {type(exc).__name__}: {exc}"
                log.warning("smpp %s: %s; retrying in %.1fs", link.label, message, delay)
            else:
                failures = 0
                if kind == self._tx_kind:
                    self._bound_event.set()
                reason = await asyncio.shield(link.closed)
                if kind == self._tx_kind:
                    self._bound_event.clear()
                if self._stopped:
                    return
                delay = self._backoff(0)
                failures = 1
                message = f"link lost: {reason}"
                log.warning("smpp %s: %s; reconnecting in %.1fs", link.label, message, delay)
            finally:
                if not link.closed.done():  # a failed or cancelled bind leaves no connection behind
                    link.abort("stopped" if self._stopped else "reconnecting")
            self.stats.error(message)
            if self._stopped:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop_event.wait()
            if not self._stopped:
                self.stats.reconnects += 1

    async def _connect_and_bind(self, link: SmppConnection) -> None:
        settings = self.settings
        context = self._ssl_context()
        link.state = LinkState.CONNECTING
        try:
            async with asyncio.timeout(settings.response_timeout):
                await link.loop.create_connection(
                    lambda: link, settings.host, settings.port, ssl=context,
                    server_hostname=settings.host if context is not None else None,
                )
        except BaseException:
            link.abort("connect failed")
            raise
        link.state = LinkState.BINDING
        resp = await link.request(self._binds[link.kind])  # the ticker times it out
        if resp.command_status or not link.session.is_bound:
            raise _BindRejected(resp.command_status or CommandStatus.ESME_RBINDFAIL)
        link.state = LinkState.BOUND
        link.bound_since = time.time()
        log.info("smpp %s: bound as %s to %s:%d%s", link.label, _BIND_NAMES[link.kind], settings.host,
                 settings.port, " (TLS)" if context is not None else "")

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.settings.tls:
            return None
        context = ssl.create_default_context()
        if not self.settings.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _backoff(self, failures: int) -> float:
        settings = self.settings
        return self._jitter(min(settings.reconnect_max, settings.reconnect_min * 2 ** min(failures, 32)))

    def _jitter(self, delay: float) -> float:
        settings = self.settings
        jittered = delay * self._rng.uniform(1 - JITTER, 1 + JITTER)
        return min(settings.reconnect_max, max(settings.reconnect_min, jittered))

    # --- metrics ----------------------------------------------------------------------------

    def metrics(self) -> dict[str, object]:
        stats = self.stats
        tx = self._links.get(self._tx_kind)
        latencies = sorted(stats.latencies)

        def pick(q: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3)

        def state_of(link: SmppConnection | None) -> str:
            if self._stopped:
                return LinkState.STOPPED.value
            if not self.owner:
                return "standby"  # another process of the cluster owns the binds
            return LinkState.DISCONNECTED.value if link is None else link.state.value

        return {
            "carrier": self.name,
            "state": state_of(tx),
            "bind_mode": self.settings.bind_mode,
            "owner": self.owner,
            "bound_since": tx.bound_since if tx is not None and tx.state is LinkState.BOUND else None,
            "links": {
                kind: {"state": state_of(link),
                       "bound_since": link.bound_since if link.state is LinkState.BOUND else None}
                for kind, link in self._links.items()
            },
            "window_in_use": tx.slots_used if tx is not None else 0,
            "window_size": self.settings.window,
            "throughput_limit": self.settings.throughput,
            "submits_total": stats.submits_total,
            "submits_per_s": stats.rate(tx.loop.time()) if tx is not None else 0.0,
            "responses_total": stats.responses_total,
            "response_timeouts": stats.timeouts_total,
            "response_latency_ms": {"p50": pick(0.5), "p99": pick(0.99)} if latencies else None,
            "errors_by_status": dict(stats.errors_by_status),
            "reconnects": stats.reconnects,
            "last_error": stats.last_error,
            "last_error_at": stats.last_error_at,
            "delivers_total": stats.delivers_total,
            "receipts_total": stats.receipts_total,
            "mo_total": stats.mo_total,
            "deliver_errors": stats.deliver_errors,
            "malformed_total": stats.malformed_total,
            "unexpected_responses": stats.unexpected_total,
        }
