"""Phone numbers: parsing to E.164 and the sandbox number inventory.

Checks use ``is_possible_number`` (length and country code) rather than ``is_valid_number``,
which rejects the fictional +1 555 numbers developers test with.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, geocoder

from openline.core.entities import NumberType

_FORMATTING = re.compile(r"[\s\-().]")
MAX_NUMBER_INPUT = 32  # longer than any E.164 number with formatting; refuse before parsing


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    e164: str
    iso_country: str
    number_type: NumberType
    national_format: str


def _kind(number: phonenumbers.PhoneNumber) -> NumberType:
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.TOLL_FREE:
        return NumberType.TOLL_FREE
    if kind == PhoneNumberType.MOBILE:
        return NumberType.MOBILE
    return NumberType.LOCAL


@lru_cache(maxsize=65536)
def parse_e164(text: str) -> ParsedNumber | None:
    """A number written in E.164 (formatting characters allowed), or None if it cannot be one."""
    if not text or len(text) > MAX_NUMBER_INPUT:
        return None
    compact = _FORMATTING.sub("", text)
    if not re.fullmatch(r"\+[1-9][0-9]{1,14}", compact):
        return None
    try:
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code or 0
    )
    return ParsedNumber(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        iso_country=region if region and region != "ZZ" else "ZZ",
        number_type=_kind(number),
        national_format=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
    )


# --- the sandbox inventory -------------------------------------------------------------------

_TYPES_FOR_KIND: dict[NumberType, tuple[int, ...]] = {
    NumberType.LOCAL: (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    NumberType.MOBILE: (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    NumberType.TOLL_FREE: (PhoneNumberType.TOLL_FREE,),
}
_EXAMPLE_TYPE: dict[NumberType, int] = {
    NumberType.LOCAL: PhoneNumberType.FIXED_LINE,
    NumberType.MOBILE: PhoneNumberType.MOBILE,
    NumberType.TOLL_FREE: PhoneNumberType.TOLL_FREE,
}
_KEYPAD = {c: d for d, letters in {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO",
                                   "7": "PQRS", "8": "TUV", "9": "WXYZ"}.items() for c in letters}
MAX_CONTAINS = 16


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    e164: str
    iso_country: str
    number_type: NumberType
    friendly_name: str
    locality: str | None
    region: str | None


@cache
def countries() -> tuple[tuple[str, str, tuple[NumberType, ...]], ...]:
    """(ISO code, English name, kinds with numbers) for every country the inventory serves."""
    result = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        kinds = tuple(kind for kind, example in _EXAMPLE_TYPE.items()
                      if phonenumbers.example_number_for_type(region, example) is not None)
        example = phonenumbers.example_number(region)
        if not kinds or example is None:
            continue
        result.append((region, geocoder.country_name_for_number(example, "en") or region, kinds))
    return tuple(result)


def country_kinds(iso_country: str) -> tuple[NumberType, ...] | None:
    for code, _name, kinds in countries():
        if code == iso_country:
            return kinds
    return None


def contains_pattern(text: str) -> str | None:
    """Twilio's Contains: digits, '*' for any digit, letters as on a phone keypad."""
    text = text.strip().upper().lstrip("+")
    if not text or len(text) > MAX_CONTAINS or not re.fullmatch(r"[0-9A-Z*]+", text):
        return None
    return "".join(_KEYPAD.get(c, c) for c in text)


def contains_matches(e164: str, pattern: str) -> bool:
    """Does the number contain the Contains pattern (from :func:`contains_pattern`)?"""
    return _matches(e164.lstrip("+"), pattern)


def _matches(digits: str, pattern: str) -> bool:
    regex = pattern.replace("*", "[0-9]")
    return re.search(regex, digits) is not None


def generate_available(
    iso_country: str,
    kind: NumberType,
    rng: random.Random,
    count: int,
    is_taken: Callable[[str], bool],
    area_code: str | None = None,
    contains: str | None = None,
    attempts_per_number: int = 200,
) -> list[AvailableNumber]:
    """Random numbers of the right country and type that nobody on this Openline owns."""
    example = phonenumbers.example_number_for_type(iso_country, _EXAMPLE_TYPE[kind])
    if example is None:
        return []
    found: dict[str, AvailableNumber] = {}
    # NANP local/mobile numbers spread over all area codes; elsewhere keep the type's prefix.
    vary_area = example.country_code == 1 and kind is not NumberType.TOLL_FREE and area_code is None
    for candidate in _candidates(example, rng, area_code, contains, count * attempts_per_number, vary_area):
        if len(found) >= count:
            break
        if candidate.e164 in found or is_taken(candidate.e164):
            continue
        if phonenumbers.region_code_for_number(candidate.number) != iso_country:
            continue  # NANP countries share +1: a valid number may belong to a neighbour
        if phonenumbers.number_type(candidate.number) not in _TYPES_FOR_KIND[kind]:
            continue
        description = geocoder.description_for_number(candidate.number, "en") or None
        country_name = geocoder.country_name_for_number(candidate.number, "en")
        locality = description if description and description != country_name else None
        found[candidate.e164] = AvailableNumber(
            e164=candidate.e164,
            iso_country=iso_country,
            number_type=kind,
            friendly_name=phonenumbers.format_number(candidate.number, PhoneNumberFormat.NATIONAL),
            locality=locality,
            region=locality.rsplit(", ", 1)[-1] if locality else None,
        )
    return list(found.values())


@dataclass(frozen=True, slots=True)
class _Candidate:
    number: phonenumbers.PhoneNumber
    e164: str


def _candidates(
    example: phonenumbers.PhoneNumber, rng: random.Random, area_code: str | None, contains: str | None,
    tries: int, vary_area: bool,
) -> Iterator[_Candidate]:
    template = phonenumbers.national_significant_number(example)
    # Keep the leading digits that select the number type (area code, mobile prefix).
    keep = 3 if example.country_code == 1 else max(1, len(template) - 7)
    for _ in range(tries):
        digits = list(template[:keep] + "".join(str(rng.randrange(10)) for _ in range(len(template) - keep)))
        if vary_area:
            digits[:3] = [str(rng.randrange(2, 10)), str(rng.randrange(10)), str(rng.randrange(10))]
        if area_code is not None:
            digits[: len(area_code)] = list(area_code)
        if contains is not None:
            free_start = len(area_code) if area_code else keep
            if len(contains) > len(digits) - free_start:
                free_start = 0
            if len(contains) > len(digits):
                return
            offset = rng.randrange(free_start, len(digits) - len(contains) + 1)
            for i, c in enumerate(contains):
                if c != "*":
                    digits[offset + i] = c
        if example.country_code == 1 and digits[3] in "01":
            digits[3] = str(rng.randrange(2, 10))  # NANP exchange codes never start with 0 or 1
        national = "".join(digits)
        try:
            number = phonenumbers.parse(f"+{example.country_code}{national}", None)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if contains is not None and not _matches(e164[1:], contains):
            continue
        yield _Candidate(number, e164)
