"""Calls: the durable accept (row + dial job, one commit), the account's dial queue, status
callbacks, and the live calls this process holds (each run by a :class:`CallSession`).

An outbound call is accepted ``queued`` with a dial slot: the account's calls leave at most
``voice.calls_per_second`` apart (Twilio's CPS), later ones wait in the queue. The dial job
places the leg through the :class:`Dialer`; from then on the call lives in this process and
every step of its life is a row change plus the status callbacks it is subscribed to, committed
together. Inbound calls arrive through :meth:`VoiceService.incoming` (the ``IncomingCallHandler``
the SIP side and the sandbox call).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from openline.codecs.twiml import TwimlError
from openline.codecs.twiml.voice import parse_voice_twiml
from openline.config import VoiceSettings
from openline.core import magic_numbers
from openline.core.call_legs import CallLeg, Dialer, DialRequest, IncomingCall, RejectReason
from openline.core.calls import (
    EVENT_OF,
    Call,
    CallbackEvent,
    CallDirection,
    CallStatus,
    check_transition,
    duration_seconds,
    is_final,
)
from openline.core.clock import Clock
from openline.core.entities import Account, AccountStatus
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.callbacks import STATUS_CALLBACK
from openline.services.queue import RetryLater, Wakeup
from openline.services.webhooks import new_idempotency_token
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import ApplicationRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.voice import CallFilter as CallFilter  # re-exported for the console
from openline.storage.repositories.voice import CallRepository

log = logging.getLogger("openline.voice")

VOICE_DIAL = "voice_dial"
VOICE_CONTROL = "voice_control"
CONTROL_WINDOW = timedelta(seconds=60)  # a live-call update no worker claims by then is dropped
CONTROL_RETRY_SECONDS = 0.2
API_VERSION = "2010-04-01"
DEFAULT_TIMEOUT = 60  # seconds of ringing before no-answer (Twilio's Timeout default)
MAX_TIMEOUT = 600  # Twilio caps Timeout at 600 seconds
MAX_SEND_DIGITS = 32  # Twilio's SendDigits limit
SEND_DIGITS = frozenset("0123456789*#w")
CALLBACK_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class CreateCall:
    to: str | None
    from_: str | None
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    application_sid: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: Sequence[str] = ()
    timeout: int = DEFAULT_TIMEOUT
    record: bool = False
    send_digits: str | None = None
    caller_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallUpdate:
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    status: str | None = None
    fallback_url: str | None = None
    status_callback: str | None = None


class LiveCall(Protocol):
    """What the service asks of a call held by this process (implemented by CallSession)."""

    def redirect(self, url: str | None, method: str, twiml: str | None) -> None: ...

    def end(self) -> None: ...

    async def run(self) -> None: ...


class SessionFactory(Protocol):
    """Makes the runner of one live call (voice_session.CallSessions)."""

    def create(self, service: VoiceService, call: Call, leg: CallLeg) -> LiveCall: ...


def voice_params(call: Call) -> list[tuple[str, str]]:
    """Twilio's voice webhook parameters for a call's current state."""
    params = [("CallSid", call.sid), ("AccountSid", call.account_sid), ("From", call.from_addr),
              ("To", call.to_addr), ("CallStatus", call.status.value), ("Direction", call.direction.value),
              ("ApiVersion", API_VERSION), ("Caller", call.from_addr), ("Called", call.to_addr)]
    if call.parent_call_sid:
        params.append(("ParentCallSid", call.parent_call_sid))
    return params


class VoiceService:
    def __init__(self, db: Database, clock: Clock, settings: VoiceSettings, wakeup: Wakeup, calls: CallRepository,
                 numbers: IncomingPhoneNumberRepository, applications: ApplicationRepository, dialer: Dialer,
                 sessions: SessionFactory) -> None:
        self._db = db
        self.db = db
        self._clock = clock
        self._settings = settings
        self._wakeup = wakeup
        self._calls = calls
        self._numbers = numbers
        self._apps = applications
        self.live: dict[str, LiveCall] = {}
        self.dialer = dialer
        self._sessions = sessions
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_dial: dict[str, float] = {}  # account → monotonic time of its last dial here

    # --- accept ---------------------------------------------------------------------------

    async def create(self, account: Account, request: CreateCall) -> Call:
        async with self._db.transaction() as conn:
            call = await self.accept(conn, account, request)
        self._wakeup.notify(VOICE_DIAL)
        return call

    async def accept(self, conn: Conn, account: Account, request: CreateCall) -> Call:
        """Validate and store one outbound call with its dial job, inside the caller's transaction."""
        if account.status is not AccountStatus.ACTIVE:
            raise TwilioError(10001, f"Account {account.sid} is {account.status.value}: it cannot place calls")
        to = _check_to(request.to)
        if not request.from_:
            raise TwilioError(21213, "A 'From' (caller ID) phone number is required")
        if request.send_digits and (len(request.send_digits) > MAX_SEND_DIGITS
                                    or not set(request.send_digits) <= SEND_DIGITS):
            raise TwilioError(21236, f"SendDigits may hold at most {MAX_SEND_DIGITS} of 0-9, *, # and w")
        if not 1 <= request.timeout <= MAX_TIMEOUT:
            raise TwilioError(20001, f"Timeout must be between 1 and {MAX_TIMEOUT} seconds")
        events = set(request.status_callback_events)
        unknown = events - {e.value for e in CallbackEvent}
        if unknown:
            raise TwilioError(21626, f"StatusCallbackEvent {sorted(unknown)[0]} is not one of "
                                     "initiated, ringing, answered, completed")
        if request.twiml is not None:
            try:
                parse_voice_twiml(request.twiml)
            except TwimlError as exc:
                raise TwilioError(21205, f"Twiml is not valid TwiML: {exc}") from None
        now = self._clock.now()
        from_ = await self._check_from(conn, account, request.from_)
        url, method = request.url, request.method
        fallback_url, fallback_method = request.fallback_url, request.fallback_method
        if request.application_sid:
            app = await self._apps.get(conn, request.application_sid, account_sids=[account.sid])
            if app is None:
                raise TwilioError(21218, f"ApplicationSid {request.application_sid} is not an application "
                                         "of this account")
            url, method = app.voice_url, app.voice_method
            fallback_url, fallback_method = app.voice_fallback_url, app.voice_fallback_method
        if not url and request.twiml is None:
            raise TwilioError(21205, "Url (or Twiml, or an ApplicationSid with a voice URL) is required")
        # The account's dial queue: one slot every 1/CPS seconds after the last one given out.
        gap = timedelta(seconds=1 / self._settings.calls_per_second)
        last = await self._calls.last_dial_slot(conn, account.sid)
        dial_at = max(now, last + gap) if last is not None else now
        call = Call(
            sid=new_sid(SidPrefix.CALL), account_sid=account.sid, parent_call_sid=None,
            direction=CallDirection.OUTBOUND_API, from_addr=from_, to_addr=to, status=CallStatus.QUEUED,
            start_time=None, end_time=None, duration=None, answered_by=None, caller_name=None,
            phone_number_sid=None, url=url, method=method, twiml=request.twiml, fallback_url=fallback_url,
            fallback_method=fallback_method, status_callback=request.status_callback,
            status_callback_method=request.status_callback_method,
            status_callback_events=" ".join(sorted(events or {CallbackEvent.COMPLETED.value})),
            timeout=request.timeout, record=request.record, send_digits=request.send_digits or None,
            application_sid=request.application_sid, dial_at=dial_at, date_created=now, date_updated=now)
        await self._calls.insert(conn, call)
        await jobs.enqueue(conn, VOICE_DIAL, {"sid": call.sid}, dial_at, now, max_attempts=3)
        return call

    async def _check_from(self, conn: Conn, account: Account, raw: str) -> str:
        if raw.startswith("sip:") or raw.startswith("client:"):
            return raw
        parsed = parse_e164(raw)
        if parsed is None:
            raise TwilioError(21212, f"The 'From' number {raw} is not a valid phone number")
        if parsed.e164 == magic_numbers.VALID_FROM:
            return parsed.e164
        owned = await self._numbers.by_number(conn, parsed.e164)
        if owned is None or owned.account_sid != account.sid:
            raise TwilioError(21210, f"The 'From' number {parsed.e164} is not a phone number of this account "
                                     "(or a verified caller ID)")
        if not owned.voice_capable:
            raise TwilioError(21210, f"The 'From' number {parsed.e164} is not voice capable")
        return parsed.e164

    # --- read, change, delete --------------------------------------------------------------

    async def get(self, account: Account, sid: str) -> Call:
        async with self._db.read() as conn:
            call = await self._calls.get(conn, sid, account_sids=[account.sid]) if is_sid(sid) else None
        if call is None:
            raise not_found(f"The requested resource {sid} was not found")
        return call

    async def search(self, account: Account, size: int, cursor: Cursor, where: CallFilter) -> Page[Call]:
        async with self._db.read() as conn:
            return await self._calls.page_for(conn, account.sid, size, cursor, where)

    async def update(self, account: Account, sid: str, change: CallUpdate) -> Call:
        call = await self.get(account, sid)
        if change.status is not None and change.status not in ("canceled", "completed"):
            raise TwilioError(20001, "Status can only be set to canceled or completed")
        redirect = change.url is not None or change.twiml is not None
        if change.twiml is not None:
            try:
                parse_voice_twiml(change.twiml)
            except TwimlError as exc:
                raise TwilioError(21205, f"Twiml is not valid TwiML: {exc}") from None
        if is_final(call.status) and (redirect or change.status is not None):
            raise TwilioError(21220, f"Call is not in-progress (it is {call.status.value}): it cannot be changed")
        live = self.live.get(sid)
        if change.status == "canceled" and call.status is CallStatus.IN_PROGRESS:
            return call  # Twilio: canceled only affects calls that are not answered yet
        if redirect:
            async with self._db.transaction() as conn:
                values = {"url": change.url, "method": change.method, "twiml": change.twiml,
                          "date_updated": self._clock.now()}
                call = await self._calls.set_fields(conn, call, values)
        if change.status is None and not redirect:
            return call
        if live is not None:
            if change.status is not None:
                live.end()
                return await self._settled(account, sid)
            live.redirect(change.url, change.method, change.twiml)
            return call
        if change.status is not None and call.status is CallStatus.QUEUED:
            async with self._db.transaction() as conn:
                fresh = await self._calls.get(conn, sid)
                if fresh is not None and fresh.status is CallStatus.QUEUED:
                    return await self.set_status(conn, fresh, CallStatus.CANCELED)
        if redirect and call.status is CallStatus.QUEUED:
            return call  # not dialed yet: the new Url/Twiml runs when it answers
        # Another process holds the live call: the control job finds it there.
        async with self._db.transaction() as conn:
            now = self._clock.now()
            await jobs.enqueue(conn, VOICE_CONTROL, {
                "sid": sid, "end": change.status is not None, "url": change.url, "method": change.method,
                "twiml": change.twiml, "until": (now + CONTROL_WINDOW).isoformat()}, now, now, max_attempts=1000)
        self._wakeup.notify(VOICE_CONTROL)
        return call

    async def control(self, job: Job) -> None:
        """A live-call update made in another process: apply it here if this process holds the call."""
        p = job.payload
        live = self.live.get(p["sid"])
        if live is not None:
            if p["end"]:
                live.end()
            else:
                live.redirect(p["url"], p["method"], p["twiml"])
        else:
            call = await self.fresh(p["sid"])
            now = self._clock.now()
            if call is not None and not is_final(call.status) and now < datetime.fromisoformat(p["until"]):
                # Not ours: put it back as a new job rather than RetryLater. The enqueue announces
                # it (NOTIFY) to every worker, so the holder races for it on equal terms; a quiet
                # reschedule would be seen first by this worker every time, the holder only at its
                # next idle poll.
                async with self._db.transaction() as conn:
                    await jobs.complete(conn, job.id)
                    await jobs.enqueue(conn, VOICE_CONTROL, p, now + timedelta(seconds=CONTROL_RETRY_SECONDS), now)
                return
        async with self._db.transaction() as conn:
            await jobs.complete(conn, job.id)

    async def _settled(self, account: Account, sid: str) -> Call:
        """The call once its leg has reported the end (a hangup takes a moment to settle)."""
        for _ in range(50):
            call = await self.get(account, sid)
            if is_final(call.status):
                return call
            await asyncio.sleep(0.05)
        return await self.get(account, sid)

    async def delete(self, account: Account, sid: str) -> None:
        call = await self.get(account, sid)
        if not is_final(call.status):
            raise TwilioError(20009, "A call cannot be deleted before it has ended")
        async with self._db.transaction() as conn:
            await self._calls.delete(conn, sid)

    # --- lifecycle (used by sessions) -------------------------------------------------------

    async def set_status(self, conn: Conn, call: Call, status: CallStatus, **changes: object) -> Call:
        """One lifecycle step: the row and the status callback it is subscribed to, in the caller's transaction."""
        check_transition(call.status, status)
        now = self._clock.now()
        values: dict[str, object] = {"status": status, "date_updated": now, **changes}
        if status is CallStatus.IN_PROGRESS:
            values["start_time"] = now
        if is_final(status):
            values["end_time"] = now
            values["duration"] = duration_seconds(call.start_time, now)
        updated = await self._calls.set_fields(conn, call, values)
        await self.callback(conn, updated, EVENT_OF[status])
        return updated

    async def callback(self, conn: Conn, call: Call, event: CallbackEvent,
                       extra: Sequence[tuple[str, str]] = ()) -> None:
        if not call.status_callback or event not in call.callback_events:
            return
        now = self._clock.now()
        status = "initiated" if event is CallbackEvent.INITIATED else call.status.value
        params = [(k, status if k == "CallStatus" else v) for k, v in voice_params(call)]
        params += [("CallbackSource", "call-progress-events"),
                   ("Timestamp", now.strftime("%a, %d %b %Y %H:%M:%S +0000")),
                   # 0 for the first callback the call sends, counting only the events subscribed to.
                   ("SequenceNumber", str(sum(1 for e in _EVENT_ORDER[: _EVENT_ORDER.index(event)]
                                              if e in call.callback_events)))]
        if event is CallbackEvent.COMPLETED:
            params += [("CallDuration", str(call.duration or 0)), ("Duration", str(-(-(call.duration or 0) // 60)))]
        params += list(extra)
        await jobs.enqueue(conn, STATUS_CALLBACK, {
            "account_sid": call.account_sid, "sid": call.sid, "url": call.status_callback,
            "method": call.status_callback_method, "params": params, "token": new_idempotency_token(),
            "service_sid": None}, now, now, max_attempts=CALLBACK_ATTEMPTS)

    async def transaction_step(self, call: Call, status: CallStatus, **changes: object) -> Call:
        async with self._db.transaction() as conn:
            fresh = await self._calls.get(conn, call.sid) or call
            if fresh.status is status or is_final(fresh.status):
                return fresh
            updated = await self.set_status(conn, fresh, status, **changes)
        self._wakeup.notify()
        return updated

    async def fresh(self, sid: str) -> Call | None:
        async with self._db.read() as conn:
            return await self._calls.get(conn, sid)

    # --- outbound: the dial job -------------------------------------------------------------

    async def dial(self, job: Job) -> None:
        async with self._db.transaction() as conn:
            call = await self._calls.get(conn, job.payload["sid"])
            if call is None or call.status is not CallStatus.QUEUED:  # canceled or deleted while queued
                await jobs.complete(conn, job.id)
                return
            if call.dial_at > self._clock.now() + timedelta(milliseconds=5):
                await jobs.postpone(conn, job.id, call.dial_at, "waiting for the account's dial slot")
                return
            # Slots are planned at accept time; a late slot must not bunch up with the next one,
            # so this process also keeps its own dials of one account 1/CPS apart.
            wait = self._last_dial.get(call.account_sid, -1e9) + 1 / self._settings.calls_per_second \
                - time.monotonic()
            if wait > 0:
                raise RetryLater(wait, "the account's calls per second")
            self._last_dial[call.account_sid] = time.monotonic()
            await self.callback(conn, call, CallbackEvent.INITIATED)
            await jobs.complete(conn, job.id)
        self._wakeup.notify()
        self.start_outbound(call)

    def start_outbound(self, call: Call) -> None:
        request = DialRequest(target=call.to_addr, caller_id=call.from_addr, account_sid=call.account_sid,
                              call_sid=call.sid, timeout_seconds=call.timeout)
        try:
            leg = self.dialer.dial(request)
        except LookupError as exc:
            log.info("call %s: nothing reaches %s: %s", call.sid, call.to_addr, exc)
            self._spawn(self.transaction_step(call, CallStatus.FAILED))
            return
        self._start_session(call, leg, answered=False)

    # --- <Dial>: child calls -----------------------------------------------------------------

    async def create_child(self, parent: Call, target: str, caller_id: str, timeout: int,
                           callback: tuple[str | None, str, Sequence[str]] = (None, "POST", ("completed",))) -> Call:
        """A <Dial>ed call: its own Call resource (outbound-dial) under the parent; not paced by CPS.

        ``callback`` is the noun's statusCallback, its method and events (relative URLs resolved by the caller).
        """
        now = self._clock.now()
        parsed = parse_e164(target)
        call = Call(
            sid=new_sid(SidPrefix.CALL), account_sid=parent.account_sid, parent_call_sid=parent.sid,
            direction=CallDirection.OUTBOUND_DIAL, from_addr=caller_id,
            to_addr=parsed.e164 if parsed else target, status=CallStatus.QUEUED, start_time=None, end_time=None,
            duration=None, answered_by=None, caller_name=None, phone_number_sid=None, url=None, method="POST",
            twiml=None, fallback_url=None, fallback_method="POST", status_callback=callback[0],
            status_callback_method=callback[1], status_callback_events=" ".join(sorted(set(callback[2]))),
            timeout=timeout, record=False, send_digits=None, application_sid=None, dial_at=now, date_created=now,
            date_updated=now)
        async with self._db.transaction() as conn:
            await self._calls.insert(conn, call)
            await self.callback(conn, call, CallbackEvent.INITIATED)
        self._wakeup.notify()
        return call

    # --- inbound ----------------------------------------------------------------------------

    def incoming(self, call: IncomingCall) -> None:
        self._spawn(self._incoming(call))

    async def _incoming(self, call: IncomingCall) -> None:
        try:
            await self.accept_incoming(call, None)
        except TwilioError as exc:
            log.info("incoming call to %s from %s refused: %s", call.to, call.from_, exc)

    async def accept_incoming(self, incoming: IncomingCall, account_sids: Sequence[str] | None) -> Call:
        """Store an inbound call and start its TwiML; the leg is refused if the number is not ours."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            parsed = parse_e164(incoming.to)
            number = await self._numbers.by_number(conn, parsed.e164 if parsed else incoming.to)
            to_addr = number.phone_number if number is not None else incoming.to
            if number is None and incoming.registered_user:
                # A registered SIP user dialled a number that is not ours: like Twilio's SIP
                # registration, the TwiML of the user's own number handles the call (it usually
                # <Dial>s the destination with the user's number as caller ID).
                number = await self._numbers.by_number(conn, incoming.from_)
                to_addr = parsed.e164 if parsed else incoming.to
            if number is None or (account_sids is not None and number.account_sid not in account_sids):
                incoming.leg.reject(RejectReason.REJECTED)
                raise TwilioError(21211, f"{incoming.to} is not a phone number of this account")
            url, method = number.voice_url, number.voice_method
            fallback_url, fallback_method = number.voice_fallback_url, number.voice_fallback_method
            if number.voice_application_sid:
                app = await self._apps.get(conn, number.voice_application_sid)
                if app is not None:
                    url, method = app.voice_url, app.voice_method
                    fallback_url, fallback_method = app.voice_fallback_url, app.voice_fallback_method
            call = Call(
                sid=new_sid(SidPrefix.CALL), account_sid=number.account_sid, parent_call_sid=None,
                direction=CallDirection.INBOUND, from_addr=incoming.from_, to_addr=to_addr,
                status=CallStatus.RINGING, start_time=None, end_time=None, duration=None, answered_by=None,
                caller_name=None, phone_number_sid=number.sid, url=url, method=method, twiml=None,
                fallback_url=fallback_url, fallback_method=fallback_method, status_callback=number.status_callback,
                status_callback_method=number.status_callback_method,
                status_callback_events=CallbackEvent.COMPLETED.value, timeout=DEFAULT_TIMEOUT, record=False,
                send_digits=None, application_sid=number.voice_application_sid, dial_at=now, date_created=now,
                date_updated=now)
            await self._calls.insert(conn, call)
        if not url:
            # No voice URL: Twilio plays an application error; we refuse the call the same way.
            self._spawn(self._no_application(call, incoming.leg))
            return call
        self._start_session(call, incoming.leg, answered=False)
        return call

    async def _no_application(self, call: Call, leg: CallLeg) -> None:
        leg.reject(RejectReason.REJECTED)
        await self.transaction_step(call, CallStatus.BUSY)

    # --- sessions ---------------------------------------------------------------------------

    def _start_session(self, call: Call, leg: CallLeg, *, answered: bool) -> None:
        session = self._sessions.create(self, call, leg)
        self.live[call.sid] = session
        self._spawn(session.run())

    def ended(self, sid: str) -> None:
        self.live.pop(sid, None)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for session in list(self.live.values()):
            session.end()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

    async def recover(self) -> None:
        """Calls left ringing or in progress by a previous run of this process cannot resume: end them.

        So do queued calls whose dial job was taken but never dialed (child calls of a <Dial> too).
        """
        async with self._db.transaction() as conn:
            for call in await self._calls.unfinished(conn):
                if call.sid not in self.live:
                    await self.set_status(conn, call, CallStatus.FAILED if call.status is CallStatus.IN_PROGRESS
                                          else CallStatus.CANCELED)
            for call in await self._calls.orphaned(conn, VOICE_DIAL):
                if call.sid not in self.live:
                    await self.set_status(conn, call, CallStatus.FAILED)


_EVENT_ORDER = [CallbackEvent.INITIATED, CallbackEvent.RINGING, CallbackEvent.ANSWERED, CallbackEvent.COMPLETED]


def _check_to(raw: str | None) -> str:
    if not raw:
        raise TwilioError(21201, "A 'To' phone number is required")
    if raw.startswith("sip:"):
        return raw
    parsed = parse_e164(raw)
    if parsed is not None and parsed.e164 in magic_numbers.CALL_TO_ERRORS:
        code = magic_numbers.CALL_TO_ERRORS[parsed.e164]
        raise TwilioError(code, f"The 'To' number {parsed.e164} answers {code} (Twilio test number)")
    if parsed is None:
        raise TwilioError(21217, f"The 'To' number {raw} is not a valid phone number")
    return parsed.e164

