"""Channel addresses: ``whatsapp:+<E.164>``, ``messenger:<id>``, ``telegram:<chat id>``, ``line:<id>``.

Twilio writes a chat-app address as ``<channel>:<id>`` wherever a phone number may appear
(Messages ``To``/``From``, Conversations ``MessagingBinding.Address``/``ProxyAddress``); a bare
E.164 number is SMS. ``telegram:`` and ``line:`` are Openline's own channels in the same style.
Everything that must know what a well-formed address of a channel looks like asks this module.

Senders (the business side of a channel, the ``From`` of an outbound message):

* WhatsApp: ``whatsapp:+<E.164>`` of a phone number the account owns (as on Twilio, a WhatsApp
  sender is a registered number), inbound messages reach that number's SmsUrl.
* Messenger: ``messenger:<page id>``; Telegram: ``telegram:<bot id>`` (the digits before ``:``
  in the bot token); LINE: ``line:<bot user id>`` (the webhook's ``destination``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    LINE = "line"


CHAT_CHANNELS: tuple[Channel, ...] = (Channel.WHATSAPP, Channel.MESSENGER, Channel.TELEGRAM, Channel.LINE)

# Identifier shapes as each platform documents them: Messenger page-scoped and page IDs are
# decimal strings; Telegram chat IDs are signed 64-bit integers (groups and channels negative);
# LINE user/group/room IDs are U/C/R followed by 32 hex digits.
_MESSENGER_ID = re.compile(r"[0-9]{1,32}")
_TELEGRAM_ID = re.compile(r"-?[0-9]{1,20}")
_LINE_ID = re.compile(r"[UCR][0-9a-f]{32}")
MAX_ADDRESS = 64  # the column width of message addresses; longer input is refused before parsing

# WhatsApp's customer-service window: free-form messages only within 24 h of the user's last message.
WHATSAPP_SESSION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Address:
    channel: Channel
    id: str  # E.164 for sms and whatsapp, the platform's identifier otherwise

    def __str__(self) -> str:
        return self.id if self.channel is Channel.SMS else f"{self.channel.value}:{self.id}"


def channel_of(raw: str) -> Channel:
    """The channel an address names by its prefix (SMS when it has none we know)."""
    prefix, sep, _ = raw.partition(":")
    if sep:
        try:
            return Channel(prefix.lower())
        except ValueError:
            return Channel.SMS
    return Channel.SMS


def parse_address(raw: str) -> Address | None:
    """A well-formed channel or SMS address in its canonical form, or None."""
    if not raw or len(raw) > MAX_ADDRESS:
        return None
    prefix, sep, rest = raw.partition(":")
    if not sep:
        parsed = parse_e164(raw)
        return Address(Channel.SMS, parsed.e164) if parsed else None
    try:
        channel = Channel(prefix.strip().lower())
    except ValueError:
        return None
    rest = rest.strip()
    if channel is Channel.WHATSAPP or channel is Channel.SMS:
        parsed = parse_e164(rest)
        return Address(channel, parsed.e164) if parsed else None
    pattern = {Channel.MESSENGER: _MESSENGER_ID, Channel.TELEGRAM: _TELEGRAM_ID, Channel.LINE: _LINE_ID}[channel]
    return Address(channel, rest) if pattern.fullmatch(rest) else None


def is_chat(raw: str | None) -> bool:
    return raw is not None and channel_of(raw) is not Channel.SMS


def check_to(raw: str) -> Address:
    """The ``To`` of a message: Twilio's 21211 for an address that cannot be one."""
    address = parse_address(raw)
    if address is None:
        if channel_of(raw) is Channel.SMS:
            raise TwilioError(21211, f"The 'To' number {raw} is not a valid phone number")
        raise TwilioError(21211, f"The 'To' address {raw} is not a valid {channel_of(raw).value} address")
    return address


def check_pair(to: Address, sender: Address) -> None:
    """Twilio's 21910: a message stays on one channel."""
    if to.channel is not sender.channel:
        raise TwilioError(21910, f"Invalid From and To pair: From is a {sender.channel.value} address and To "
                                 f"a {to.channel.value} address; they must be on the same channel")


def within_session(last_inbound: datetime | None, now: datetime) -> bool:
    """Whether a free-form WhatsApp message may go now (the 24-hour customer-service window)."""
    return last_inbound is not None and now - last_inbound < WHATSAPP_SESSION


def telegram_bot_id(token: str) -> str | None:
    """A bot token is ``<bot id>:<secret>``; the id is what ``telegram:`` senders name."""
    bot_id, sep, _ = token.partition(":")
    return bot_id if sep and bot_id.isdigit() else None


# What each platform's answers and status reports mean in Twilio's terms (Twilio's 63xxx codes
# for chat channels; 30008 where the platform's reason has no closer match).
WHATSAPP_ERRORS: dict[int, int] = {
    0: 63001, 190: 63001,  # access token missing, expired or revoked
    100: 63005, 131009: 63005, 131051: 63005, 131052: 63005, 131053: 63005,  # parameters, media, type
    131021: 63024, 131026: 63024,  # recipient is the sender / cannot receive
    131031: 63013, 368: 63013,  # account locked, policy block
    131047: 63016, 470: 63016,  # more than 24 hours since the user's last message
    132000: 63027, 132001: 63027, 132005: 63027, 132007: 63027, 132012: 63027,  # template problems
    4: 63018, 80007: 63018, 130429: 63018, 131048: 63018, 131056: 63018,  # rate limits
}
MESSENGER_ERRORS: dict[int, int] = {190: 63001, 2018278: 63016, 551: 63024, 100: 63003, 10: 63013, 200: 63013,
                                    4: 63018, 613: 63018}
TELEGRAM_ERRORS: dict[int, int] = {401: 63001, 403: 63024, 429: 63018}
LINE_ERRORS: dict[int, int] = {401: 63001, 403: 63013, 400: 63005, 429: 63018}
UNKNOWN_CHANNEL_ERROR = 30008


def twilio_error(channel: Channel, code: int | None, description: str = "") -> int:
    """The Twilio error code for a platform's refusal or failure report."""
    if code is None:
        return UNKNOWN_CHANNEL_ERROR
    if channel is Channel.TELEGRAM and code == 400:
        return 63003 if "not found" in description.lower() else 63005
    table = {Channel.WHATSAPP: WHATSAPP_ERRORS, Channel.MESSENGER: MESSENGER_ERRORS,
             Channel.TELEGRAM: TELEGRAM_ERRORS, Channel.LINE: LINE_ERRORS}.get(channel, {})
    return table.get(code, UNKNOWN_CHANNEL_ERROR)
