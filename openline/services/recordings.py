"""Recordings (RE…): stored as 8 kHz WAV, served as WAV or MP3, reported to recordingStatusCallback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from openline.codecs.media.wav import read_wav, write_wav
from openline.core.calls import Call, Recording
from openline.core.clock import Clock
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.audio_files import encode_mp3
from openline.services.callbacks import STATUS_CALLBACK
from openline.services.queue import Wakeup
from openline.services.urls import PublicUrl
from openline.services.webhooks import new_idempotency_token
from openline.storage import jobs
from openline.storage.blobs import BlobStore
from openline.storage.database import Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.voice import CallRepository, RecordingRepository

API_VERSION = "2010-04-01"
CALLBACK_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class StatusTarget:
    url: str
    method: str


class RecordingService:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, blobs: BlobStore, recordings: RecordingRepository,
                 calls: CallRepository, urls: PublicUrl) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._blobs = blobs
        self._recordings = recordings
        self._calls = calls
        self._urls = urls

    def url_for_app(self, recording: Recording) -> str:
        return self._urls.recording_for_app(recording.account_sid, recording.sid)

    async def store(self, call: Call, pcm: bytes, source: str, started_seconds_ago: float,
                    callback: StatusTarget | None) -> Recording:
        """Keep one finished recording with the callback that reports it, in one commit."""
        now = self._clock.now()
        sid = new_sid(SidPrefix.RECORDING)
        key = f"recordings/{call.account_sid}/{sid}.wav"
        await self._blobs.put(key, write_wav(pcm), "audio/wav")
        duration = round(len(pcm) / 2 / 8000)
        recording = Recording(sid=sid, account_sid=call.account_sid, call_sid=call.sid, status="completed",
                              source=source, channels=1, duration=duration, blob_key=key,
                              start_time=now - timedelta(seconds=started_seconds_ago), date_created=now,
                              date_updated=now)
        async with self._db.transaction() as conn:
            await self._recordings.insert(conn, recording)
            if callback is not None:
                params = [("AccountSid", call.account_sid), ("CallSid", call.sid), ("RecordingSid", sid),
                          ("RecordingUrl", self.url_for_app(recording)), ("RecordingStatus", "completed"),
                          ("RecordingDuration", str(duration)), ("RecordingChannels", "1"),
                          ("RecordingSource", source),
                          ("RecordingStartTime", recording.start_time.strftime("%a, %d %b %Y %H:%M:%S +0000")),
                          ("ErrorCode", "0")]
                await jobs.enqueue(conn, STATUS_CALLBACK, {
                    "account_sid": call.account_sid, "sid": sid, "url": callback.url, "method": callback.method,
                    "params": params, "token": new_idempotency_token(), "service_sid": None},
                    now, now, max_attempts=CALLBACK_ATTEMPTS)
        self._wakeup.notify()
        return recording

    async def get(self, account: Account, sid: str, call_sid: str | None = None) -> Recording:
        async with self._db.read() as conn:
            item = await self._recordings.get(conn, sid, account_sids=[account.sid]) if is_sid(sid) else None
        if item is None or (call_sid is not None and item.call_sid != call_sid):
            raise not_found(f"The requested resource {sid} was not found")
        return item

    async def search(self, account: Account, size: int, cursor: Cursor, call_sid: str | None = None) -> Page[Recording]:
        async with self._db.read() as conn:
            if call_sid is not None and await self._calls.get(conn, call_sid, account_sids=[account.sid]) is None:
                raise not_found(f"The requested resource {call_sid} was not found")
            return await self._recordings.page_for(conn, account.sid, size, cursor, call_sid)

    async def delete(self, account: Account, sid: str, call_sid: str | None = None) -> None:
        item = await self.get(account, sid, call_sid)
        async with self._db.transaction() as conn:
            await self._recordings.delete(conn, sid)
        if item.blob_key:
            await self._blobs.delete(item.blob_key)

    async def media(self, account_sids: Sequence[str], sid: str, fmt: str) -> tuple[bytes, str]:
        """The recording as ``wav`` or ``mp3`` bytes with its content type."""
        async with self._db.read() as conn:
            item = await self._recordings.get(conn, sid, account_sids=account_sids) if is_sid(sid) else None
        if item is None or item.blob_key is None:
            raise not_found()
        blob = await self._blobs.get(item.blob_key)
        if blob is None:
            raise TwilioError(20404, "The recording's audio is no longer stored")
        if fmt == "mp3":
            return await encode_mp3(read_wav(blob.data).pcm), "audio/mpeg"
        return blob.data, "audio/x-wav"
