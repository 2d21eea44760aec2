"""Lookup v2 from ``phonenumbers`` metadata: validity, formats, country, and the line type.

Openline has no carrier database: the line type is what the numbering plan says a number is
(Google's libphonenumber metadata), the carrier name is the range's original operator where
``phonenumbers.carrier`` knows it, and the packages that need live carrier data (caller name,
SIM swap, call forwarding…) answer ``null``. Where a national plan cannot tell mobile from
fixed line (the +1 plan), the type is ``unknown``, never a guess. Twilio's test numbers that
stand for a landline answer ``landline``, so the sandbox agrees with itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, ValidationResult, carrier

from openline.core import magic_numbers

MAX_INPUT = 64  # far longer than any phone number written with formatting
DEFAULT_REGION = "US"  # how a national-format number is read without CountryCode (as Lookup v1 did)

# Twilio's Fields values; Openline computes line_type_intelligence and validation, the rest are null.
FIELDS = frozenset({"validation", "caller_name", "sim_swap", "call_forwarding", "line_status",
                    "line_type_intelligence", "identity_match", "reassigned_number", "sms_pumping_risk",
                    "phone_number_quality_score", "pre_fill"})

# libphonenumber number types → Twilio's Line Type Intelligence "type" values.
_LINE_TYPES: dict[int, str] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "unknown",  # the plan cannot tell; Twilio asks the carrier
    PhoneNumberType.TOLL_FREE: "tollFree",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "sharedCost",
    PhoneNumberType.VOIP: "nonFixedVoip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
_POSSIBILITY_ERRORS: dict[int, str] = {
    ValidationResult.INVALID_COUNTRY_CODE: "INVALID_COUNTRY_CODE",
    ValidationResult.TOO_SHORT: "TOO_SHORT",
    ValidationResult.TOO_LONG: "TOO_LONG",
    ValidationResult.INVALID_LENGTH: "INVALID_LENGTH",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "INVALID_LENGTH",
}
# Twilio's test numbers that stand for numbers that cannot take SMS (21614, 30006).
_MAGIC_LANDLINES = frozenset(
    [n for n, code in magic_numbers.TO_ERRORS.items() if code == 21614]
    + [n for n, (_status, code) in magic_numbers.TO_OUTCOMES.items() if code == 30006])
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True, slots=True)
class LineType:
    type: str
    carrier_name: str | None


@dataclass(frozen=True, slots=True)
class LookupResult:
    phone_number: str  # E.164 when the input parsed, else the input as given
    valid: bool
    validation_errors: tuple[str, ...]
    calling_country_code: str | None
    country_code: str | None
    national_format: str | None
    line_type: LineType | None  # only when asked for (Fields=line_type_intelligence) and valid


class LookupRequestError(ValueError):
    """A request Lookup cannot answer (a bad CountryCode or Fields value)."""


_PARSE_ERRORS: dict[int, str] = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "INVALID_COUNTRY_CODE",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "TOO_SHORT",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "TOO_SHORT",
    phonenumbers.NumberParseException.TOO_LONG: "TOO_LONG",
}


def _parse(raw: str, country: str | None) -> phonenumbers.PhoneNumber | str:
    """The parsed number, or Twilio's validation error for input that is not one."""
    text = raw.strip()
    if not text or len(text) > MAX_INPUT:
        return "NOT_A_NUMBER"
    try:
        return phonenumbers.parse(text, None if text.startswith("+") else (country or DEFAULT_REGION))
    except phonenumbers.NumberParseException as exc:
        return _PARSE_ERRORS.get(exc.error_type, "NOT_A_NUMBER")


def _iso_country(number: phonenumbers.PhoneNumber) -> str | None:
    region = phonenumbers.region_code_for_number(number)
    return region if region and _COUNTRY.match(region) and region != "ZZ" else None  # "001": non-geographic


def line_type_of(number: phonenumbers.PhoneNumber) -> LineType:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if e164 in _MAGIC_LANDLINES:
        return LineType("landline", None)
    kind = _LINE_TYPES.get(phonenumbers.number_type(number), "unknown")
    name = carrier.name_for_number(number, "en") or None
    return LineType(kind, name)


class LookupService:
    def lookup(self, raw: str, country: str | None = None, fields: frozenset[str] = frozenset()) -> LookupResult:
        if country is not None and not _COUNTRY.match(country):
            raise LookupRequestError(f"CountryCode must be an ISO 3166 country code, not {country!r}")
        unknown = fields - FIELDS
        if unknown:
            raise LookupRequestError(f"Fields has values Lookup does not know: {', '.join(sorted(unknown))}")
        number = _parse(raw, country.upper() if country else None)
        if isinstance(number, str):
            return LookupResult(raw, False, (number,), None, None, None, None)
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        calling_code = str(number.country_code)
        if not phonenumbers.is_valid_number(number):
            reason = phonenumbers.is_possible_number_with_reason(number)
            error = _POSSIBILITY_ERRORS.get(reason, "INVALID_BUT_POSSIBLE")
            known_code = reason != ValidationResult.INVALID_COUNTRY_CODE
            return LookupResult(e164, False, (error,), calling_code if known_code else None, None, None, None)
        line = line_type_of(number) if "line_type_intelligence" in fields else None
        return LookupResult(e164, True, (), calling_code, _iso_country(number),
                            phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL), line)

    def line_type(self, e164: str) -> LineType | None:
        """The line type of a valid number (Verify's LookupEnabled and SkipSmsToLandlines)."""
        number = _parse(e164, None)
        if isinstance(number, str):
            return None
        if phonenumbers.format_number(number, PhoneNumberFormat.E164) in _MAGIC_LANDLINES:
            return LineType("landline", None)
        if not phonenumbers.is_valid_number(number):
            return None
        return line_type_of(number)
