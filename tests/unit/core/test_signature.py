"""X-Twilio-Signature against the vectors in twilio-compat.md §11 and the official SDK validator."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from openline.core.signature import (
    json_body_url,
    signed_url,
    twilio_signature,
    twilio_signature_sha256,
)

TOKEN = "12345"
VECTOR_PARAMS = [
    ("To", "+15005550006"),
    ("From", "+15551234567"),
    ("Body", "Hi there"),
    ("MessageSid", "SM" + "0" * 32),
    ("AccountSid", "AC" + "0" * 32),
]


class MultiDict:
    """The Flask/Werkzeug shape the SDK validator asks for with ``getall`` (repeated names)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]


def test_form_vector() -> None:
    assert twilio_signature(TOKEN, "https://example.com/sms?x=1", VECTOR_PARAMS) == "Q5CcX87bhAbmDY6euvBjiKCZTe0="


def test_json_vector() -> None:
    body = '{"property":"value","boolean":true}'
    url = json_body_url("https://example.com/hook", body.encode())
    assert url == "https://example.com/hook?bodySHA256=d5729c000e5de6b3a10698fec78d482db85d744f1be820d1382b6bda1cfb7795"
    signature = twilio_signature(TOKEN, url, None)
    assert signature == "Q3Mhbno0ELegm8NX0d4qBQKcMZI="
    assert RequestValidator(TOKEN).validate(url, body, signature)
    assert not RequestValidator(TOKEN).validate(url, body + " ", signature)


def test_json_body_url_keeps_query_and_fragment() -> None:
    body = b"{}"
    assert json_body_url("https://e.com/h?a=1#rc=2", body).startswith("https://e.com/h?a=1&bodySHA256=")
    assert json_body_url("https://e.com/h?a=1#rc=2", body).endswith("#rc=2")
    assert "?bodySHA256=" in json_body_url("https://e.com/h?", body)


def test_get_signs_only_the_url() -> None:
    url = "https://example.com/sms?From=%2B15551234567&Body=Hi+there"
    assert twilio_signature(TOKEN, url, None) == twilio_signature(TOKEN, url, ())
    assert RequestValidator(TOKEN).validate(url, {}, twilio_signature(TOKEN, url, None))


def test_repeated_names_every_value_sorted_identical_values_once() -> None:
    pairs = [("B", "2"), ("A", "z"), ("A", "y"), ("A", "z"), ("MediaUrl0", "")]
    signature = twilio_signature(TOKEN, "https://e.com/x", pairs)
    expected = twilio_signature(TOKEN, "https://e.com/x", [("A", "y"), ("A", "z"), ("B", "2"), ("MediaUrl0", "")])
    assert signature == expected
    assert RequestValidator(TOKEN).validate("https://e.com/x", MultiDict(pairs), signature)


def test_sha256_variant() -> None:
    secret = "shared-key-secret"
    url = "https://example.com/sms?x=1"
    signature = twilio_signature_sha256(secret, url, VECTOR_PARAMS)
    assert signature != twilio_signature(secret, url, VECTOR_PARAMS)
    assert RequestValidator(secret).validate(url, dict(VECTOR_PARAMS), signature, algorithm="HMAC_SHA256")
    assert not RequestValidator(secret).validate(url, dict(VECTOR_PARAMS), signature)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Twilio docs, Security › Notes: userinfo always dropped, the port too for https.
        ("https://user:pass@example.com:8443/a?b=1#ct=1000", "https://example.com/a?b=1"),
        ("http://user:pass@example.com:8080/a", "http://example.com:8080/a"),
        ("http://127.0.0.1:9000/hook?x=a@b", "http://127.0.0.1:9000/hook?x=a@b"),
        ("https://[::1]:443/x", "https://[::1]/x"),
        ("HTTPS://Example.com:443", "HTTPS://Example.com"),
        ("https://example.com/a b?q=é", "https://example.com/a b?q=é"),  # never re-encoded
        ("no-scheme#frag", "no-scheme"),
    ],
)
def test_signed_url(url: str, expected: str) -> None:
    assert signed_url(url) == expected


def test_signed_https_url_without_port_validates_on_either_form() -> None:
    signature = twilio_signature(TOKEN, signed_url("https://example.com:8443/a"), VECTOR_PARAMS)
    assert RequestValidator(TOKEN).validate("https://example.com:8443/a", dict(VECTOR_PARAMS), signature)


# Text that can be encoded as UTF-8 (lone surrogates cannot travel in a form body).
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_safe = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._~"), min_size=1, max_size=8)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(st.sampled_from(["example.com", "hooks.example.org", "127.0.0.1"]))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    path = "".join(f"/{segment}" for segment in draw(st.lists(_safe, max_size=3)))
    pairs = draw(st.lists(st.tuples(_safe, _text), max_size=3))
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs)
    return f"{scheme}://{host}{port}{path or '/'}" + (f"?{query}" if query else "")


@given(url=_urls(), pairs=st.lists(st.tuples(_text, _text), max_size=8))
def test_sdk_validator_accepts_every_signature(url: str, pairs: list[tuple[str, str]]) -> None:
    validator = RequestValidator(TOKEN)
    signature = twilio_signature(TOKEN, url, pairs)
    assert validator.validate(url, MultiDict(pairs), signature)
    if len({name for name, _ in pairs}) == len(pairs):  # a plain dict can only hold distinct names
        assert validator.validate(url, dict(pairs), signature)
    assert validator.compute_signature(url, MultiDict(pairs)) == signature


@given(url=_urls(), pairs=st.lists(st.tuples(_text, _text), min_size=1, max_size=4))
def test_sdk_validator_accepts_sha256(url: str, pairs: list[tuple[str, str]]) -> None:
    signature = twilio_signature_sha256("s3cret", url, pairs)
    assert RequestValidator("s3cret").validate(url, MultiDict(pairs), signature, algorithm="HMAC_SHA256")


@given(url=_urls(), body=_text)
def test_sdk_validator_accepts_json_bodies(url: str, body: str) -> None:
    hooked = json_body_url(url, body.encode())
    assert RequestValidator(TOKEN).validate(hooked, body, twilio_signature(TOKEN, hooked, None))
