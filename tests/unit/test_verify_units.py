"""The pure parts of Verify and Lookup: codes and their hashes, key derivation, input rules,
message templates, Lookup's answers, and the [verify] settings."""

from __future__ import annotations

import dataclasses
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from openline.config import ConfigError, load_settings
from openline.core import crypto
from openline.core.verify import (
    CodeKeys,
    Verification,
    VerificationStatus,
    code_from_seed,
    code_hash,
    code_matches,
    friendly_name_problem,
    is_valid_custom_code,
    new_seed,
)
from openline.services import verify_templates
from openline.services.lookup import LookupRequestError, LookupService
from openline.services.verify import parse_rate_limits

KEYS = CodeKeys.from_key(b"k" * 32)


def test_derived_keys_are_hkdf_and_separate_purposes() -> None:
    master = crypto.new_master_key()
    box = crypto.SecretBox(master)
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"openline key derivation v1",
                    info=b"verify codes").derive(master)
    assert box.derive("verify codes") == expected  # RFC 5869, checked against an independent implementation
    assert box.derive("verify codes") != box.derive("something else")
    assert master not in (box.derive("verify codes"), box.derive(""))
    assert crypto.SecretBox(crypto.new_master_key()).derive("verify codes") != expected


def test_codes_are_reproducible_only_with_the_key() -> None:
    seed = new_seed()
    assert len(seed) == 32 and int(seed, 16) >= 0
    code = code_from_seed(KEYS, seed, 6)
    assert len(code) == 6 and code.isdigit()
    assert code_from_seed(KEYS, seed, 6) == code  # the same code when sent again
    other = CodeKeys.from_key(b"x" * 32)  # another installation's key: other codes from the same seeds
    seeds = [new_seed() for _ in range(50)]
    assert sum(code_from_seed(other, s, 6) != code_from_seed(KEYS, s, 6) for s in seeds) >= 49
    assert len(code_from_seed(KEYS, seed, 10)) == 10 and len(code_from_seed(KEYS, seed, 4)) == 4
    with pytest.raises(ValueError):
        code_from_seed(KEYS, seed, 3)


def test_codes_are_uniform_enough() -> None:
    digits = Counter(code_from_seed(KEYS, new_seed(), 4)[0] for _ in range(5000))
    assert set(digits) == set("0123456789")
    assert max(digits.values()) < 2 * min(digits.values())  # 500 ± noise each


def test_hashes_bind_the_verification_and_compare_in_constant_time() -> None:
    stored = code_hash(KEYS, "VE" + "1" * 32, "123456")
    assert len(stored) == 64 and "123456" not in stored
    assert code_matches(KEYS, "VE" + "1" * 32, "123456", stored)
    assert not code_matches(KEYS, "VE" + "1" * 32, "123457", stored)
    assert not code_matches(KEYS, "VE" + "2" * 32, "123456", stored)  # a hash moved to another row
    assert not code_matches(CodeKeys.from_key(b"x" * 32), "VE" + "1" * 32, "123456", stored)


@given(st.text(alphabet="0123456789", min_size=4, max_size=10), st.text(alphabet="0123456789", min_size=4,
                                                                        max_size=10))
def test_only_the_code_matches(code: str, guess: str) -> None:
    stored = code_hash(KEYS, "VE" + "a" * 32, code)
    assert code_matches(KEYS, "VE" + "a" * 32, guess, stored) == (guess == code)


def test_status_at_expires_pending_only() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    v = Verification("VE" + "0" * 32, "VA" + "0" * 32, "AC" + "0" * 32, "+15558675310", "sms",
                     VerificationStatus.PENDING, "h", "s", 6, None, None, None, 0, now + timedelta(minutes=10), now, now)
    assert v.status_at(now) is VerificationStatus.PENDING and v.is_live(now)
    later = now + timedelta(minutes=10)
    assert v.status_at(later) is VerificationStatus.EXPIRED and not v.is_live(later)
    approved = dataclasses.replace(v, status=VerificationStatus.APPROVED)
    assert approved.status_at(later) is VerificationStatus.APPROVED and not approved.is_live(now)


@pytest.mark.parametrize(("name", "ok"), [
    ("Acme", True), ("Acme Login 2024", True), ("A" * 32, True), ("", False), ("  ", False), ("A" * 33, False),
    ("Call 55512", False), ("www.acme", False), ("acme.com", False), ("https://x", False),
])
def test_friendly_names(name: str, ok: bool) -> None:
    assert (friendly_name_problem(name) is None) == ok


def test_custom_codes() -> None:
    assert is_valid_custom_code("1234") and is_valid_custom_code("AB12CD34EF")
    assert not is_valid_custom_code("123") and not is_valid_custom_code("12345678901")
    assert not is_valid_custom_code("12 34") and not is_valid_custom_code("１２３４")


def test_templates() -> None:
    assert verify_templates.render("en", "Acme", "123456", False) == "Your Acme verification code is: 123456"
    warned = verify_templates.render("en", "Acme", "123456", True)
    assert warned.endswith("our employees will never ask for the code.")
    assert verify_templates.render("de", "Acme", "1234", False) == "Ihr Acme Bestätigungscode lautet: 1234"
    # A name that looks like a placeholder stays text; the code appears once.
    assert verify_templates.render("en", "{code}", "1234", False).count("1234") == 1
    assert verify_templates.render("en", "Acme", "1234", False, "FA+9qCX9VSu").endswith("\nFA+9qCX9VSu")
    for language in ("en", "es", "fr", "de", "pt", "zh", "ja", "ar", "it", "nl"):
        body = verify_templates.render(language, "Acme", "987654", True)
        assert "Acme" in body and "987654" in body and "\n" in body
    assert verify_templates.render_custom("Code: {{code}}", "4321") == "Code: 4321"


@pytest.mark.parametrize(("locale", "country", "language"), [
    ("es", None, "es"), ("pt-BR", "US", "pt"), ("zh_HK", None, "zh"), ("EN-gb", "FR", "en"), ("ko", "FR", "en"),
    (None, "FR", "fr"), (None, "BR", "pt"), (None, "JP", "ja"), (None, "SA", "ar"), (None, "US", "en"),
    (None, None, "en"),
])
def test_language_resolution(locale: str | None, country: str | None, language: str) -> None:
    assert verify_templates.language_for(locale, country) == language


def test_locales() -> None:
    assert verify_templates.is_valid_locale("en") and verify_templates.is_valid_locale("zh-Hant-HK")
    assert not verify_templates.is_valid_locale("e") and not verify_templates.is_valid_locale("en gb")
    assert not verify_templates.is_valid_locale("x" * 40)


def test_lookup() -> None:
    lookup = LookupService()
    fields = frozenset({"line_type_intelligence"})
    mobile = lookup.lookup("+4915112345678", fields=fields)
    assert (mobile.valid, mobile.country_code, mobile.line_type) == (True, "DE", mobile.line_type)
    assert mobile.line_type is not None and (mobile.line_type.type, mobile.line_type.carrier_name) == (
        "mobile", "T-Mobile")
    assert lookup.lookup("+4915112345678").line_type is None  # only when asked for
    assert lookup.lookup("030 901820", "DE").phone_number == "+4930901820"
    assert lookup.lookup("+15005550012", fields=fields).line_type.type == "landline"  # type: ignore[union-attr]
    assert lookup.line_type("+442071838750").type == "landline"  # type: ignore[union-attr]
    assert lookup.line_type("+15555550100") is None  # fictional: not a valid number to the plan
    assert lookup.lookup("+1" + "2" * 40).validation_errors == ("TOO_LONG",)
    assert lookup.lookup("+1" + "2" * 70).validation_errors == ("NOT_A_NUMBER",)  # over the input bound
    with pytest.raises(LookupRequestError):
        lookup.lookup("+4930901820", fields=frozenset({"horoscope"}))
    with pytest.raises(LookupRequestError):
        lookup.lookup("030 901820", "Germany")


def test_rate_limits_parameter() -> None:
    assert parse_rate_limits('{"ip": "203.0.113.7", "user": 42}') == {"ip": "203.0.113.7", "user": "42"}
    for bad in ("[1]", "not json", '{"ip": null}', '{"ip": true}', '{"ip": ""}', '{"ip": {"a": 1}}',
                '{"ip": "' + "x" * 129 + '"}'):
        with pytest.raises(Exception, match="RateLimits") as info:
            parse_rate_limits(bad)
        assert getattr(info.value, "code", None) == 60200


def test_verify_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = "VA" + secrets.token_hex(16)
    config = tmp_path / "openline.toml"
    config.write_text(f'[verify]\ncode_lifetime_seconds = 300\nsender = "+15555550100"\n'
                      f'[verify.services.{sid}]\nsender = "MG{"0" * 32}"\n'
                      f'[verify.prefix_limits."+232"]\nmax = 0\ninterval_seconds = 60\n'
                      f'[verify.country_limits.NG]\nmax = 10\ninterval_seconds = 3600\n')
    settings = load_settings(config).verify
    assert settings.code_lifetime_seconds == 300 and settings.prefix_limits["+232"].max == 0
    own = settings.for_service(sid)
    assert (own.code_lifetime_seconds, own.sender, own.custom_message_enabled) == (300, "MG" + "0" * 32, False)
    assert settings.for_service("VA" + "1" * 32).sender == "+15555550100"
    assert load_settings().verify.code_lifetime_seconds == 600  # Twilio's ten minutes
    monkeypatch.setenv("OPENLINE_VERIFY__CODE_LIFETIME_SECONDS", "30")
    with pytest.raises(ConfigError, match=r"verify\.code_lifetime_seconds \(OPENLINE_VERIFY__CODE_LIFETIME_SECONDS\)"):
        load_settings()
    monkeypatch.delenv("OPENLINE_VERIFY__CODE_LIFETIME_SECONDS")
    for bad in ('[verify]\nsender = "Acme"\n', '[verify.services.VAnope]\nsender = "+15555550100"\n',
                '[verify.prefix_limits."232"]\nmax = 1\ninterval_seconds = 60\n',
                '[verify.country_limits.ng]\nmax = 1\ninterval_seconds = 60\n'):
        config.write_text(bad)
        with pytest.raises(ConfigError, match="verify"):
            load_settings(config)
