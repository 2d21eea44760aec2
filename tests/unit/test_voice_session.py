"""A live call's session driven through a scripted leg (the CallLeg port), on an embedded store:
the lifecycle rows it writes, what it asks of the leg, and its guard against legs that never end
their ringing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from openline import app as composition
from openline.config import Settings
from openline.core.call_legs import (
    Answered,
    AudioSink,
    CallLeg,
    DialRequest,
    DigitReceived,
    Ended,
    EndReason,
    LegEvent,
    PlaybackFinished,
    RejectReason,
    Ringing,
)
from openline.core.calls import CallStatus
from openline.services import voice_session
from openline.services.voice import CreateCall
from openline.storage import jobs

ACCOUNT, TOKEN = "AC" + "a" * 32, "b" * 32


class ScriptedLeg(CallLeg):
    """Reports what the test says; remembers what it was asked."""

    def __init__(self) -> None:
        self.listener: Callable[[LegEvent], None] | None = None
        self.played: list[int] = []
        self.calls: list[str] = []

    @property
    def leg_id(self) -> str:
        return "scripted"

    def emit(self, event: LegEvent) -> None:
        assert self.listener is not None
        asyncio.get_running_loop().call_soon(self.listener, event)

    def listen(self, listener: Callable[[LegEvent], None]) -> None:
        self.listener = listener

    def play(self, pcm: bytes, token: int) -> None:
        self.played.append(token)

    def stop_playback(self) -> None:
        self.calls.append("stop_playback")

    def send_digits(self, digits: str) -> None:
        self.calls.append(f"send_digits {digits}")

    def set_audio_sink(self, sink: AudioSink | None) -> None:
        pass

    def answer(self) -> None:
        self.calls.append("answer")

    def reject(self, reason: RejectReason) -> None:
        self.calls.append(f"reject {reason.value}")

    def hangup(self) -> None:
        self.calls.append("hangup")
        self.emit(Ended(EndReason.HANGUP_LOCAL))


class OneLegDialer:
    def __init__(self, leg: ScriptedLeg) -> None:
        self.leg = leg
        self.requests: list[DialRequest] = []

    def dial(self, request: DialRequest) -> CallLeg:
        self.requests.append(request)
        return self.leg


@pytest.fixture
async def openline(tmp_path: Path) -> AsyncIterator[composition.Openline]:
    settings = Settings(data_dir=tmp_path / "data", account_sid=ACCOUNT, auth_token=TOKEN)  # type: ignore[arg-type]
    composition.prepare_schema(settings, migrate_now=True)
    built = composition.build(settings)
    await built.bootstrap()
    yield built
    await built.close()


async def eventually(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def status_of(openline: composition.Openline, sid: str) -> CallStatus | None:
    assert openline.voice is not None
    call = await openline.voice.fresh(sid)
    return call.status if call else None


async def start_call(openline: composition.Openline, leg: ScriptedLeg, twiml: str, timeout: int = 60) -> str:
    voice = openline.voice
    assert voice is not None
    dialer = OneLegDialer(leg)
    voice.dialer = dialer
    async with openline.db.read() as conn:
        account = await openline.services.account_repository.get(conn, ACCOUNT)
    assert account is not None
    call = await voice.create(account, CreateCall(to="+15558670500", from_="+15005550006", twiml=twiml,
                                                  timeout=timeout, send_digits="1w2"))
    voice.start_outbound(call)
    assert dialer.requests[0].target == "+15558670500" and dialer.requests[0].timeout_seconds == timeout
    return call.sid


async def test_a_gather_call_from_ringing_to_completed(openline: composition.Openline) -> None:
    leg = ScriptedLeg()
    sid = await start_call(openline, leg, '<Response><Gather numDigits="2" timeout="5"><Pause length="30"/>'
                                          '</Gather><Hangup/></Response>')
    leg.emit(Ringing())
    await asyncio.sleep(0.1)
    assert await status_of(openline, sid) is CallStatus.RINGING
    leg.emit(Answered())
    await asyncio.sleep(0.1)
    assert await status_of(openline, sid) is CallStatus.IN_PROGRESS
    assert leg.calls == ["send_digits 1w2"]
    leg.emit(DigitReceived("4"))  # barge-in on the pause, then a second digit ends the gather
    leg.emit(DigitReceived("2"))
    await eventually(lambda: "hangup" in leg.calls)
    await asyncio.sleep(0.1)
    assert await status_of(openline, sid) is CallStatus.COMPLETED
    assert leg.played == []  # nothing was spoken


async def test_a_leg_that_never_stops_ringing_is_no_answer(openline: composition.Openline,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voice_session, "RING_GRACE_SECONDS", 0.2)
    leg = ScriptedLeg()
    sid = await start_call(openline, leg, "<Response><Hangup/></Response>", timeout=1)
    leg.emit(Ringing())
    await eventually(lambda: "hangup" in leg.calls, timeout=5)
    await asyncio.sleep(0.1)
    assert await status_of(openline, sid) is CallStatus.NO_ANSWER


async def test_playback_tokens_drive_the_document(openline: composition.Openline) -> None:
    leg = ScriptedLeg()
    sid = await start_call(openline, leg, '<Response><Play digits="9"/><Say>one</Say><Say>two</Say></Response>')
    leg.emit(Answered())
    await eventually(lambda: leg.played == [1])
    assert "send_digits 9" in leg.calls
    leg.emit(PlaybackFinished(1))
    await eventually(lambda: leg.played == [1, 2])
    leg.emit(PlaybackFinished(2))
    await eventually(lambda: "hangup" in leg.calls)
    await asyncio.sleep(0.1)
    assert await status_of(openline, sid) is CallStatus.COMPLETED


async def test_restart_ends_calls_that_cannot_resume(openline: composition.Openline) -> None:
    voice = openline.voice
    assert voice is not None
    async with openline.db.read() as conn:
        account = await openline.services.account_repository.get(conn, ACCOUNT)
    assert account is not None
    request = CreateCall(to="+15558670501", from_="+15005550006", twiml="<Response/>")
    kept, lost = await voice.create(account, request), await voice.create(account, request)
    async with openline.db.transaction() as conn:
        # The dial job of `lost` was taken by a process that died before dialing.
        claimed = await jobs.claim(conn, ("voice_dial",), "crashed", openline.clock.now() + timedelta(hours=1),
                                   timedelta(seconds=60), 10, False)
        lost_job = next(j for j in claimed if j.payload["sid"] == lost.sid)
        await jobs.complete(conn, lost_job.id)
        await jobs.release_all_leases(conn)
    await voice.recover()
    assert await status_of(openline, lost.sid) is CallStatus.FAILED
    assert await status_of(openline, kept.sid) is CallStatus.QUEUED  # its job is still there: it will be dialed
