"""The services the console works through (wired in ``openline.app``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from openline.services.access_tokens import AccessTokens
from openline.services.accounts import AccountService
from openline.services.alerts import AlertService
from openline.services.auth import Authenticator
from openline.services.conversation_messages import ConversationMessages
from openline.services.email import MailService
from openline.services.insight import InsightService
from openline.services.messaging import MessagingService
from openline.services.messaging_services import MessagingServiceAdmin
from openline.services.numbers import PhoneNumberService
from openline.services.sandbox_handsets import Handsets
from openline.services.verify import Verifier
from openline.services.voice import VoiceService


@dataclass(frozen=True, slots=True)
class ConsoleServices:
    authenticator: Authenticator
    accounts: AccountService
    numbers: PhoneNumberService
    messaging: MessagingService
    admin: MessagingServiceAdmin
    verifier: Verifier
    alerts: AlertService
    handsets: Handsets
    insight: InsightService
    health: Callable[[], Awaitable[dict[str, Any]]]  # what GET /health reports (carriers, database)
    session_key: bytes  # derived from the installation's secret key; signs session cookies
    sandbox_enabled: bool = True
    mail: MailService | None = None  # the sandbox inbox
    conversations: ConversationMessages | None = None  # threads for the Conversations pages
    chat_tokens: AccessTokens | None = None  # the agent view's web chat tokens
    voice: VoiceService | None = None  # the calls log
