"""TwiML applications, incoming phone numbers and the number inventory."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from openline.core import magic_numbers
from openline.core.clock import Clock
from openline.core.entities import Account, AccountStatus, Application, IncomingPhoneNumber, NumberType
from openline.core.errors import TwilioError
from openline.core.numbering import (
    AvailableNumber,
    contains_matches,
    country_kinds,
    generate_available,
    parse_e164,
)
from openline.core.sids import SidPrefix, new_sid
from openline.services.accounts import MAX_FRIENDLY_NAME, not_found
from openline.storage.database import Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import ApplicationRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import ServiceSenderRepository

API_VERSION = "2010-04-01"
MAX_AVAILABLE = 50  # one page of search results, as Twilio returns

APPLICATION_DEFAULTS: dict[str, Any] = {
    "friendly_name": "", "api_version": API_VERSION,
    "voice_url": None, "voice_method": "POST", "voice_fallback_url": None, "voice_fallback_method": "POST",
    "voice_caller_id_lookup": False, "status_callback": None, "status_callback_method": "POST",
    "sms_url": None, "sms_method": "POST", "sms_fallback_url": None, "sms_fallback_method": "POST",
    "sms_status_callback": None, "message_status_callback": None, "public_application_connect_enabled": True,
}

NUMBER_DEFAULTS: dict[str, Any] = {
    "origin": "openline", "api_version": API_VERSION,
    "voice_capable": True, "sms_capable": True, "mms_capable": True, "fax_capable": False,
    "sms_url": None, "sms_method": "POST", "sms_fallback_url": None, "sms_fallback_method": "POST",
    "sms_application_sid": None, "voice_url": None, "voice_method": "POST", "voice_fallback_url": None,
    "voice_fallback_method": "POST", "voice_application_sid": None, "voice_caller_id_lookup": False,
    "voice_receive_mode": "voice", "status_callback": None, "status_callback_method": "POST",
    "trunk_sid": None, "identity_sid": None, "address_sid": None, "bundle_sid": None,
    "emergency_status": "Inactive", "emergency_address_sid": None,
}
NUMBER_SETTABLE = frozenset(NUMBER_DEFAULTS) - {"origin", "voice_capable", "sms_capable", "mms_capable",
                                                 "fax_capable"} | {"friendly_name"}


def _check_friendly_name(values: Mapping[str, Any]) -> None:
    name = values.get("friendly_name")
    if name is not None and len(name) > MAX_FRIENDLY_NAME:
        raise TwilioError(20001, f"FriendlyName must be at most {MAX_FRIENDLY_NAME} characters")


class ApplicationService:
    def __init__(self, db: Database, applications: ApplicationRepository, clock: Clock) -> None:
        self._db = db
        self._apps = applications
        self._clock = clock

    async def create(self, account: Account, values: Mapping[str, Any]) -> Application:
        _check_friendly_name(values)
        now = self._clock.now()
        fields = {**APPLICATION_DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
        app = Application(sid=new_sid(SidPrefix.APPLICATION), account_sid=account.sid,
                          date_created=now, date_updated=now, **fields)
        async with self._db.transaction() as conn:
            await self._apps.insert(conn, app)
        return app

    async def get(self, account: Account, sid: str) -> Application:
        async with self._db.read() as conn:
            app = await self._apps.get(conn, sid, account_sids=[account.sid])
        if app is None:
            raise not_found()
        return app

    async def list(self, account: Account, size: int, cursor: Cursor, friendly_name: str | None) -> Page[Application]:
        async with self._db.read() as conn:
            return await self._apps.page_for(conn, account.sid, size, cursor, friendly_name)

    async def update(self, account: Account, sid: str, values: Mapping[str, Any]) -> Application:
        _check_friendly_name(values)
        async with self._db.transaction() as conn:
            if await self._apps.get(conn, sid, account_sids=[account.sid]) is None:
                raise not_found()
            updated = await self._apps.update(conn, sid, {**values, "date_updated": self._clock.now()})
        assert updated is not None
        return updated

    async def delete(self, account: Account, sid: str) -> None:
        async with self._db.transaction() as conn:
            if await self._apps.get(conn, sid, account_sids=[account.sid]) is None:
                raise not_found()
            await self._apps.delete(conn, sid)


class PhoneNumberService:
    def __init__(
        self, db: Database, numbers: IncomingPhoneNumberRepository, applications: ApplicationRepository,
        clock: Clock, rng: random.Random, senders: ServiceSenderRepository,
        inventory: Mapping[str, str] | None = None, sandbox_enabled: bool = True,
    ) -> None:
        """``inventory`` maps each carrier number (E.164) to its carrier's name."""
        self._db = db
        self._inventory = dict(inventory or {})
        self._sandbox_enabled = sandbox_enabled
        self._senders = senders
        self._numbers = numbers
        self._apps = applications
        self._clock = clock
        self._rng = rng

    async def search(
        self, iso_country: str, kind: NumberType, count: int, area_code: str | None, contains: str | None,
    ) -> list[AvailableNumber]:
        """Numbers on offer: the carriers' inventories first, then the sandbox pool (if enabled)."""
        wanted = min(count, MAX_AVAILABLE)
        from_carriers = [n for n in self._inventory_numbers(iso_country, kind)
                         if (area_code is None or n.e164[2:2 + len(area_code)] == area_code)
                         and (contains is None or contains_matches(n.e164, contains))]
        kinds = country_kinds(iso_country)
        if not self._sandbox_enabled or kinds is None or kind not in kinds:
            candidates = from_carriers
            if not candidates and (kinds is None or kind not in kinds):
                raise not_found(f"No {kind.value} numbers are offered for country {iso_country}")
        else:
            # Sandbox candidates are random, so collisions are rare; check them in one round trip.
            candidates = from_carriers + generate_available(iso_country, kind, self._rng, wanted * 2,
                                                            lambda e164: e164 in self._inventory,
                                                            area_code, contains)
        async with self._db.read() as conn:
            taken = await self._numbers.taken_among(conn, [c.e164 for c in candidates])
        return [c for c in candidates if c.e164 not in taken][:wanted]

    def _inventory_numbers(self, iso_country: str, kind: NumberType) -> list[AvailableNumber]:
        found = []
        for e164 in self._inventory:
            parsed = parse_e164(e164)
            if parsed is not None and parsed.iso_country == iso_country and parsed.number_type is kind:
                found.append(AvailableNumber(e164, iso_country, kind, parsed.national_format, None, None))
        return found

    async def provision(
        self, account: Account, phone_number: str | None, area_code: str | None, values: Mapping[str, Any],
        required_kind: NumberType | None = None,
    ) -> IncomingPhoneNumber:
        if account.status is not AccountStatus.ACTIVE:
            raise TwilioError(20005)
        _check_friendly_name(values)
        if phone_number is None and area_code is None:
            raise TwilioError(21421, "A 'PhoneNumber' or 'AreaCode' parameter is required")
        if phone_number is None:
            assert area_code is not None
            found = await self.search("US", required_kind or NumberType.LOCAL, 1, area_code, None)
            if not found:
                raise TwilioError(21452, f"No phone numbers found in area code {area_code}")
            phone_number = found[0].e164
        parsed = parse_e164(phone_number)
        if parsed is not None and parsed.e164 in magic_numbers.PROVISIONING_ERRORS:
            raise TwilioError(magic_numbers.PROVISIONING_ERRORS[parsed.e164],
                              f"Phone number {parsed.e164} cannot be provisioned")
        if parsed is None:
            raise TwilioError(21421, f"PhoneNumber {phone_number} is not a valid phone number")
        if required_kind is not None and parsed.number_type is not required_kind:
            raise TwilioError(21422, f"{parsed.e164} is not a {required_kind.value} number")
        carrier = self._inventory.get(parsed.e164)
        if carrier is None and not self._sandbox_enabled:
            raise TwilioError(21422, f"Phone number {parsed.e164} is in no carrier's inventory")
        await self._check_applications(account, values)
        now = self._clock.now()
        fields = {**NUMBER_DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
        fields["origin"] = carrier or "openline"
        fields.setdefault("friendly_name", parsed.national_format)
        number = IncomingPhoneNumber(
            sid=new_sid(SidPrefix.INCOMING_PHONE_NUMBER), account_sid=account.sid, phone_number=parsed.e164,
            number_type=parsed.number_type, iso_country=parsed.iso_country,
            date_created=now, date_updated=now, **fields,
        )
        try:
            async with self._db.transaction() as conn:
                if await self._numbers.by_number(conn, parsed.e164) is not None:
                    raise TwilioError(21422, f"Phone number {parsed.e164} is not available")
                await self._numbers.insert(conn, number)
        except IntegrityError as exc:  # another request bought it between our check and insert
            raise TwilioError(21422, f"Phone number {parsed.e164} is not available") from exc
        return number

    async def _check_applications(self, account: Account, values: Mapping[str, Any]) -> None:
        for field in ("sms_application_sid", "voice_application_sid"):
            sid = values.get(field)
            if not sid:
                continue
            async with self._db.read() as conn:
                if await self._apps.get(conn, sid, account_sids=[account.sid]) is None:
                    name = "SmsApplicationSid" if field.startswith("sms") else "VoiceApplicationSid"
                    raise TwilioError(20001, f"{name} {sid} is not an application of this account")

    async def get(self, account: Account, sid: str) -> IncomingPhoneNumber:
        async with self._db.read() as conn:
            number = await self._numbers.get(conn, sid, account_sids=[account.sid])
        if number is None:
            raise not_found()
        return number

    async def list(
        self, account: Account, size: int, cursor: Cursor, *, friendly_name: str | None = None,
        phone_number: str | None = None, number_type: NumberType | None = None, origin: str | None = None,
    ) -> Page[IncomingPhoneNumber]:
        async with self._db.read() as conn:
            return await self._numbers.page_for(
                conn, account.sid, size, cursor, friendly_name=friendly_name, phone_number=phone_number,
                number_type=number_type, origin=origin)

    async def update(self, account: Account, sid: str, values: Mapping[str, Any],
                     new_owner: Account | None = None) -> IncomingPhoneNumber:
        _check_friendly_name(values)
        await self._check_applications(new_owner or account, values)
        changes = dict(values)
        if new_owner is not None:
            changes["account_sid"] = new_owner.sid
        async with self._db.transaction() as conn:
            if await self._numbers.get(conn, sid, account_sids=[account.sid]) is None:
                raise not_found()
            if new_owner is not None:
                # A number leaving the account leaves the account's messaging services too.
                await self._senders.delete_for_number_sid(conn, sid)
            updated = await self._numbers.update(conn, sid, {**changes, "date_updated": self._clock.now()})
        assert updated is not None
        return updated

    async def release(self, account: Account, sid: str) -> None:
        async with self._db.transaction() as conn:
            if await self._numbers.get(conn, sid, account_sids=[account.sid]) is None:
                raise not_found()
            await self._senders.delete_for_number_sid(conn, sid)
            await self._numbers.delete(conn, sid)


