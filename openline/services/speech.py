"""Text to speech for <Say>: espeak-ng renders, the result is kept on disk, 8 kHz linear16 comes out.

Twilio's voices are mapped onto espeak-ng's: ``man`` (and Polly/Google voices whose names we
cannot know) speak with the language's default male variant, ``woman``/``alice`` with a female
one; ``language`` (en-US, fr-FR, ...) picks espeak-ng's voice for that language. The cache key
covers everything that changes the audio, so a prompt is rendered once per text and voice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path

from openline.codecs.media.resample import resample
from openline.codecs.media.wav import WavError, read_wav

log = logging.getLogger("openline.voice")

MAX_RENDER_SECONDS = 30.0  # one <Say> of Twilio's 4,096 characters renders well within this
FEMALE = frozenset({"woman", "alice"})


def espeak_voice(voice: str | None, language: str | None) -> str:
    lang = (language or "en-US").lower()
    base = {"en-us": "en-us", "en-gb": "en-gb", "en-au": "en-us", "en-in": "en-us", "pt-br": "pt-br",
            "zh-cn": "cmn", "zh-tw": "cmn", "zh-hk": "yue", "cmn-cn": "cmn"}.get(lang, lang.split("-")[0])
    base = {"zh": "cmn"}.get(base, base)  # espeak-ng names Mandarin by its ISO 639-3 code
    variant = "+f3" if (voice or "").lower() in FEMALE or (voice or "").lower().startswith("polly.") else "+m3"
    return base + variant


class SpeechError(Exception):
    pass


class Speech:
    def __init__(self, cache_dir: Path, command: str = "espeak-ng") -> None:
        self._dir = cache_dir
        self._command = command
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def render(self, text: str, voice: str | None, language: str | None) -> bytes:
        """8 kHz linear16 of ``text`` spoken in ``voice``/``language``."""
        espeak = espeak_voice(voice, language)
        key = hashlib.sha256(f"{self._command}\0{espeak}\0{text}".encode()).hexdigest()
        path = self._dir / f"{key}.pcm"
        if path.exists():
            return path.read_bytes()
        pending = self._pending.get(key)
        if pending is not None:  # the same prompt on many calls at once renders once
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            pcm = await self._render(text, espeak)
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pcm)
            tmp.replace(path)  # atomic: a reader never sees half a prompt
            future.set_result(pcm)
            return pcm
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so nobody waiting is required
            raise
        finally:
            del self._pending[key]

    async def _render(self, text: str, espeak: str) -> bytes:
        try:
            process = await asyncio.create_subprocess_exec(
                self._command, "-v", espeak, "--stdout", "--stdin",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise SpeechError(f"cannot run {self._command}: {exc}") from None
        try:
            out, err = await asyncio.wait_for(process.communicate(text.encode("utf-8")), MAX_RENDER_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise SpeechError(f"{self._command} took longer than {MAX_RENDER_SECONDS} s") from None
        if process.returncode != 0:
            raise SpeechError(f"{self._command} failed: {err.decode('utf-8', 'replace')[:200]}")
        try:
            audio = read_wav(out)
        except WavError as exc:
            raise SpeechError(f"{self._command} wrote no usable WAV: {exc}") from None
        return await asyncio.to_thread(resample, audio.pcm, audio.rate, 8000) if audio.rate != 8000 else audio.pcm
