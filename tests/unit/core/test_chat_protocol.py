"""The web chat protocol core: frame validation, limits and encoding (pure functions)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openline.core import chat_protocol as proto


def frame(**fields: object) -> str:
    return json.dumps(fields)


def test_each_request_kind_parses() -> None:
    assert proto.parse_request(frame(type="auth", token="t", id="1")) == proto.Auth("1", "t")
    assert proto.parse_request(frame(type="ping")) == proto.Ping(None)
    assert proto.parse_request(frame(type="join", conversation="support", id=7)) == proto.Join("7", "support")
    assert proto.parse_request(frame(type="leave", conversation="CH1")) == proto.Leave(None, "CH1")
    assert proto.parse_request(frame(type="typing", conversation="CH1")) == proto.Typing(None, "CH1")
    assert proto.parse_request(frame(type="read", conversation="CH1", index=0)) == proto.Read(None, "CH1", 0)
    assert proto.parse_request(frame(type="history", conversation="CH1")) == proto.History(
        None, "CH1", None, proto.DEFAULT_HISTORY_PAGE)
    assert proto.parse_request(frame(type="history", conversation="CH1", before=5, limit=100)) == proto.History(
        None, "CH1", 5, 100)
    send = proto.parse_request(frame(type="send", conversation="CH1", body="hi", attributes={"a": [1]}))
    assert send == proto.Send(None, "CH1", "hi", '{"a":[1]}')
    # Attributes may also come as JSON text, as the REST API takes them.
    assert proto.parse_request(frame(type="send", conversation="c", body="b", attributes='{"x": 1}')).attributes \
        == '{"x": 1}'  # type: ignore[union-attr]
    assert proto.parse_request(frame(type="send", conversation="c", body="b")).attributes == "{}"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [
    "", "nope", "[]", "1", "null", frame(), frame(type="dance"), frame(type=1),
    frame(type="auth"), frame(type="auth", token=""), frame(type="auth", token=5),
    frame(type="auth", token="x" * (proto.MAX_TOKEN_CHARS + 1)),
    frame(type="join"), frame(type="join", conversation=""), frame(type="join", conversation=["CH"]),
    frame(type="join", conversation="x" * 257),
    frame(type="send", conversation="c"), frame(type="send", conversation="c", body=""),
    frame(type="send", conversation="c", body="x" * (32 * 1024 + 1)),
    frame(type="send", conversation="c", body="b", attributes="{broken"),
    frame(type="send", conversation="c", body="b", attributes={"k": "v" * (16 * 1024)}),
    frame(type="read", conversation="c"), frame(type="read", conversation="c", index=-1),
    frame(type="read", conversation="c", index=True), frame(type="read", conversation="c", index="3"),
    frame(type="history", conversation="c", limit=0), frame(type="history", conversation="c", limit=101),
    frame(type="history", conversation="c", before=-2),
    frame(type="ping", id="x" * 65), frame(type="ping", id=True), frame(type="ping", id={"a": 1}),
    "x" * (proto.MAX_FRAME_CHARS + 1),
])
def test_invalid_frames_raise_frame_error_with_20001(text: str) -> None:
    with pytest.raises(proto.FrameError) as caught:
        proto.parse_request(text)
    assert caught.value.code == 20001 and caught.value.message


def test_binary_frames_are_refused() -> None:
    with pytest.raises(proto.FrameError):
        proto.parse_request(b'{"type": "ping"}')


def test_errors_keep_the_request_id_once_it_is_known() -> None:
    with pytest.raises(proto.FrameError) as caught:
        proto.parse_request(frame(type="join", id="j1"))
    assert caught.value.request_id == "j1"


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_input_is_a_request_or_a_frame_error(data: str | bytes) -> None:
    with contextlib.suppress(proto.FrameError):
        proto.parse_request(data)


@given(st.dictionaries(st.sampled_from(["type", "id", "token", "conversation", "body", "attributes", "index",
                                        "before", "limit"]),
                       st.none() | st.booleans() | st.integers() | st.text(max_size=20)
                       | st.lists(st.integers(), max_size=3)))
def test_any_object_is_a_request_or_a_frame_error(data: dict[str, object]) -> None:
    with contextlib.suppress(proto.FrameError):
        proto.parse_request(json.dumps(data))


def test_encode_is_compact_and_drops_a_missing_id() -> None:
    assert proto.encode({"type": "pong", "id": None}) == '{"type":"pong"}'
    assert proto.encode({"type": "pong", "id": "1"}) == '{"type":"pong","id":"1"}'
    assert json.loads(proto.encode({"type": "message", "body": "é ✓"}))["body"] == "é ✓"
    assert proto.error_frame(20429, "slow down", 429, "r") == {
        "type": "error", "id": "r", "code": 20429, "message": "slow down", "status": 429}


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = proto.TokenBucket(rate=2, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False  # 0.8 of a token
    assert bucket.take(0.5) is True  # one token after half a second
    assert bucket.take(100.0) and bucket.take(100.0) and bucket.take(100.0) and not bucket.take(100.0)  # capped


def test_update_and_remove_parse() -> None:
    sid = "IM" + "a" * 32
    assert proto.parse_request(frame(type="remove", conversation="c", message=sid, id="9")) == proto.Remove(
        "9", "c", sid)
    assert proto.parse_request(frame(type="update", conversation="c", message=sid, body="x")) == proto.Update(
        None, "c", sid, "x", None)
    assert proto.parse_request(frame(type="update", conversation="c", message=sid, attributes={"k": 1})) == \
        proto.Update(None, "c", sid, None, '{"k":1}')
    for bad in (frame(type="update", conversation="c", message=sid),  # nothing to change
                frame(type="update", conversation="c", message=sid, body=""),
                frame(type="update", conversation="c", message=sid, attributes="{nope"),
                frame(type="update", conversation="c", body="x"),
                frame(type="remove", conversation="c"),
                frame(type="remove", conversation="c", message="IM" + "a" * 40),
                frame(type="remove", conversation="c", message=5)):
        with pytest.raises(proto.FrameError) as info:
            proto.parse_request(bad)
        assert info.value.code == 20001
