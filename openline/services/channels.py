"""Which chat-channel senders exist, who owns them, and whether a channel is live or sandboxed.

A channel whose table in ``[channels]`` carries credentials is *configured*: its messages go
to the platform. Otherwise, while the sandbox is on, its messages travel the sandbox.

WhatsApp senders are phone numbers (``whatsapp:+<E.164>``) owned by an account, as on Twilio;
inbound messages reach the number's SmsUrl. A configured Messenger page, Telegram bot or LINE
bot is one sender, owned by ``account_sid`` (default: the start-up account), whose inbound
messages go to that table's ``webhook_url``. In the sandbox, any well-formed sender address of
an unconfigured channel may be used by the account that sends from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from openline.config import ChannelSettings
from openline.core.channels import Address, Channel, telegram_bot_id


@dataclass(frozen=True, slots=True)
class ChannelSender:
    address: str
    account_sid: str | None  # None: the start-up account
    webhook_url: str | None
    webhook_method: str


class ChannelDirectory:
    def __init__(self, settings: ChannelSettings, sandbox_enabled: bool) -> None:
        self._settings = settings
        self._sandbox = sandbox_enabled
        self.default_account: str | None = None  # set once the start-up account exists
        self._senders: dict[str, ChannelSender] = {}
        s = settings
        if s.messenger.page_access_token is not None and s.messenger.page_id:
            self._add(f"messenger:{s.messenger.page_id}", s.messenger.account_sid, s.messenger.webhook_url,
                      s.messenger.webhook_method)
        if s.telegram.bot_token is not None:
            bot = telegram_bot_id(s.telegram.bot_token.get_secret_value())
            if bot:
                self._add(f"telegram:{bot}", s.telegram.account_sid, s.telegram.webhook_url, s.telegram.webhook_method)
        if s.line.channel_access_token is not None and s.line.bot_user_id:
            self._add(f"line:{s.line.bot_user_id}", s.line.account_sid, s.line.webhook_url, s.line.webhook_method)
        self._whatsapp_ids = dict(s.whatsapp.numbers)
        self._whatsapp_numbers = {number_id: number for number, number_id in s.whatsapp.numbers.items()}

    def _add(self, address: str, account: str | None, url: str | None, method: str) -> None:
        self._senders[address] = ChannelSender(address, account, url, method)

    def configured(self, channel: Channel) -> bool:
        s = self._settings
        return {Channel.WHATSAPP: s.whatsapp.access_token is not None,
                Channel.MESSENGER: s.messenger.page_access_token is not None,
                Channel.TELEGRAM: s.telegram.bot_token is not None,
                Channel.LINE: s.line.channel_access_token is not None}.get(channel, False)

    def reachable(self, channel: Channel) -> bool:
        return self.configured(channel) or self._sandbox

    def sender(self, address: str) -> ChannelSender | None:
        """A configured Messenger/Telegram/LINE sender."""
        return self._senders.get(address)

    def owner(self, sender: ChannelSender) -> str | None:
        return sender.account_sid or self.default_account

    def may_send(self, account_sid: str, sender: Address) -> bool:
        """Whether the account may send from this (non-WhatsApp) channel sender."""
        if self.configured(sender.channel):
            known = self.sender(str(sender))
            return known is not None and self.owner(known) == account_sid
        return self._sandbox

    def whatsapp_number_id(self, e164: str) -> str | None:
        return self._whatsapp_ids.get(e164)

    def whatsapp_number(self, number_id: str) -> str | None:
        return self._whatsapp_numbers.get(number_id)
