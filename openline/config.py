"""All of Openline's settings in one typed tree.

Sources, strongest first: command-line flags, ``OPENLINE_*`` environment variables (nested
keys with ``__``, e.g. ``OPENLINE_DATABASE__POOL_SIZE``), the optional TOML file given with
``--config``, then the defaults below. Validated once at start-up; errors name the key.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "OPENLINE_"


class ConfigError(ValueError):
    """Raised with one line per offending key."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # FULL makes every acknowledged write survive a power cut, not only a process crash.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    pool_size: int = Field(default=10, ge=1, le=500)
    # PostgreSQL only: connections beyond pool_size under a burst, and how long a request waits
    # for a connection before it is refused (20429) rather than queued in memory without bound.
    max_overflow: int = Field(default=10, ge=0, le=500)
    pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300)


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Twilio allows about 100 requests in flight per account before answering 20429.
    max_concurrent_requests_per_account: int = Field(default=100, ge=1)
    # Failed authentications one client address may make per minute (API and console); 0: no limit.
    auth_failures_per_minute: int = Field(default=30, ge=0)
    # All accounts together, per process: past it a request answers 20429 at once, so that a slow
    # database or carrier slows intake instead of piling requests up in memory.
    max_concurrent_requests: int = Field(default=1000, ge=1)


class WorkerSettings(BaseModel):
    """``[workers]``: how worker processes lease and find jobs."""

    model_config = ConfigDict(extra="forbid")

    # A job's lease: a worker that dies (kill -9, lost machine) holds its jobs this long, then
    # another worker takes them. Longer than the slowest job (an SMPP submit waits response_timeout).
    lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    # Idle workers look for due jobs this often. On PostgreSQL they are woken by LISTEN/NOTIFY as
    # soon as a job is enqueued anywhere in the cluster; this poll is the fallback.
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    notify_poll_interval_seconds: float = Field(default=5.0, gt=0, le=300)


class MessagingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Off: the carrier's own throughput governs. "twilio": Twilio's per-number-type defaults
    # (long code 1 MPS, toll-free 3, short code 100), for realistic pacing in tests.
    throughput: Literal["off", "twilio"] = "off"
    sender_mps: dict[str, float] = Field(default_factory=dict)  # per-sender override, e.g. {"+15551234567" = 5}
    max_queue_per_sender: int = Field(default=100_000, ge=1)  # beyond it: 21611
    default_validity_period: int = Field(default=36_000, ge=1, le=36_000)
    price_per_segment: dict[str, str] = Field(default_factory=lambda: {"default": "0.0079"})
    price_unit: str = "USD"
    status_callback_attempts: int = Field(default=6, ge=1, le=50)
    media_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    dispatch_concurrency: int = Field(default=64, ge=1)
    webhook_concurrency: int = Field(default=64, ge=1)


class WebhookSettings(BaseModel):
    """``[webhooks]``: how Openline calls out to customer URLs (webhooks, callbacks, media)."""

    model_config = ConfigDict(extra="forbid")
    # Refuse private, loopback and link-local targets (after DNS and on every redirect hop).
    # Off by default so that local development with webhooks on 127.0.0.1 works.
    block_private_addresses: bool = False


class SandboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Off: destinations no route matches fail (30008), and numbers outside every carrier's
    # inventory cannot be bought (21422). On (default): the sandbox network takes them.
    enabled: bool = True
    delivery_delay_seconds: float = Field(default=0.05, ge=0)  # queued → delivered, on the sandbox clock
    clock: bool = False  # `--sandbox-clock`: POST /sandbox/v1/Clock moves Openline's time forward


class VoiceSettings(BaseModel):
    """``[voice]``: calls (Calls API, TwiML IVRs)."""

    model_config = ConfigDict(extra="forbid")

    # Outbound API calls each account may start per second (Twilio's default is 1 CPS); calls
    # over the rate wait in the account's queue (status queued) for their slot.
    calls_per_second: float = Field(default=1.0, gt=0, le=1000)
    tts_command: str = "espeak-ng"  # the text-to-speech engine <Say> runs (espeak-ng's command line)
    max_call_seconds: int = Field(default=14_400, ge=1)  # Twilio's TimeLimit default: 4 hours


class InterceptSettings(BaseModel):
    """``openline serve --intercept``: the HTTP proxy that lets unchanged apps reach Openline."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # Loopback only by default: the proxy answers as Twilio for anyone who can reach it.
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=0, le=65535)  # 0 picks a free port
    passthrough: bool = False  # other hosts become blind TCP tunnels instead of a 403


_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


class _ChannelBase(BaseModel):
    """What every chat channel table shares: where its API lives and who owns its sender."""

    model_config = ConfigDict(extra="forbid")

    api_base_url: str = ""  # the platform's API root; a fake provider in tests
    # The account whose sender this is, and where its inbound messages go (Messenger, Telegram,
    # LINE: senders that are not phone numbers have no SmsUrl). Default: the start-up account.
    account_sid: str | None = None
    webhook_url: str | None = None
    webhook_method: Literal["GET", "POST"] = "POST"

    @field_validator("api_base_url", "webhook_url", "data_api_base_url", check_fields=False)
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"AC[0-9a-f]{32}", value):
            raise ValueError("must be 'AC' followed by 32 lowercase hex digits")
        return value


class WhatsAppSettings(_ChannelBase):
    """``[channels.whatsapp]``: the WhatsApp Business Cloud API (Graph API)."""

    api_base_url: str = "https://graph.facebook.com"
    api_version: str = Field(default="v21.0", pattern=r"^v[0-9]+\.[0-9]+$")
    access_token: SecretStr | None = None  # absent: WhatsApp messages travel the sandbox
    app_secret: SecretStr | None = None  # X-Hub-Signature-256 of inbound webhooks
    verify_token: SecretStr | None = None  # the hub.verify_token of the subscription challenge
    # Each WhatsApp sender: its E.164 number (owned by an account here) = its Graph phone-number ID.
    numbers: dict[str, str] = Field(default_factory=dict)

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: dict[str, str]) -> dict[str, str]:
        for number, number_id in value.items():
            if not _E164.match(number):
                raise ValueError(f"{number!r} is not an E.164 number")
            if not number_id.isdigit():
                raise ValueError(f"the phone-number ID of {number} must be digits")
        return value

    @model_validator(mode="after")
    def _complete(self) -> WhatsAppSettings:
        if self.access_token is not None and (self.app_secret is None or not self.numbers):
            raise ValueError("access_token needs app_secret and at least one entry in numbers")
        return self


class MessengerSettings(_ChannelBase):
    """``[channels.messenger]``: the Messenger Platform Send API for one Facebook page."""

    api_base_url: str = "https://graph.facebook.com"
    api_version: str = Field(default="v21.0", pattern=r"^v[0-9]+\.[0-9]+$")
    page_id: str | None = Field(default=None, pattern=r"^[0-9]{1,32}$")
    page_access_token: SecretStr | None = None
    app_secret: SecretStr | None = None
    verify_token: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> MessengerSettings:
        if self.page_access_token is not None and (self.app_secret is None or self.page_id is None):
            raise ValueError("page_access_token needs page_id and app_secret")
        return self


class TelegramSettings(_ChannelBase):
    """``[channels.telegram]``: the Telegram Bot API for one bot."""

    api_base_url: str = "https://api.telegram.org"
    bot_token: SecretStr | None = None
    secret_token: SecretStr | None = None  # X-Telegram-Bot-Api-Secret-Token set with setWebhook

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]+", value.get_secret_value()):
            raise ValueError("must look like <bot id>:<secret>")
        return value

    @field_validator("secret_token")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's own rule for setWebhook secret_token: 1-256 of A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _complete(self) -> TelegramSettings:
        if self.bot_token is not None and self.secret_token is None:
            raise ValueError("bot_token needs secret_token (inbound webhooks are checked with it)")
        return self


class LineSettings(_ChannelBase):
    """``[channels.line]``: the LINE Messaging API for one channel (bot)."""

    api_base_url: str = "https://api.line.me"
    data_api_base_url: str = "https://api-data.line.me"  # where received media are downloaded
    bot_user_id: str | None = Field(default=None, pattern=r"^U[0-9a-f]{32}$")
    channel_access_token: SecretStr | None = None
    channel_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> LineSettings:
        if self.channel_access_token is not None and (self.channel_secret is None or self.bot_user_id is None):
            raise ValueError("channel_access_token needs channel_secret and bot_user_id")
        return self


class ChannelSettings(BaseModel):
    """``[channels]``: chat-app adapters. A channel without credentials travels the sandbox."""

    model_config = ConfigDict(extra="forbid")

    whatsapp: WhatsAppSettings = WhatsAppSettings()
    messenger: MessengerSettings = MessengerSettings()
    telegram: TelegramSettings = TelegramSettings()
    line: LineSettings = LineSettings()


_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


def _check_sender(value: str | None) -> str | None:
    if value is not None and not (_E164.match(value) or _MESSAGING_SERVICE_SID.match(value)):
        raise ValueError("must be an E.164 phone number (+15551234567) or a messaging service SID (MG…)")
    return value


class SendLimit(BaseModel):
    """At most ``max`` verifications in ``interval_seconds`` (0 blocks the destination altogether)."""

    model_config = ConfigDict(extra="forbid")

    max: int = Field(ge=0)
    interval_seconds: int = Field(ge=1, le=86_400)


class VerifyServiceSettings(BaseModel):
    """Overrides for one Verify service (keyed by its VA… SID); unset keys keep the global value."""

    model_config = ConfigDict(extra="forbid")

    code_lifetime_seconds: int | None = Field(default=None, ge=60, le=86_400)
    sender: str | None = None
    custom_message_enabled: bool | None = None

    @field_validator("sender")
    @classmethod
    def _sender_format(cls, value: str | None) -> str | None:
        return _check_sender(value)


class VerifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code_lifetime_seconds: int = Field(default=600, ge=60, le=86_400)  # Twilio's default is 10 minutes
    # Who sends the codes: a number or a messaging service SID of the account. Unset: any
    # SMS-capable number the account owns, else Twilio's magic test sender +15005550006.
    sender: str | None = None
    # Twilio's deprecated CustomMessage parameter is off unless enabled (Twilio enables it per account).
    custom_message_enabled: bool = False
    services: dict[str, VerifyServiceSettings] = Field(default_factory=dict)
    # SMS-pumping guard: per-account limits on verifications to an E.164 prefix ("+2327") or
    # to a country (ISO code, "SL"); beyond them a verification answers 60410.
    prefix_limits: dict[str, SendLimit] = Field(default_factory=dict)
    country_limits: dict[str, SendLimit] = Field(default_factory=dict)

    @field_validator("sender")
    @classmethod
    def _sender_format(cls, value: str | None) -> str | None:
        return _check_sender(value)

    @field_validator("services")
    @classmethod
    def _service_sids(cls, value: dict[str, VerifyServiceSettings]) -> dict[str, VerifyServiceSettings]:
        for sid in value:
            if not re.fullmatch(r"VA[0-9a-f]{32}", sid):
                raise ValueError(f"{sid!r} is not a Verify service SID (VA followed by 32 lowercase hex digits)")
        return value

    @field_validator("prefix_limits")
    @classmethod
    def _prefixes(cls, value: dict[str, SendLimit]) -> dict[str, SendLimit]:
        for prefix in value:
            if not re.fullmatch(r"\+[1-9][0-9]{0,14}", prefix):
                raise ValueError(f"{prefix!r} is not an E.164 prefix ('+' and 1 to 15 digits)")
        return value

    @field_validator("country_limits")
    @classmethod
    def _countries(cls, value: dict[str, SendLimit]) -> dict[str, SendLimit]:
        for country in value:
            if not re.fullmatch(r"[A-Z]{2}", country):
                raise ValueError(f"{country!r} is not an ISO 3166 country code (two capital letters)")
        return value

    def for_service(self, service_sid: str) -> VerifyServiceSettings:
        """The effective settings for one service, overrides applied."""
        own = self.services.get(service_sid)
        return VerifyServiceSettings(
            code_lifetime_seconds=(own.code_lifetime_seconds if own and own.code_lifetime_seconds is not None
                                   else self.code_lifetime_seconds),
            sender=own.sender if own and own.sender is not None else self.sender,
            custom_message_enabled=(own.custom_message_enabled if own and own.custom_message_enabled is not None
                                    else self.custom_message_enabled))


CARRIER_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SANDBOX_CARRIER = "sandbox"
SIP_USER_ORIGIN = "sip-user"  # the "carrier" of a [[sip.users]] number in the inventory (its origin)


class SmppCarrierSettings(BaseModel):
    """One SMPP v3.4 account at an aggregator or operator (``[[carriers]]`` with ``type = "smpp"``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=CARRIER_NAME)
    type: Literal["smpp"] = "smpp"
    host: str
    port: int = Field(default=2775, ge=1, le=65535)
    system_id: str = Field(max_length=15)  # SMPP 3.4 §4.1.1: C-Octet String of 16 with the NULL
    password: SecretStr = Field(default=SecretStr(""), max_length=8)  # §4.1.1: 9 octets with the NULL
    system_type: str = Field(default="", max_length=12)
    bind_mode: Literal["trx", "tx+rx"] = "trx"
    window: int = Field(default=10, ge=1, le=1000)  # submits awaiting their submit_sm_resp
    throughput: float | None = Field(default=None, gt=0)  # messages (PDUs) per second; None = unpaced
    source_ton: int = Field(default=1, ge=0, le=6)
    source_npi: int = Field(default=1, ge=0, le=18)
    dest_ton: int = Field(default=1, ge=0, le=6)
    dest_npi: int = Field(default=1, ge=0, le=18)
    alpha_ton: int = Field(default=5, ge=0, le=6)  # alphanumeric senders go out as TON 5
    alpha_npi: int = Field(default=0, ge=0, le=18)
    # GSM-7 text: SMSC default alphabet unpacked (most SMSCs), packed septets, or Latin-1/IA5.
    data_coding: Literal["gsm7", "gsm7-packed", "latin1", "ascii"] = "gsm7"
    long_message_mode: Literal["udh", "udh16", "sar", "message_payload"] = "udh"
    request_dlr: bool = True
    numbers: list[str] = Field(default_factory=list)  # inventory: AvailablePhoneNumbers offers these
    tls: bool = False
    tls_verify: bool = True
    enquire_link_interval: float = Field(default=30.0, gt=0)
    response_timeout: float = Field(default=10.0, gt=0)
    reconnect_min: float = Field(default=1.0, gt=0)
    reconnect_max: float = Field(default=60.0, gt=0)

    @field_validator("numbers")
    @classmethod
    def _numbers_e164(cls, value: list[str]) -> list[str]:
        for number in value:
            if not re.fullmatch(r"\+[1-9][0-9]{1,14}", number):
                raise ValueError(f"{number!r} is not an E.164 number (+ and digits)")
        return value


class RouteSettings(BaseModel):
    """``[[routes]]``: where messages and calls to matching destinations go, in failover order.

    ``carriers`` names SMPP carriers (messages), SIP trunks (calls) or "sandbox"; a route only
    takes part in routing the traffic its carriers can carry."""

    model_config = ConfigDict(extra="forbid")

    match: str = "+"  # destination prefix ("+", "+44", "+1415") or "country:GB"
    sender: str | None = None  # only for senders with this prefix (or this exact alphanumeric ID)
    carriers: list[str] = Field(min_length=1)
    priority: int = 0  # higher first; among equals, the longer prefix first
    weights: list[int] | None = None  # split traffic by weight instead of strict failover order

    @field_validator("match")
    @classmethod
    def _match_form(cls, value: str) -> str:
        if not re.fullmatch(r"\+[0-9]{0,15}|country:[A-Z]{2}", value):
            raise ValueError("must be a destination prefix like '+' or '+44', or 'country:GB'")
        return value

    @model_validator(mode="after")
    def _weights_fit(self) -> RouteSettings:
        if self.weights is not None and (len(self.weights) != len(self.carriers) or min(self.weights) < 0
                                         or sum(self.weights) == 0):
            raise ValueError("weights needs one non-negative weight per carrier, not all zero")
        return self


def _host_port(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6); the port may be left out when there is a default."""
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{value!r} is not host:port")
    if not port_text:
        if default_port is None:
            raise ValueError(f"{value!r} needs a port (host:port)")
        return host, default_port
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r} has a bad port")
    return host, int(port_text)


DigestAlgorithm = Literal["SHA-256", "MD5"]
SIP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._~!$&'()*+,;=-]{0,63}$"  # RFC 3261 user part, unescaped only


class SipTrunkSettings(BaseModel):
    """``[[sip.trunks]]``: a SIP provider (or PBX) that carries calls to and from the PSTN."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=CARRIER_NAME)
    proxy: str  # host:port where outbound INVITEs (and REGISTERs) go; port 5060 if left out
    transport: Literal["udp", "tcp"] = "udp"
    inbound_from: list[str] = Field(default_factory=list)  # IP addresses or networks (CIDR) that may call us
    numbers: list[str] = Field(default_factory=list)  # inventory: AvailablePhoneNumbers offers these
    username: str | None = None  # digest credentials, used when the provider challenges (401/407)
    password: SecretStr | None = None
    # `register`: keep a registration at the provider (REGISTER, refreshed before expiry); the
    # Python name differs only because BaseModel has a `register` attribute
    registers: bool = Field(default=False, alias="register")
    expires: int = Field(default=3600, ge=60, le=86_400)  # requested registration lifetime, seconds
    domain: str | None = None  # host part of From/To/Request-URI; default: the proxy's host

    @field_validator("proxy")
    @classmethod
    def _proxy_form(cls, value: str) -> str:
        _host_port(value, 5060)
        return value

    @field_validator("inbound_from")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        for source in value:
            try:
                ipaddress.ip_network(source, strict=False)
            except ValueError:
                raise ValueError(f"{source!r} is not an IP address or network (CIDR)") from None
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers_e164(cls, value: list[str]) -> list[str]:
        for number in value:
            if not _E164.match(number):
                raise ValueError(f"{number!r} is not an E.164 number (+ and digits)")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> SipTrunkSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.registers and self.username is None:
            raise ValueError("register = true needs username and password")
        return self

    @property
    def proxy_address(self) -> tuple[str, int]:
        return _host_port(self.proxy, 5060)

    def allows(self, source_ip: str) -> bool:
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in self.inbound_from)


class SipUserSettings(BaseModel):
    """``[[sip.users]]``: a softphone or desk phone that registers to Openline and is an Openline number."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=SIP_NAME)
    password: SecretStr = Field(min_length=1)
    number: str  # E.164: calls to it ring the registered device; its own calls come from it

    @field_validator("number")
    @classmethod
    def _number_e164(cls, value: str) -> str:
        if not _E164.match(value):
            raise ValueError(f"{value!r} is not an E.164 number (+ and digits)")
        return value


class SipSettings(BaseModel):
    """``[sip]``: the SIP user agent (UDP and TCP on ``listen``), its trunks and users."""

    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:5060"
    rtp_ports: str = "20000-20999"  # even ports are RTP (RFC 3550 §11), one per call leg
    # The address put into Contact and SDP c= when ``listen`` is not what peers can reach (NAT,
    # 0.0.0.0); default: the listen host.
    advertised_address: str | None = None
    realm: str = "openline"  # digest realm of the registrar and of calls from SIP users
    # Challenges offered to SIP users, one per algorithm in this order (RFC 8760). MD5 only by
    # default: common softphones (baresip 1.0, many desk phones) give up on any SHA-256 challenge.
    digest_algorithms: list[DigestAlgorithm] = Field(default_factory=lambda: list[DigestAlgorithm](["MD5"]),
                                                     min_length=1)
    min_expires: int = Field(default=60, ge=1, le=3600)  # shorter registrations get 423 (RFC 3261 §10.3)
    max_expires: int = Field(default=3600, ge=60, le=86_400)  # longer ones are cut down to this
    trunks: list[SipTrunkSettings] = Field(default_factory=list)
    users: list[SipUserSettings] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _listen_form(cls, value: str) -> str:
        _host_port(value, 5060)
        return value

    @field_validator("rtp_ports")
    @classmethod
    def _rtp_range(cls, value: str) -> str:
        match = re.fullmatch(r"([0-9]{1,5})-([0-9]{1,5})", value.strip())
        if not match or not 1024 <= int(match[1]) < int(match[2]) <= 65535:
            raise ValueError("must be 'LOW-HIGH' with 1024 <= LOW < HIGH <= 65535")
        return value

    @field_validator("advertised_address")
    @classmethod
    def _advertised(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _unique(self) -> SipSettings:
        names = [t.name for t in self.trunks]
        if len(set(names)) != len(names):
            raise ValueError("sip trunk names must be unique")
        if SANDBOX_CARRIER in names:
            raise ValueError("trunk name 'sandbox' is reserved for the sandbox network")
        users = [u.username for u in self.users]
        if len(set(users)) != len(users):
            raise ValueError("sip user names must be unique")
        seen: dict[str, str] = {}
        for trunk in self.trunks:
            for number in trunk.numbers:
                if number in seen:
                    raise ValueError(f"{number} is in the inventory of both {seen[number]} and {trunk.name}")
                seen[number] = f"trunk {trunk.name}"
        for user in self.users:
            if user.number in seen:
                raise ValueError(f"sip user {user.username}'s number {user.number} is also {seen[user.number]}'s")
            seen[user.number] = f"user {user.username}"
        if self.min_expires > self.max_expires:
            raise ValueError("min_expires must not exceed max_expires")
        return self

    @property
    def listen_address(self) -> tuple[str, int]:
        return _host_port(self.listen, 5060)

    @property
    def rtp_range(self) -> tuple[int, int]:
        low, _, high = self.rtp_ports.strip().partition("-")
        return int(low), int(high)

    @property
    def contact_host(self) -> str:
        host = self.advertised_address or self.listen_address[0]
        return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host

    def trunk(self, name: str) -> SipTrunkSettings | None:
        return next((t for t in self.trunks if t.name == name), None)


class EmailRelaySettings(BaseModel):
    """``[email.relay]``: a smarthost that takes all outgoing mail (instead of MX delivery)."""

    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    # "starttls": upgrade when the server offers it (required if credentials are set); "tls":
    # implicit TLS from the first byte (port 465); "none": plain text (loopback sinks only).
    tls: Literal["starttls", "tls", "none"] = "starttls"
    tls_verify: bool = True


class EmailInboundSettings(BaseModel):
    """``[email.inbound]``: the SMTP listener that feeds the inbound parse webhook."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)
    max_message_bytes: int = Field(default=30 * 1024 * 1024, ge=1024)  # SendGrid's parse limit is 30 MB
    tls_cert_file: Path | None = None  # both set: STARTTLS is offered
    tls_key_file: Path | None = None


class EmailSettings(BaseModel):
    """``[email]``: outgoing delivery. No relay and no resolver: mail lands in sandbox mailboxes."""

    model_config = ConfigDict(extra="forbid")

    relay: EmailRelaySettings | None = None
    # A nameserver ("127.0.0.1" or "127.0.0.1:5353") for MX lookups, or "system" for the host's
    # own resolver: set, mail goes straight to each recipient domain's MX hosts (unless a relay is set).
    resolver: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)  # the port MX hosts are reached on
    # Sending domains: when set, `from` must be an address at one of them (or a subdomain).
    domains: list[str] = Field(default_factory=list)
    helo_name: str | None = None  # EHLO name; default: the host name
    verify_from: str = "verify@openline.localhost"  # sender of Verify's channel=email codes
    max_recipients_per_request: int = Field(default=1000, ge=1, le=1000)
    delivery_concurrency: int = Field(default=16, ge=1)
    connections_per_domain: int = Field(default=8, ge=1, le=100)  # per MX host (or the relay)
    delivery_attempts: int = Field(default=8, ge=1, le=50)  # 4xx answers retried, then bounced
    retry_base_seconds: float = Field(default=30.0, gt=0)
    event_batch_max: int = Field(default=1000, ge=1)
    inbound: EmailInboundSettings = EmailInboundSettings()

    @field_validator("resolver")
    @classmethod
    def _resolver_form(cls, value: str | None) -> str | None:
        if value is not None and value != "system" and not re.fullmatch(r"\[?[0-9a-fA-F.:]+\]?(:[0-9]{1,5})?", value):
            raise ValueError("must be 'system' or a nameserver IP address, optionally with :port")
        return value

    @field_validator("domains")
    @classmethod
    def _domain_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", name.lower()):
                raise ValueError(f"{name!r} is not a domain name")
        return [name.lower() for name in value]

    @property
    def sandboxed(self) -> bool:
        return self.relay is None and self.resolver is None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("./openline-data")
    database_url: str | None = None
    public_url: str | None = None
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    secret_key: SecretStr | None = None
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    # `serve --role`: "api" answers HTTP only; "worker" runs the job pools and carrier binds (with
    # /health and /metrics on its port); "all" does both in one process (the embedded default).
    role: Literal["api", "worker", "all"] = "all"
    database: DatabaseSettings = DatabaseSettings()
    workers: WorkerSettings = WorkerSettings()
    api: ApiSettings = ApiSettings()
    messaging: MessagingSettings = MessagingSettings()
    sandbox: SandboxSettings = SandboxSettings()
    webhooks: WebhookSettings = WebhookSettings()
    carriers: list[SmppCarrierSettings] = Field(default_factory=list)
    routes: list[RouteSettings] = Field(default_factory=list)
    verify: VerifySettings = VerifySettings()
    email: EmailSettings = EmailSettings()
    intercept: InterceptSettings = InterceptSettings()
    channels: ChannelSettings = ChannelSettings()
    sip: SipSettings | None = None  # `[sip]`: voice over SIP trunks and registered SIP users
    voice: VoiceSettings = VoiceSettings()

    @field_validator("account_sid")
    @classmethod
    def _account_sid_format(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
            raise ValueError("must be 'AC' followed by 32 hex digits")
        return "AC" + value[2:].lower() if value else value

    @field_validator("auth_token")
    @classmethod
    def _auth_token_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", value.get_secret_value()):
            raise ValueError("must be 32 hex digits")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_format(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _carriers_and_routes_agree(self) -> Settings:
        names = [c.name for c in self.carriers]
        if SANDBOX_CARRIER in names:
            raise ValueError("carrier name 'sandbox' is reserved for the sandbox network")
        if len(set(names)) != len(names):
            raise ValueError("carrier names must be unique")
        seen: dict[str, str] = {}
        for carrier in self.carriers:
            for number in carrier.numbers:
                if number in seen:
                    raise ValueError(f"{number} is in the inventory of both {seen[number]} and {carrier.name}")
                seen[number] = carrier.name
        trunks = [t.name for t in self.sip.trunks] if self.sip is not None else []
        for trunk in trunks:
            if trunk in names:
                raise ValueError(f"{trunk!r} names both an SMPP carrier and a SIP trunk")
        for index, route in enumerate(self.routes):
            for name in route.carriers:
                if name != SANDBOX_CARRIER and name not in names and name not in trunks:
                    raise ValueError(f"routes[{index}] names carrier {name!r}, which is not configured "
                                     "(neither an SMPP carrier nor a SIP trunk)")
        return self

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> Settings:
        if (self.account_sid is None) != (self.auth_token is None):
            raise ValueError("account_sid and auth_token (OPENLINE_ACCOUNT_SID, OPENLINE_AUTH_TOKEN) go together")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'openline.db').resolve()}"

    @property
    def base_url(self) -> str:
        """Where clients reach this server, for links Openline hands out."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def intercept_client_host(self) -> str:
        """Where apps on this machine reach the intercept proxy (``openline env``)."""
        return "127.0.0.1" if self.intercept.host in ("0.0.0.0", "::", "") else self.intercept.host


def _env_name(loc: tuple[Any, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are command-line values (None means not given)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file not found: {config_file}")

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if config_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
            return tuple(sources)

    try:
        return _FromFile(**given)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(part) for part in loc) or "settings"
            where = f"{key} ({_env_name(loc)})" if loc else key
            lines.append(f"{where}: {error['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError(f"invalid config file {config_file}: {exc}") from None
