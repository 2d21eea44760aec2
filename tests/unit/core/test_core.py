from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from openline.core import crypto, dates, errors, numbering, sids
from openline.core.entities import NumberType
from openline.storage.paging import Cursor, PageTokenError, after_token, before_token, clamp_page_size


def test_sids() -> None:
    sid = sids.new_sid(sids.SidPrefix.ACCOUNT)
    assert len(sid) == 34 and sid.startswith("AC") and sid[2:] == sid[2:].lower()
    assert sids.is_sid(sid, sids.SidPrefix.ACCOUNT) and not sids.is_sid(sid, sids.SidPrefix.API_KEY)
    assert not sids.is_sid("AC123") and not sids.is_sid("ac" + "0" * 32)
    assert len(sids.new_key_secret()) == 32 and sids.new_key_secret().isalnum()


def test_dates() -> None:
    moment = datetime(2023, 8, 24, 5, 1, 45, 123456, tzinfo=UTC)
    assert dates.rfc2822(moment) == "Thu, 24 Aug 2023 05:01:45 +0000"
    assert dates.iso8601(moment) == "2023-08-24T05:01:45Z"
    assert dates.parse_filter_date("2023-08-24") == datetime(2023, 8, 24, tzinfo=UTC)
    assert dates.rfc2822(None) is None and dates.iso8601(None) is None


def test_error_catalogue() -> None:
    error = errors.TwilioError(21211)
    assert (error.code, error.status) == (21211, 400)
    assert errors.TwilioError(20003).status == 401 and errors.TwilioError(20404).status == 404
    assert errors.TwilioError(20429).status == 429
    assert errors.TwilioError(20001, "custom").message == "custom"
    assert all(spec.code == code and spec.title for code, spec in errors.CATALOGUE.items())


def test_secret_box() -> None:
    box = crypto.SecretBox(crypto.new_master_key())
    sealed = box.seal("s3cret", "SK1")
    assert b"s3cret" not in sealed and box.open(sealed, "SK1") == "s3cret"
    with pytest.raises(crypto.SecretBoxError):
        box.open(sealed, "SK2")  # bound to its row
    with pytest.raises(crypto.SecretBoxError):
        crypto.SecretBox(crypto.new_master_key()).open(sealed, "SK1")
    key = crypto.new_master_key()
    assert crypto.parse_master_key(key.hex()) == key
    with pytest.raises(crypto.SecretBoxError):
        crypto.parse_master_key("short")
    assert crypto.digests_match("abc", crypto.secret_digest("abc")) and not crypto.digests_match("abd", crypto.secret_digest("abc"))


@pytest.mark.parametrize(("text", "e164"), [
    ("+14155550100", "+14155550100"), ("+1 (415) 555-0100", "+14155550100"), ("+447400123456", "+447400123456"),
    ("+15005550006", "+15005550006"), ("4155550100", None), ("+1", None), ("", None), ("+" + "1" * 40, None),
    ("+999123456", None), ("hello", None),
])
def test_parse_e164(text: str, e164: str | None) -> None:
    parsed = numbering.parse_e164(text)
    assert (parsed.e164 if parsed else None) == e164


def test_inventory() -> None:
    rng = random.Random(7)
    found = numbering.generate_available("US", NumberType.LOCAL, rng, 10, lambda _n: False, "415", None)
    assert len(found) == 10 and all(n.e164.startswith("+1415") for n in found)
    taken = {found[0].e164}
    again = numbering.generate_available("US", NumberType.LOCAL, random.Random(7), 10, taken.__contains__, "415")
    assert found[0].e164 not in {n.e164 for n in again}
    canada = numbering.generate_available("CA", NumberType.LOCAL, rng, 5, lambda _n: False)
    assert all(n.iso_country == "CA" and numbering.parse_e164(n.e164).iso_country == "CA" for n in canada)  # type: ignore[union-attr]
    pattern = numbering.contains_pattern("CAT")
    assert pattern == "228"
    assert all("228" in n.e164 for n in numbering.generate_available("US", NumberType.LOCAL, rng, 3,
                                                                       lambda _n: False, None, pattern))
    assert numbering.contains_pattern("no-dashes") is None


def test_page_tokens() -> None:
    assert Cursor.parse(after_token(255)) == Cursor(after_id=255)
    assert Cursor.parse(before_token(16)) == Cursor(before_id=16)
    assert Cursor.parse(None) == Cursor()
    for bad in ("PA", "XX12", "PAzz", "PA" + "f" * 17):
        with pytest.raises(PageTokenError):
            Cursor.parse(bad)
    assert clamp_page_size(None) == 50 and clamp_page_size(5000) == 1000 and clamp_page_size(0) == 1
