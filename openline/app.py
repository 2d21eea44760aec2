"""Composition root: configuration → storage → services → API. The only place that wires."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.routing import Mount, Router

from openline.api import (
    accounts_v1,
    chat_socket,
    content_v1,
    conversations_config_v1,
    conversations_v1,
    email_sandbox,
    lookups_v2,
    messaging_v1,
    monitor_v1,
    openapi,
    system,
    verify_v2,
)
from openline.api import channels as channels_api
from openline.api import sandbox as sandbox_api
from openline.api.framework import Operation, build_routes
from openline.api.limits import ConcurrencyLimiter
from openline.api.observe import RequestTimer
from openline.api.products import PRODUCTS, SENDGRID, ProductRouter
from openline.api.sendgrid import framework as sendgrid_framework
from openline.api.sendgrid import mail as sendgrid_mail
from openline.api.sendgrid import suppressions as sendgrid_suppressions
from openline.api.sendgrid import templates as sendgrid_templates
from openline.api.sendgrid import webhooks as sendgrid_webhooks
from openline.api.services import ApiServices
from openline.api.v2010 import accounts as accounts_api
from openline.api.v2010 import applications as applications_api
from openline.api.v2010 import calls as calls_api
from openline.api.v2010 import messages as messages_api
from openline.api.v2010 import phone_numbers as phone_numbers_api
from openline.api.v2010 import recordings as recordings_api
from openline.config import SANDBOX_CARRIER, SIP_USER_ORIGIN, Settings
from openline.console import ConsoleServices, console_app
from openline.core.channels import Channel
from openline.core.clock import Clock, OffsetClock, SystemClock
from openline.core.crypto import SecretBox, new_master_key, parse_master_key
from openline.services.access_tokens import AccessTokens
from openline.services.accounts import AccountService, BootstrapResult
from openline.services.alerts import AlertService
from openline.services.auth import Authenticator, FailureThrottle
from openline.services.callbacks import STATUS_CALLBACK, StatusCallbacks
from openline.services.carriers import BindOwnership, Carrier
from openline.services.channel_carriers import LineCarrier, MessengerCarrier, TelegramCarrier, WhatsAppCarrier
from openline.services.channel_inbound import CHANNEL_STATUS, ChannelWebhooks
from openline.services.channels import ChannelDirectory
from openline.services.chat_hub import ChatHub
from openline.services.cluster import ClusterBinds
from openline.services.content import ContentService
from openline.services.conversation_admin import ConversationAdmin
from openline.services.conversation_events import CONVERSATION_EVENT, ConversationEvents
from openline.services.conversation_inbound import CONVERSATION_INBOUND, ConversationInbound
from openline.services.conversation_messages import ConversationMessages
from openline.services.conversations import CONVERSATION_TIMER, Conversations
from openline.services.dialers import RoutingDialer
from openline.services.dispatch import Dispatcher, Receipts
from openline.services.email import EMAIL_DELIVER, EMAIL_EXPAND, MailService
from openline.services.email_admin import EmailAdmin
from openline.services.email_dkim import DomainKeys
from openline.services.email_events import EMAIL_EVENTS, EventWebhooks
from openline.services.email_inbound import EMAIL_PARSE, InboundParse
from openline.services.email_keys import EmailKeys
from openline.services.email_render import Tokens
from openline.services.inbound import INBOUND_WEBHOOK, InboundService
from openline.services.insight import InsightService
from openline.services.lookup import LookupService
from openline.services.messaging import DISPATCH, MessagingService
from openline.services.messaging_services import MessagingServiceAdmin
from openline.services.metrics import Metrics
from openline.services.numbers import ApplicationService, PhoneNumberService
from openline.services.queue import Wakeup
from openline.services.recordings import RecordingService
from openline.services.routing import Router as MessageRouter
from openline.services.sandbox import SANDBOX_DELIVER, SandboxNetwork
from openline.services.sandbox_handsets import Handsets
from openline.services.sandbox_voice import SandboxVoice
from openline.services.sip_registrations import Registrations
from openline.services.smpp_carrier import SmppCarrier, SmppInbound
from openline.services.speech import Speech
from openline.services.throughput import Throughput
from openline.services.urls import PublicUrl
from openline.services.verify import Verifier
from openline.services.voice import VOICE_CONTROL, VOICE_DIAL, VoiceService
from openline.services.voice_session import CallSessions
from openline.services.web_chat import WebChat
from openline.services.webhooks import WebhookCaller
from openline.storage import dialect as dialects
from openline.storage import jobs, migrate
from openline.storage.blobs import BlobStore, DatabaseBlobStore, FileBlobStore, shared_secret
from openline.storage.chat_feed import ChatFeed
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.locks import AdvisoryLocks
from openline.storage.notify import JobNotifications
from openline.storage.repositories import (
    AccountRepository,
    ApiKeyRepository,
    ApplicationRepository,
    IncomingPhoneNumberRepository,
)
from openline.storage.repositories.carriers import CarrierRecords
from openline.storage.repositories.conversations import ConversationRepositories
from openline.storage.repositories.email import (
    DomainRepository,
    EmailKeyRepository,
    EmailSettingsRepository,
    MailRepository,
    SuppressionRepository,
    TemplateRepository,
)
from openline.storage.repositories.insight import InsightRepositories
from openline.storage.repositories.messaging import (
    AlertRepository,
    ContentRepository,
    HandsetRepository,
    MediaRepository,
    MessageRepository,
    MessagingServiceRepository,
    OptOutRepository,
    ServiceSenderRepository,
    StickySenderRepository,
    WebhookAttemptRepository,
)
from openline.storage.repositories.sip import SipRegistrationRepository
from openline.storage.repositories.verify import VerifyRepositories
from openline.storage.repositories.voice import CallRepository, HandsetVoiceRepository, RecordingRepository
from openline.transports.address_guard import outbound_transport
from openline.transports.chat_http import ChatHttpClient
from openline.transports.rtp import MediaClock
from openline.transports.sip_service import SipService
from openline.transports.smpp import SmppClient
from openline.transports.smtp_client import SmtpDelivery
from openline.transports.smtp_inbound import InboundSmtpServer
from openline.transports.webhooks import WebhookClient
from openline.workers.runner import WorkerPool

log = logging.getLogger("openline")

MASTER_KEY_FILE = "secret.key"


class StartupError(RuntimeError):
    """A condition that stops `serve` with a clear message (schema mismatch, bad key...)."""


def sqlite_options(settings: Settings) -> SqliteOptions:
    return SqliteOptions(settings.database.sqlite_synchronous, settings.database.sqlite_busy_timeout_ms)


def prepare_schema(settings: Settings, *, migrate_now: bool) -> migrate.SchemaState:
    """Migrate (embedded SQLite, or on request) or check that the schema matches this code."""
    dialect = dialects.resolve(settings.resolved_database_url)
    if dialect.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = dialects.create_sync(dialect, sqlite_options(settings))
    try:
        if migrate_now or dialect.migrates_on_start:
            try:
                return migrate.upgrade(engine)
            except migrate.SchemaMismatchError as exc:
                raise StartupError(str(exc)) from None
        state = migrate.inspect(engine)
        if state.status is not migrate.SchemaStatus.CURRENT:
            raise StartupError(state.describe())
        return state
    finally:
        engine.dispose()


MASTER_KEY_BLOB = "keys/master"


def load_master_key(settings: Settings) -> bytes:
    """OPENLINE_SECRET_KEY if set. Otherwise the embedded default keeps a generated key in the data
    dir; a PostgreSQL cluster keeps it in the database, so that every process on every machine
    encrypts and decrypts alike (the first process to start creates it)."""
    if settings.secret_key is not None:
        try:
            return parse_master_key(settings.secret_key.get_secret_value())
        except ValueError as exc:
            raise StartupError(f"secret_key (OPENLINE_SECRET_KEY): {exc}") from None
    path = settings.data_dir / MASTER_KEY_FILE
    dialect = dialects.resolve(settings.resolved_database_url)
    if not dialect.is_sqlite:
        # A key file left by an earlier single-machine run is adopted, so its data stays readable.
        candidate = path.read_text().strip() if path.exists() else new_master_key().hex()
        engine = dialects.create_sync(dialect, sqlite_options(settings))
        try:
            stored = shared_secret(engine, MASTER_KEY_BLOB, candidate.encode())
        finally:
            engine.dispose()
        try:
            return parse_master_key(stored.decode())
        except ValueError as exc:
            raise StartupError(f"the master key stored in the database: {exc}") from None
    if path.exists():
        try:
            return parse_master_key(path.read_text())
        except ValueError as exc:
            raise StartupError(f"{path}: {exc}") from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = new_master_key()
    # Created owner-only in one step, so the key is never readable by others even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


@dataclass
class Openline:
    """Everything one process runs, built from settings."""

    settings: Settings
    db: Database
    clock: Clock
    blobs: BlobStore
    services: ApiServices
    asgi: ProductRouter
    operations: dict[str, list[Operation]]
    urls: PublicUrl
    pools: list[WorkerPool]
    closers: list[Callable[[], Awaitable[None]]]
    links: list[SmppClient] = field(default_factory=list)
    listeners: list[InboundSmtpServer] = field(default_factory=list)  # inbound SMTP (email parse)
    metrics: Metrics = field(default_factory=Metrics)
    voice: VoiceService | None = None
    notifications: JobNotifications | None = None
    chat_notifications: JobNotifications | None = None  # web chat notices (PostgreSQL, API roles)
    locks: AdvisoryLocks | None = None
    timed: RequestTimer | None = None  # the ASGI app to serve: the router, timed for /metrics
    channels: ChannelDirectory | None = None  # learns the start-up account at bootstrap
    # Voice over SIP (`[sip]`, roles worker and all). Its `dialer` places outbound legs (raises
    # LookupError for targets no SIP trunk, user or URI reaches: fall back to the sandbox), and
    # `attach(handler)` gives it the IncomingCallHandler that takes incoming calls (503 until then).
    sip: SipService | None = None
    media_clock: MediaClock | None = None  # started with the process, stopped after the last call
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def runs_api(self) -> bool:
        return self.settings.role in ("api", "all")

    @property
    def runs_workers(self) -> bool:
        return self.settings.role in ("worker", "all")

    async def bootstrap(self) -> BootstrapResult | None:
        token = self.settings.auth_token.get_secret_value().lower() if self.settings.auth_token else None
        try:
            result = await self.services.accounts.bootstrap(self.settings.account_sid, token)
        except IntegrityError:  # another process of the cluster created it at the same moment
            result = await self.services.accounts.bootstrap(self.settings.account_sid, token)
        if self.channels is not None:
            # The start-up account owns chat senders configured without account_sid.
            default = result.account if result else await self.services.accounts.default_account()
            self.channels.default_account = default.sid if default else None
        return result

    def bound_to(self, base_url: str) -> None:
        self.asgi.bound_to(base_url)
        if not self.settings.public_url:
            self.urls.set(base_url)

    async def start_workers(self) -> None:
        """Start the job pools and carrier binds (roles worker and all; api runs none), and the
        web chat listener where sockets are served (roles api and all)."""
        if self.runs_api and self.chat_notifications is not None:
            await self.chat_notifications.start()
        if self.media_clock is not None:
            self.media_clock.start()  # any role may carry sandbox calls; idle, it does not wake
        if not self.runs_workers:
            return
        if self.db.dialect.is_sqlite:
            # One process owns the embedded database: leases left by a crashed run are ours.
            async with self.db.transaction() as conn:
                released = await jobs.release_all_leases(conn)
            if released:
                log.info("resuming %d jobs interrupted by the last shutdown", released)
        if self.notifications is not None:
            await self.notifications.start()
        if self.voice is not None and self.db.dialect.is_sqlite:
            await self.voice.recover()  # calls a crash left live cannot resume (one process owns SQLite)
        self._tasks = [asyncio.create_task(pool.run(), name=pool.name) for pool in self.pools]
        for link in self.links:
            await link.start()
        for listener in self.listeners:
            await listener.start()
        if self.sip is not None:
            await self.sip.start()

    async def stop_workers(self) -> None:
        if self.voice is not None:
            await self.voice.close()
        if self.sip is not None and self.runs_workers:
            await self.sip.close()  # live calls get their BYE while the loop still runs
        if self.chat_notifications is not None:
            await self.chat_notifications.stop()
        for listener in self.listeners:
            await listener.stop()
        for link in self.links:  # graceful unbind first: receipts still arriving get stored
            await link.stop()
        if self.notifications is not None:
            await self.notifications.stop()
        for pool in self.pools:
            await pool.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def close(self) -> None:
        await self.stop_workers()
        if self.media_clock is not None:
            await self.media_clock.stop()
        for close in self.closers:
            await close()
        if self.locks is not None:
            await self.locks.close()
        await self.db.close()


def inventory(settings: Settings) -> dict[str, str]:
    """Numbers on offer from real networks, each with the SMPP carrier or SIP trunk it came from."""
    numbers = {n: t.name for t in (settings.sip.trunks if settings.sip else []) for n in t.numbers}
    # A SIP user's number is an Openline number too: calls to it ring the registered device, and
    # the account that buys it answers (and places) the device's calls with its TwiML.
    numbers.update({u.number: SIP_USER_ORIGIN for u in (settings.sip.users if settings.sip else [])})
    numbers.update({n: c.name for c in settings.carriers for n in c.numbers})  # one number, SMS and voice
    return numbers


def build(settings: Settings, clock: Clock | None = None) -> Openline:
    sandbox_clock = OffsetClock() if settings.sandbox.clock else None
    clock = clock or sandbox_clock or SystemClock()
    database = settings.database
    db = Database.open(settings.resolved_database_url, sqlite_options(settings), database.pool_size,
                       database.max_overflow, database.pool_timeout_seconds)
    if db.dialect.is_sqlite and settings.role != "all":
        raise StartupError(f"--role {settings.role} needs PostgreSQL (database_url): an embedded SQLite "
                           "database belongs to one process, which runs both roles")
    metrics = Metrics()
    cluster = not db.dialect.is_sqlite
    secrets = SecretBox(load_master_key(settings))
    urls = PublicUrl(settings.base_url, twilio_urls_for_apps=settings.intercept.enabled)
    wakeup = Wakeup()

    account_repo, key_repo = AccountRepository(), ApiKeyRepository()
    app_repo, number_repo = ApplicationRepository(), IncomingPhoneNumberRepository()
    message_repo, media_repo = MessageRepository(), MediaRepository()
    service_repo, sender_repo = MessagingServiceRepository(), ServiceSenderRepository()
    opt_out_repo, sticky_repo = OptOutRepository(), StickySenderRepository()
    authenticator = Authenticator(db, account_repo, key_repo, FailureThrottle(settings.api.auth_failures_per_minute))
    services = ApiServices(
        db=db,
        account_repository=account_repo,
        authenticator=authenticator,
        accounts=AccountService(db, account_repo, key_repo, clock, secrets, authenticator),
        applications=ApplicationService(db, app_repo, clock),
        numbers=PhoneNumberService(db, number_repo, app_repo, clock, random.Random(), sender_repo,
                                   inventory(settings),
                                   settings.sandbox.enabled),
    )
    blobs: BlobStore = (FileBlobStore(settings.data_dir / "blobs") if db.dialect.is_sqlite
                        else DatabaseBlobStore(db))

    # The SMS pipeline.
    msg = settings.messaging
    guard = settings.webhooks.block_private_addresses
    http = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=False,
                             transport=outbound_transport(guard))
    webhook_client = WebhookClient(transport=outbound_transport(guard))
    caller = WebhookCaller(db, webhook_client, account_repo, WebhookAttemptRepository(), clock,
                           metrics.observe_webhook)
    alerts = AlertService(db, AlertRepository(), clock)
    callbacks = StatusCallbacks(db, clock, app_repo, service_repo, caller, alerts, msg.status_callback_attempts)
    # Chat channels: WhatsApp, Messenger, Telegram, LINE senders and Content templates.
    channel_directory = ChannelDirectory(settings.channels, settings.sandbox.enabled)
    contents = ContentService(db, clock, ContentRepository())
    messaging = MessagingService(db, clock, msg, wakeup, blobs, message_repo, media_repo, number_repo, app_repo,
                                 service_repo, sender_repo, opt_out_repo, callbacks, channel_directory, contents)
    # Conversations ride on the SMS pipeline: copies go out through `messaging`, and inbound
    # messages from bound addresses are routed to conversations instead of the SmsUrl.
    conv_repos = ConversationRepositories()
    conv_admin = ConversationAdmin(db, clock, conv_repos, number_repo, service_repo, channel_directory)
    conv_events = ConversationEvents(db, clock, conv_repos, caller, alerts)
    conversations = Conversations(db, clock, wakeup, conv_repos, conv_admin, conv_events, number_repo, service_repo,
                                  channel_directory)
    # Web chat: every message added by any path is announced to live chat sockets (chat_feed).
    chat_feed = ChatFeed(db)
    conv_messages = ConversationMessages(db, clock, wakeup, conv_repos, conversations, conv_events, messaging,
                                         media_repo, urls, chat_feed)
    chat_hub = ChatHub(db, clock, conv_repos, chat_feed)
    chat_tokens = AccessTokens(db, account_repo, key_repo, secrets, conv_admin, clock,
                               secrets.derive("console chat tokens"))
    web_chat = WebChat(db, clock, wakeup, conv_repos, conversations, conv_messages, conv_events,
                       chat_tokens, chat_feed)
    conv_inbound = ConversationInbound(db, clock, wakeup, conv_repos, conv_admin, conversations, conv_messages,
                                       conv_events, account_repo, media_repo, message_repo)
    inbound = InboundService(db, clock, wakeup, urls, account_repo, message_repo, media_repo, number_repo, app_repo,
                             service_repo, sender_repo, opt_out_repo, messaging, caller, alerts, channel_directory,
                             router=conv_inbound)
    receipts = Receipts(clock, message_repo, callbacks)
    handset_repo = HandsetRepository()
    sandbox = SandboxNetwork(db, clock, settings.sandbox, message_repo, media_repo, number_repo, handset_repo,
                             receipts, inbound)
    # Real carriers: one SMPP link (transport) and one carrier adapter (service) each.
    carrier_records = CarrierRecords()
    smpp_events = SmppInbound(db, clock, wakeup, carrier_records, receipts, message_repo, number_repo, inbound,
                              {c.name: c.data_coding == "gsm7-packed" for c in settings.carriers})
    # In a cluster each carrier's binds belong to one worker process at a time (advisory lock).
    locks = AdvisoryLocks(db.dialect) if cluster and settings.carriers and settings.role != "api" else None
    ownership: BindOwnership | None = ClusterBinds(locks) if locks is not None else None
    links = {c.name: SmppClient(c, smpp_events, ownership=ownership) for c in settings.carriers}
    carriers: dict[str, Carrier] = {SANDBOX_CARRIER: sandbox}
    for carrier_settings in settings.carriers:
        carriers[carrier_settings.name] = SmppCarrier(carrier_settings, links[carrier_settings.name], db, clock,
                                                      carrier_records, receipts, message_repo)
    chat_http = ChatHttpClient()
    chat_carriers: dict[Channel, Carrier] = {}
    ch = settings.channels
    if channel_directory.configured(Channel.WHATSAPP):
        chat_carriers[Channel.WHATSAPP] = WhatsAppCarrier(ch.whatsapp, db, chat_http, media_repo, contents)
    if channel_directory.configured(Channel.MESSENGER):
        chat_carriers[Channel.MESSENGER] = MessengerCarrier(ch.messenger, db, chat_http, media_repo)
    if channel_directory.configured(Channel.TELEGRAM):
        chat_carriers[Channel.TELEGRAM] = TelegramCarrier(ch.telegram, db, chat_http, media_repo)
    if channel_directory.configured(Channel.LINE):
        chat_carriers[Channel.LINE] = LineCarrier(ch.line, db, chat_http, media_repo, message_repo, clock)
    channel_webhooks = ChannelWebhooks(db, clock, wakeup, settings.channels, channel_directory, inbound, receipts,
                                       message_repo, number_repo, chat_http, blobs, msg.media_max_bytes)
    router = MessageRouter(settings.routes, carriers, settings.sandbox.enabled, channels=chat_carriers)
    dispatcher = Dispatcher(db, clock, msg, router, blobs, message_repo, media_repo, number_repo, service_repo,
                            sender_repo, sticky_repo, opt_out_repo, callbacks,
                            Throughput(msg.throughput, msg.sender_mps, db), http, account_repo, contents,
                            channel_directory)
    handsets = Handsets(db, handset_repo, media_repo, inbound, urls)
    # On PostgreSQL, LISTEN/NOTIFY wakes idle workers when any process enqueues; polling is the fallback.
    notifications = JobNotifications(db.dialect, wakeup.notify) if cluster else None
    pool_options: dict[str, Any] = {
        "lease": timedelta(seconds=settings.workers.lease_seconds), "observer": metrics.observe_job,
        "idle_poll": settings.workers.notify_poll_interval_seconds if cluster
        else settings.workers.poll_interval_seconds}
    pools = [
        WorkerPool("dispatch", db, clock, {DISPATCH: dispatcher.dispatch, SANDBOX_DELIVER: sandbox.deliver},
                   wakeup, concurrency=msg.dispatch_concurrency, **pool_options),
        WorkerPool("webhooks", db, clock, {INBOUND_WEBHOOK: inbound.deliver_webhook,
                                           STATUS_CALLBACK: callbacks.deliver,
                                           CONVERSATION_EVENT: conv_events.deliver,
                                           CONVERSATION_INBOUND: conv_inbound.deliver_inbound,
                                           CONVERSATION_TIMER: conversations.run_timer,
                                           CHANNEL_STATUS: channel_webhooks.retry_status},
                   wakeup, concurrency=msg.webhook_concurrency, **pool_options),
    ]

    # Voice over SIP: the user agent runs where the carrier binds run (roles worker and all).
    # One media clock paces every leg of this process, SIP and sandbox alike (it sleeps while idle).
    media_clock = MediaClock()
    sip = (SipService(settings.sip, settings.routes, Registrations(db, SipRegistrationRepository(), clock),
                      secrets.derive("sip digest nonces"), media_clock=media_clock)
           if settings.sip is not None and settings.role != "api" else None)

    admin = MessagingServiceAdmin(db, service_repo, sender_repo, number_repo, clock)
    lookup = LookupService()
    # Email (SendGrid v3): keys, mail pipeline, templates, suppressions, event webhook.
    email_settings_repo, suppression_repo, template_repo = (EmailSettingsRepository(), SuppressionRepository(),
                                                            TemplateRepository())
    email_keys = EmailKeys(db, clock, EmailKeyRepository(), account_repo)
    email_events = EventWebhooks(db, clock, wakeup, email_settings_repo, secrets, http, settings.email.event_batch_max)
    email_admin = EmailAdmin(db, clock, template_repo, suppression_repo, email_settings_repo)
    mail_host = settings.email.helo_name or socket.gethostname()
    smtp = None if settings.email.sandboxed else SmtpDelivery(settings.email, mail_host)
    domain_keys = DomainKeys(db, clock, DomainRepository(), secrets)
    mail = MailService(db, clock, wakeup, settings.email, urls, MailRepository(), template_repo, suppression_repo,
                       email_events, Tokens(secrets.derive("email tracking")), domain_keys, smtp, mail_host)
    inbound_parse = InboundParse(db, clock, wakeup, email_admin, http)
    listeners = ([InboundSmtpServer(settings.email.inbound, inbound_parse, mail_host)]
                 if settings.email.inbound.enabled else [])
    pools.append(WorkerPool("email", db, clock, {EMAIL_EXPAND: mail.expand, EMAIL_DELIVER: mail.deliver,
                                                 EMAIL_EVENTS: email_events.deliver,
                                                 EMAIL_PARSE: inbound_parse.deliver},
                            wakeup, concurrency=settings.email.delivery_concurrency))
    # Voice: the Calls API, live calls run in this process, and the dialers that place legs. The
    # routing dialer asks real carriers first (SIP, added to `dialers` ahead of the sandbox), then
    # the sandbox's simulated handsets when the sandbox is on.
    phones = SandboxVoice(db, clock, blobs, HandsetVoiceRepository(), http, media_clock)
    dialers = RoutingDialer([*([sip.dialer] if sip is not None else []),
                             *([phones] if settings.sandbox.enabled else [])])
    recordings = RecordingService(db, clock, wakeup, blobs, RecordingRepository(), CallRepository(), urls)
    sessions = CallSessions(Speech(settings.data_dir / "tts-cache", settings.voice.tts_command), caller, alerts,
                            http, settings.voice.max_call_seconds, recordings)
    voice = VoiceService(db, clock, settings.voice, wakeup, CallRepository(), number_repo, app_repo, dialers,
                         sessions)
    if sip is not None:
        sip.attach(voice)  # INVITEs from trunks and SIP users become inbound calls
    pools.append(WorkerPool("voice", db, clock, {VOICE_DIAL: voice.dial, VOICE_CONTROL: voice.control}, wakeup,
                            concurrency=64, **pool_options))
    verifier = Verifier(db, clock, settings.verify, messaging, wakeup, lookup, secrets.derive("verify codes"),
                        VerifyRepositories(), number_repo, mail, settings.email.verify_from, voice)
    runs_workers = settings.role in ("worker", "all")
    product_operations: dict[str, list[Operation]] = {
        "api": [*accounts_api.operations(services), *applications_api.operations(services),
                *phone_numbers_api.operations(services), *messages_api.operations(services, messaging),
                *calls_api.operations(services, voice), *recordings_api.operations(services, recordings)],
        "messaging": messaging_v1.operations(services, admin),
        "monitor": monitor_v1.operations(services, alerts),
        "accounts": accounts_v1.operations(services),
        "verify": verify_v2.operations(services, verifier),
        "lookups": lookups_v2.operations(services, lookup),
        "conversations": [*conversations_v1.operations(conv_admin, conversations, conv_messages),
                          *conversations_config_v1.operations(conv_admin)],
        "content": content_v1.operations(contents),
    }
    sendgrid_operations = [*sendgrid_mail.operations(mail, email_keys), *sendgrid_templates.operations(email_admin),
                           *sendgrid_suppressions.operations(email_admin),
                           *sendgrid_webhooks.operations(email_events, email_admin)]
    sandbox_operations = [*sandbox_api.operations(services, handsets, sandbox_clock, wakeup,
                                                   voice, phones),
                          *email_sandbox.operations(services, mail)]
    errors_base = settings.base_url

    async def health() -> dict[str, Any]:
        async with db.read() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
            # Messages waiting per sender (queued or being sent): what an operator watches.
            depths = await message_repo.queue_depths(conn)
            unmatched = await carrier_records.unmatched_counts(conn)
        # Bind state is a worker's: an API process has no binds to report.
        carriers = {name: {**link.metrics(), "unmatched_receipts": unmatched.get(name, 0),
                           "receipt_latency_s": smpp_events.receipt_latency(name)}
                    for name, link in links.items()} if runs_workers else {}
        payload: dict[str, Any] = {"database": db.dialect.name, "role": settings.role, "queue_depths": depths,
                                   "carriers": carriers}
        if notifications is not None and runs_workers:
            payload["job_notifications"] = "listening" if notifications.connected else "reconnecting"
        if sip is not None:
            payload["sip"] = {"calls": len(sip.legs), "counters": dict(sip.counters),
                              "registrar": dict(sip.registrar.counters),
                              "trunk_registrations": {p.trunk.name: p.state.value for p in sip.providers},
                              "media": sip.media_stats()}
        return payload

    async def render_metrics() -> tuple[bytes, str]:
        async with db.read() as conn:
            metrics.snapshot.jobs = await jobs.depths(conn, clock.now())
            metrics.snapshot.queued_messages = await message_repo.queue_depths(conn)
        metrics.snapshot.carriers = {name: link.metrics() for name, link in links.items()} if runs_workers else {}
        metrics.snapshot.media = sip.media_stats() if sip is not None else None
        metrics.snapshot.notifications_connected = (notifications.connected if notifications is not None
                                                    and runs_workers else None)
        return metrics.render()

    limiter = ConcurrencyLimiter(settings.api.max_concurrent_requests_per_account,
                                 settings.api.max_concurrent_requests)
    products = {
        name: Router(routes=build_routes(product_operations.get(name, []), authenticator, limiter),
                     default=system.not_found)
        for name in PRODUCTS
    }
    products["api"].routes.append(messages_api.media_content_route(services, messaging))
    products["conversations"].routes.extend(chat_socket.routes(web_chat, chat_hub))
    products["api"].routes.append(recordings_api.media_route(services, recordings))
    products[SENDGRID] = Router(routes=sendgrid_framework.build_sendgrid_routes(sendgrid_operations, email_keys,
                                                                                authenticator),
                                default=sendgrid_framework.not_found)
    documented = {**product_operations, "": sandbox_operations}
    console = console_app(ConsoleServices(
        authenticator, services.accounts, services.numbers, messaging, admin, verifier, alerts, handsets,
        InsightService(db, clock, InsightRepositories(), account_repo, key_repo), health,
        secrets.derive("console sessions"), settings.sandbox.enabled, mail, conv_messages, chat_tokens, voice))
    root = Starlette(routes=[*system.routes(health, lambda: openapi.build(documented), errors_base, render_metrics),
                             *build_routes(sandbox_operations, authenticator, limiter),
                             *email_sandbox.tracking_routes(mail),
                             *channels_api.routes(channel_webhooks),
                             *chat_socket.widget_routes(),
                             Mount("/console", app=console)])
    root.router.default = system.not_found
    asgi = ProductRouter(products, root, errors_base)
    asgi.public_base = settings.public_url
    closers: list[Callable[[], Awaitable[None]]] = [webhook_client.aclose, http.aclose, chat_http.aclose]
    if smtp is not None:
        closers.append(smtp.aclose)
    if settings.role == "worker":
        # A worker answers only what operators and load balancers ask it: /health and /metrics.
        worker_root = Starlette(routes=system.monitoring_routes(health, render_metrics))
        worker_root.router.default = system.not_found
        asgi = ProductRouter({name: system.not_found for name in PRODUCTS}, worker_root, errors_base)
    return Openline(settings, db, clock, blobs, services, asgi, product_operations, urls, pools, closers,
                    links=list(links.values()), listeners=listeners, metrics=metrics,
                    notifications=notifications, locks=locks, timed=RequestTimer(asgi, metrics.observe_request),
                    channels=channel_directory, sip=sip, chat_notifications=chat_feed.listening, voice=voice,
                    media_clock=media_clock)


