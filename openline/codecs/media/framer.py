"""Cut a byte stream into fixed-size media frames (160 bytes = 20 ms of G.711 at 8 kHz)."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["Framer", "frames"]


class Framer:
    def __init__(self, frame_size: int = 160, pad: int = 0xFF) -> None:
        if frame_size <= 0:
            raise ValueError("frame_size must be positive")
        self.frame_size = frame_size
        self.pad = pad
        self._buffer = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        self._buffer += data
        n = len(self._buffer) - len(self._buffer) % self.frame_size
        chunk = bytes(self._buffer[:n])
        del self._buffer[:n]
        return [chunk[i : i + self.frame_size] for i in range(0, n, self.frame_size)]

    def flush(self) -> bytes | None:
        """The remainder padded to a full frame (the pad byte is the codec's silence)."""
        if not self._buffer:
            return None
        out = bytes(self._buffer) + bytes([self.pad]) * (self.frame_size - len(self._buffer))
        self._buffer.clear()
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


def frames(data: bytes, frame_size: int = 160, pad: int = 0xFF) -> Iterator[bytes]:
    """Every frame of ``data``, the last one padded."""
    for i in range(0, len(data), frame_size):
        chunk = data[i : i + frame_size]
        yield chunk if len(chunk) == frame_size else chunk + bytes([pad]) * (frame_size - len(chunk))
