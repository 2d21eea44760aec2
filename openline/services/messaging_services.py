"""Messaging services (MG…) and their sender pools: phone numbers and one alpha sender ID.

A phone number serves at most one service (Twilio errors 21710/21712); its sender row takes
the number's own PN… SID, as Twilio's PhoneNumber subresource does. A service has at most one
alpha sender (Twilio's AlphaSender resource documents that rule). Every lookup is scoped to
the calling account, and unknown and foreign SIDs answer alike (20404), so SIDs cannot be
probed across tenants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from openline.core.clock import Clock
from openline.core.entities import Account, AccountStatus, IncomingPhoneNumber
from openline.core.errors import TwilioError
from openline.core.messaging import MessagingService, SenderKind, ServiceSender
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import MessagingServiceRepository, ServiceSenderRepository

MAX_FRIENDLY_NAME = 64  # Twilio: "It can be up to 64 characters long"
MIN_VALIDITY_PERIOD, MAX_VALIDITY_PERIOD = 1, 36_000  # seconds; Twilio error 90007 outside
MAX_REPLY = 1600  # an opt-out reply is an SMS body, whose limit is 1600 characters (21617)
MAX_ALPHA_SENDER = 11  # GSM 03.40 TP-OA holds 11 alphanumeric characters

# Twilio's spec: A-Z, a-z, 0-9, space, hyphen, plus, underscore and ampersand; not only digits.
# Openline also asks for at least one letter, so the ID can never be read as a number.
_ALPHA_SENDER = re.compile(r"^[A-Za-z0-9 \-+_&]{1,11}$")
_LETTER = re.compile(r"[A-Za-z]")

# Defaults as Twilio documents them for the Service resource, plus Openline's opt-out fields
# (None replies mean "Openline's default text", which the SMS pipeline owns).
SERVICE_DEFAULTS: dict[str, Any] = {
    "inbound_request_url": None, "inbound_method": "POST", "fallback_url": None, "fallback_method": "POST",
    "status_callback": None, "sticky_sender": True, "mms_converter": True, "smart_encoding": True,
    "scan_message_content": "inherit", "fallback_to_long_code": True, "area_code_geomatch": True,
    "synchronous_validation": False, "validity_period": MAX_VALIDITY_PERIOD, "usecase": "undeclared",
    "use_inbound_webhook_on_number": False,
    "opt_out_enabled": True, "stop_reply": None, "start_reply": None, "help_reply": None,
}
SERVICE_SETTABLE = frozenset(SERVICE_DEFAULTS) | {"friendly_name"}
_REPLIES = (("stop_reply", "StopReply"), ("start_reply", "StartReply"), ("help_reply", "HelpReply"))
_NOT_NULL = frozenset(name for name, value in SERVICE_DEFAULTS.items() if value is not None) | {"friendly_name"}


@dataclass(frozen=True, slots=True)
class PhoneSender:
    """A phone-number sender with the number it stands for (None if the number has gone)."""

    sender: ServiceSender
    number: IncomingPhoneNumber | None


def _check_settings(values: Mapping[str, Any], creating: bool) -> None:
    unknown = set(values) - SERVICE_SETTABLE
    if unknown:
        raise ValueError(f"not service settings: {sorted(unknown)}")  # a programming error, not input
    for field in sorted(_NOT_NULL & set(values)):
        if values[field] is None:
            raise TwilioError(20001, f"{field} may not be cleared")
    if creating and "friendly_name" not in values:
        raise TwilioError(20001, "Missing required parameter FriendlyName in the post body")
    name = values.get("friendly_name")
    if name is not None:
        if not name.strip():
            raise TwilioError(20001, "FriendlyName must not be empty")
        if len(name) > MAX_FRIENDLY_NAME:
            raise TwilioError(20001, f"FriendlyName must be at most {MAX_FRIENDLY_NAME} characters")
    period = values.get("validity_period")
    if period is not None and not MIN_VALIDITY_PERIOD <= period <= MAX_VALIDITY_PERIOD:
        raise TwilioError(90007, f"ValidityPeriod must be an integer from {MIN_VALIDITY_PERIOD} "
                                 f"to {MAX_VALIDITY_PERIOD} seconds")
    for reply_field, parameter in _REPLIES:
        reply = values.get(reply_field)
        if reply is not None and len(reply) > MAX_REPLY:
            raise TwilioError(20001, f"{parameter} must be at most {MAX_REPLY} characters")


def check_alpha_sender(value: str) -> str:
    if len(value) > MAX_ALPHA_SENDER or not _ALPHA_SENDER.match(value) or not _LETTER.search(value):
        raise TwilioError(20001, f"AlphaSender must be 1 to {MAX_ALPHA_SENDER} characters: letters, digits, "
                                 "spaces, '-', '+', '_' or '&', with at least one letter")
    return value


def _check_active(account: Account) -> None:
    if account.status is not AccountStatus.ACTIVE:
        raise TwilioError(20005)


class MessagingServiceAdmin:
    """Create, configure and remove messaging services and their senders (the v1 Services API)."""

    def __init__(
        self, db: Database, services: MessagingServiceRepository, senders: ServiceSenderRepository,
        numbers: IncomingPhoneNumberRepository, clock: Clock,
    ) -> None:
        self._db = db
        self._services = services
        self._senders = senders
        self._numbers = numbers
        self._clock = clock

    # --- services ---------------------------------------------------------------------------

    async def create(self, account: Account, values: Mapping[str, Any]) -> MessagingService:
        _check_active(account)
        _check_settings(values, creating=True)
        now = self._clock.now()
        service = MessagingService(sid=new_sid(SidPrefix.MESSAGING_SERVICE), account_sid=account.sid,
                                   date_created=now, date_updated=now, **{**SERVICE_DEFAULTS, **values})
        async with self._db.transaction() as conn:
            await self._services.insert(conn, service)
        return service

    async def get(self, account: Account, sid: str) -> MessagingService:
        async with self._db.read() as conn:
            service = await self._services.get(conn, sid, account_sids=[account.sid])
        if service is None:
            raise not_found()
        return service

    async def list(self, account: Account, size: int, cursor: Cursor) -> Page[MessagingService]:
        async with self._db.read() as conn:
            return await self._services.page_for(conn, account.sid, size, cursor)

    async def update(self, account: Account, sid: str, values: Mapping[str, Any]) -> MessagingService:
        _check_settings(values, creating=False)
        async with self._db.transaction() as conn:
            if await self._services.get_for_update(conn, sid, account.sid) is None:
                raise not_found()
            updated = await self._services.update(conn, sid, {**values, "date_updated": self._clock.now()})
        if updated is None:  # cannot happen: the row is locked by this transaction
            raise not_found()
        return updated

    async def delete(self, account: Account, sid: str) -> None:
        """Remove the service and its senders (the numbers themselves stay on the account)."""
        async with self._db.transaction() as conn:
            if await self._services.get_for_update(conn, sid, account.sid) is None:
                raise not_found()
            await self._senders.delete_for_service(conn, sid)
            await self._services.delete(conn, sid)

    # --- phone-number senders ---------------------------------------------------------------

    async def add_phone_number(self, account: Account, service_sid: str, number_sid: str) -> PhoneSender:
        _check_active(account)
        if not is_sid(number_sid, SidPrefix.INCOMING_PHONE_NUMBER):
            raise TwilioError(21421, f"PhoneNumberSid {number_sid} is not a valid phone number SID")
        now = self._clock.now()
        try:
            async with self._db.transaction() as conn:
                service = await self._services.get_for_update(conn, service_sid, account.sid)
                if service is None:
                    raise not_found()
                number = await self._numbers.get(conn, number_sid, account_sids=[account.sid])
                if number is None:
                    raise not_found(f"Phone number {number_sid} was not found on this account")
                if not (number.sms_capable or number.mms_capable):
                    raise TwilioError(21715)
                existing = await self._senders.get(conn, number.sid)
                if existing is not None:
                    if existing.account_sid != account.sid:
                        # Left behind when the number moved to this account: the previous
                        # owner's service no longer holds it.
                        await self._senders.delete_for_number_sid(conn, number.sid)
                    elif existing.service_sid == service.sid:
                        raise TwilioError(21710)
                    else:
                        raise TwilioError(21712)
                sender = ServiceSender(sid=number.sid, service_sid=service.sid, account_sid=account.sid,
                                       kind=SenderKind.PHONE, address=number.phone_number,
                                       date_created=now, date_updated=now)
                await self._senders.insert(conn, sender)
        except IntegrityError as exc:  # a concurrent request added it first (unique sender SID)
            raise TwilioError(21712) from exc
        return PhoneSender(sender, number)

    async def list_phone_numbers(self, account: Account, service_sid: str, size: int, cursor: Cursor
                                 ) -> Page[PhoneSender]:
        async with self._db.read() as conn:
            await self._service(conn, account, service_sid)
            page = await self._senders.page_for(conn, service_sid, SenderKind.PHONE, size, cursor)
            items = [PhoneSender(s, await self._numbers.get(conn, s.sid)) for s in page.items]
        return Page(items, page.next_token, page.previous_token)

    async def get_phone_number(self, account: Account, service_sid: str, sid: str) -> PhoneSender:
        async with self._db.read() as conn:
            sender = await self._sender(conn, account, service_sid, sid, SenderKind.PHONE)
            return PhoneSender(sender, await self._numbers.get(conn, sender.sid))

    async def remove_phone_number(self, account: Account, service_sid: str, sid: str) -> None:
        await self._remove(account, service_sid, sid, SenderKind.PHONE)

    # --- alpha senders ----------------------------------------------------------------------

    async def add_alpha_sender(self, account: Account, service_sid: str, alpha_sender: str) -> ServiceSender:
        _check_active(account)
        check_alpha_sender(alpha_sender)
        if not account.alpha_sender_enabled:
            raise TwilioError(20403, "Alphanumeric Sender ID is not enabled for this account")
        now = self._clock.now()
        async with self._db.transaction() as conn:
            service = await self._services.get_for_update(conn, service_sid, account.sid)
            if service is None:
                raise not_found()
            if await self._senders.for_service(conn, service.sid, SenderKind.ALPHA):
                raise TwilioError(20001, "This messaging service already has an alpha sender; "
                                         "delete it before adding another")
            sender = ServiceSender(sid=new_sid(SidPrefix.ALPHA_SENDER), service_sid=service.sid,
                                   account_sid=account.sid, kind=SenderKind.ALPHA, address=alpha_sender,
                                   date_created=now, date_updated=now)
            await self._senders.insert(conn, sender)
        return sender

    async def list_alpha_senders(self, account: Account, service_sid: str, size: int, cursor: Cursor
                                 ) -> Page[ServiceSender]:
        async with self._db.read() as conn:
            await self._service(conn, account, service_sid)
            return await self._senders.page_for(conn, service_sid, SenderKind.ALPHA, size, cursor)

    async def get_alpha_sender(self, account: Account, service_sid: str, sid: str) -> ServiceSender:
        async with self._db.read() as conn:
            return await self._sender(conn, account, service_sid, sid, SenderKind.ALPHA)

    async def remove_alpha_sender(self, account: Account, service_sid: str, sid: str) -> None:
        await self._remove(account, service_sid, sid, SenderKind.ALPHA)

    # --- helpers ----------------------------------------------------------------------------

    async def _service(self, conn: Conn, account: Account, service_sid: str) -> MessagingService:
        service = await self._services.get(conn, service_sid, account_sids=[account.sid])
        if service is None:
            raise not_found()
        return service

    async def _sender(self, conn: Conn, account: Account, service_sid: str, sid: str, kind: SenderKind
                      ) -> ServiceSender:
        await self._service(conn, account, service_sid)
        sender = await self._senders.in_service(conn, service_sid, sid, kind)
        if sender is None:
            raise not_found()
        return sender

    async def _remove(self, account: Account, service_sid: str, sid: str, kind: SenderKind) -> None:
        async with self._db.transaction() as conn:
            if await self._services.get_for_update(conn, service_sid, account.sid) is None:
                raise not_found()
            if await self._senders.in_service(conn, service_sid, sid, kind) is None:
                raise not_found()
            await self._senders.delete(conn, sid)
