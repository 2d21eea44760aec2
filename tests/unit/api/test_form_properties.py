"""Property tests for request form parsing: any bytes give a Form or Twilio's 20001, never a crash;
what the SDKs encode decodes back exactly, repeated keys in order."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from openline.api.params import MAX_FIELDS, Form
from openline.core.errors import TwilioError

keys = st.text(min_size=1, max_size=20)
values = st.text(max_size=200)


@given(st.lists(st.tuples(keys, values), max_size=50))
def test_encoded_pairs_round_trip(pairs: list[tuple[str, str]]) -> None:
    form = Form.parse(urlencode(pairs).encode())
    for key in {k for k, _ in pairs}:
        assert form.getlist(key) == [v for k, v in pairs if k == key]
        assert form.get(key) == [v for k, v in pairs if k == key][-1]
        assert key in form


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_fail_cleanly(raw: bytes) -> None:
    try:
        form = Form.parse(raw)
    except TwilioError as error:
        assert error.code == 20001
    except UnicodeDecodeError:
        pass  # read_form turns this into 20001 ("not valid UTF-8")
    else:
        assert all(isinstance(name, str) for name in form.names())


def test_too_many_fields_is_20001() -> None:
    raw = "&".join(f"k{i}=v" for i in range(MAX_FIELDS + 1)).encode()
    try:
        Form.parse(raw)
    except TwilioError as error:
        assert error.code == 20001
    else:
        raise AssertionError("a body over the field limit was accepted")
