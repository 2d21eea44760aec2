"""Shared helpers for the SMPP codec tests: vector loading and in-memory session pairs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openline.codecs.smpp.events import NEED_DATA, ConnectionClosed, Event
from openline.codecs.smpp.session import Session

VECTOR_DIR = Path(__file__).resolve().parents[4] / "tests" / "vectors" / "smpp"


@dataclass(frozen=True)
class Vector:
    name: str
    data: bytes
    ok: bool
    status: int | None  # expected command_status of the SmppParseError
    fatal: bool  # framing lost: the session cannot continue
    incomplete: bool  # command_length promises more octets than the file holds


def load_vector(path: Path) -> Vector:
    hex_text: list[str] = []
    expect = ""
    for line in path.read_text().splitlines():
        code, _, comment = line.partition("#")
        hex_text.append(code)
        if comment.strip().startswith("expect:"):
            expect = comment.strip().removeprefix("expect:").strip()
    if not expect:
        raise AssertionError(f"{path.name} has no '# expect:' line")
    data = bytes.fromhex("".join("".join(hex_text).split()))
    words = expect.split()
    ok = words[0] == "ok"
    return Vector(
        name=path.stem,
        data=data,
        ok=ok,
        status=None if ok else int(words[1], 16),
        fatal="fatal" in words,
        incomplete="incomplete" in words,
    )


def all_vectors() -> list[Vector]:
    vectors = [load_vector(p) for p in sorted(VECTOR_DIR.glob("*.hex"))]
    assert vectors, f"no vectors in {VECTOR_DIR}"
    return vectors


def drain(session: Session) -> list[Event]:
    """Every event buffered bytes yield; stops at NEED_DATA, or after ConnectionClosed (which,
    like h11's, repeats forever once the peer has closed)."""
    events: list[Event] = []
    while True:
        event = session.next_event()
        if event is NEED_DATA:
            return events
        assert not isinstance(event, type(NEED_DATA))
        events.append(event)
        if isinstance(event, ConnectionClosed):
            return events


def deliver(data: bytes, to: Session, now: float = 0.0) -> list[Event]:
    """Bytes one side sent arrive at the other; return the events they produce."""
    to.receive_data(data, now=now)
    return drain(to)
