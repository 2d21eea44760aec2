"""Verify v2: services, one-time codes over SMS, checks, and every limit that makes them safe.

A verification, its send attempt, its counters and the SMS that carries the code (with its
dispatch job) commit in one transaction, so an answered 201 means the code is on its way and
counted. Limits are counted in the database under a per-scope row lock (see
``RateCounterRepository``): they hold across restarts and across API processes.

Which limit answers what (Twilio's codes):
* 60202 (429): the sixth check of a verification; it becomes ``max_attempts_reached``, and no
  new code goes to that destination until it expires.
* 60203 (429): the sixth send to one destination of a service within ten minutes (sends of
  approved or canceled verifications do not count, as on Twilio); or a service RateLimit bucket
  (``RateLimits`` on create) that is full.
* 60410 (429): Openline's SMS-pumping guard, ``[verify] prefix_limits`` / ``country_limits``.
* 60205 (403): ``SkipSmsToLandlines`` and the destination is a landline.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openline.config import SendLimit, VerifyServiceSettings, VerifySettings
from openline.core import magic_numbers
from openline.core.clock import Clock
from openline.core.email import normalize_email, valid_email
from openline.core.entities import Account, AccountStatus
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.core.verify import (
    DEFAULT_CODE_LENGTH,
    MAX_CHECK_ATTEMPTS,
    MAX_CODE_LENGTH,
    MAX_SENDS,
    MIN_CODE_LENGTH,
    SEND_WINDOW,
    SUPPORTED_CHANNELS,
    Channel,
    CodeKeys,
    SendAttempt,
    Verification,
    VerificationStatus,
    VerifyService,
    code_from_seed,
    code_hash,
    code_matches,
    friendly_name_problem,
    is_valid_code_length,
    is_valid_custom_code,
    new_seed,
)
from openline.services import verify_templates
from openline.services.accounts import not_found
from openline.services.email import MailService
from openline.services.lookup import LineType, LookupService
from openline.services.messaging import MAX_BODY_CHARS, MessagingService, SendRequest
from openline.services.queue import Wakeup
from openline.services.verify_rate_limits import MAX_BUCKET_INTERVAL, RateLimitAdmin, invalid, service_in_account
from openline.services.voice import CreateCall, VoiceService
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.verify import VerifyRepositories

COUNTER_MEMORY = timedelta(seconds=MAX_BUCKET_INTERVAL)  # the longest window any limit counts over
MAX_RATE_LIMIT_VALUE = 128  # a key value (an IP address, a session id…) in RateLimits
MAX_APP_HASH = 64
SENDER_SCAN = 50  # numbers looked at when picking the account's own SMS sender
SERVICE_DEFAULTS: dict[str, Any] = {
    "code_length": DEFAULT_CODE_LENGTH, "lookup_enabled": False, "skip_sms_to_landlines": False,
    "dtmf_input_required": True, "tts_name": None, "psd2_enabled": False, "do_not_share_warning_enabled": False,
    "custom_code_enabled": False, "default_template_sid": None, "verify_event_subscription_enabled": False,
}
SERVICE_SETTABLE = frozenset(SERVICE_DEFAULTS) | {"friendly_name"}
_NOT_NULL = frozenset(name for name, value in SERVICE_DEFAULTS.items() if value is not None) | {"friendly_name"}
_OPEN = (VerificationStatus.PENDING, VerificationStatus.MAX_ATTEMPTS_REACHED)


@dataclass(frozen=True, slots=True)
class StartRequest:
    to: str | None
    channel: str | None
    locale: str | None = None
    custom_friendly_name: str | None = None
    custom_message: str | None = None
    custom_code: str | None = None
    app_hash: str | None = None
    rate_limits: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckRequest:
    code: str | None
    to: str | None = None
    verification_sid: str | None = None


@dataclass(frozen=True, slots=True)
class VerificationView:
    """A verification as the API shows it at one moment: its status then, and its sends."""

    verification: Verification
    status: VerificationStatus
    attempts: tuple[SendAttempt, ...] = ()


@dataclass(frozen=True, slots=True)
class _Limit:
    scope: str
    max: int
    window: timedelta
    code: int
    message: str


def _check_service_values(values: Mapping[str, Any], creating: bool) -> None:
    unknown = set(values) - SERVICE_SETTABLE
    if unknown:
        raise ValueError(f"not service settings: {sorted(unknown)}")  # a programming error, not input
    for name in sorted(_NOT_NULL & set(values)):
        if values[name] is None:
            raise invalid(f"{name} may not be cleared")
    if creating and "friendly_name" not in values:
        raise invalid("Missing required parameter FriendlyName in the post body")
    if "friendly_name" in values:
        problem = friendly_name_problem(values["friendly_name"])
        if problem:
            raise invalid(problem)
    if "code_length" in values and not is_valid_code_length(values["code_length"]):
        raise invalid(f"CodeLength must be an integer from {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH}")


def _check_active(account: Account) -> None:
    if account.status is not AccountStatus.ACTIVE:
        raise TwilioError(20005)


class Verifier:
    """The Verify v2 use cases, for one Openline installation."""

    def __init__(
        self, db: Database, clock: Clock, settings: VerifySettings, messaging: MessagingService, wakeup: Wakeup,
        lookup: LookupService, code_key: bytes, repositories: VerifyRepositories,
        numbers: IncomingPhoneNumberRepository, mail: MailService | None = None, mail_from: str = "",
        voice: VoiceService | None = None,
    ) -> None:
        self._voice = voice  # the call channel's dialer; None: channel=call is refused
        self._mail = mail  # the email channel's sender; None: channel=email is refused
        self._mail_from = mail_from
        self._db = db
        self._clock = clock
        self._settings = settings
        self._messaging = messaging
        self._wakeup = wakeup
        self._lookup = lookup
        self._keys = CodeKeys.from_key(code_key)
        self._repos = repositories
        self._numbers = numbers
        self.rate_limits = RateLimitAdmin(db, clock, repositories)

    # --- services ---------------------------------------------------------------------------

    async def create_service(self, account: Account, values: Mapping[str, Any]) -> VerifyService:
        _check_active(account)
        _check_service_values(values, creating=True)
        now = self._clock.now()
        service = VerifyService(sid=new_sid(SidPrefix.VERIFY_SERVICE), account_sid=account.sid,
                                date_created=now, date_updated=now, **{**SERVICE_DEFAULTS, **values})
        async with self._db.transaction() as conn:
            await self._repos.services.insert(conn, service)
        return service

    async def list_services(self, account: Account, size: int, cursor: Cursor) -> Page[VerifyService]:
        async with self._db.read() as conn:
            return await self._repos.services.page_for(conn, account.sid, size, cursor)

    async def get_service(self, account: Account, sid: str) -> VerifyService:
        async with self._db.read() as conn:
            return await self._service(conn, account, sid)

    async def update_service(self, account: Account, sid: str, values: Mapping[str, Any]) -> VerifyService:
        _check_service_values(values, creating=False)
        async with self._db.transaction() as conn:
            await self._service(conn, account, sid)
            updated = await self._repos.services.update(conn, sid, {**values, "date_updated": self._clock.now()})
        assert updated is not None
        return updated

    async def delete_service(self, account: Account, sid: str) -> None:
        async with self._db.transaction() as conn:
            if await self._repos.services.get_for_update(conn, sid, account.sid) is None:
                raise not_found()
            await self._repos.services.delete_with_children(conn, sid)

    # --- verifications ----------------------------------------------------------------------

    async def start(self, account: Account, service_sid: str, request: StartRequest) -> VerificationView:
        """Send a code to ``request.to``: a new verification, or the same code again if one is live."""
        channel, to = self._check_start(request)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            service = await self._service(conn, account, service_sid)
            own = self._settings.for_service(service.sid)
            if request.custom_code is not None:
                if not service.custom_code_enabled:
                    raise TwilioError(60204, "CustomCode needs CustomCodeEnabled on the service")
                if not is_valid_custom_code(request.custom_code):
                    raise invalid("CustomCode must be 4 to 10 letters or digits")
            if request.custom_message is not None and not own.custom_message_enabled:
                raise TwilioError(60204, "CustomMessage is not enabled for this service ([verify] "
                                         "custom_message_enabled)")
            line = self._line_type(service, to) if channel is not Channel.EMAIL else None
            if service.skip_sms_to_landlines and channel is Channel.SMS and line is not None \
                    and line.type == "landline":
                raise TwilioError(60205, f"{to} is a landline, and this service skips SMS to landlines")

            limits = [*self._pumping_limits(account, to), *await self._bucket_limits(conn, service, request)]
            send_scope = f"send:{service.sid}:{to}"
            await self._repos.counters.lock(conn, [send_scope, *(limit.scope for limit in limits)])
            live = await self._live(conn, service.sid, to, now)
            if live is not None and live.status is VerificationStatus.MAX_ATTEMPTS_REACHED:
                raise TwilioError(60202, "Max check attempts reached for the verification to this destination; "
                                         "start a new one once it expires")
            if await self._repos.attempts.open_sends_since(conn, service.sid, to, now - SEND_WINDOW) >= MAX_SENDS:
                raise TwilioError(60203, f"Max send attempts reached: {MAX_SENDS} codes were sent to this "
                                         f"destination in the last {int(SEND_WINDOW.total_seconds() // 60)} minutes")
            for limit in limits:
                if await self._repos.counters.count_since(conn, limit.scope, now - limit.window) >= limit.max:
                    raise TwilioError(limit.code, limit.message)

            verification, code = await self._code_for(conn, service, live, request, to, channel, line, now, own)
            name = request.custom_friendly_name or service.friendly_name
            if request.custom_message is not None:
                body = verify_templates.render_custom(request.custom_message, code)
            else:
                parsed = parse_e164(to)
                language = verify_templates.language_for(request.locale, parsed.iso_country if parsed else None)
                body = verify_templates.render(language, name, code, service.do_not_share_warning_enabled,
                                               request.app_hash)
            if channel is Channel.EMAIL:
                sent_id = await self._send_email(conn, account, to, name, code, request, service)
            elif channel is Channel.CALL:
                sent_id = await self._call(conn, account, to, name, code, request, own.sender)
            else:
                from_, messaging_service = await self._sender(conn, account, own.sender)
                sent_id = (await self._messaging.accept(conn, account, SendRequest(
                    to=to, from_=from_, messaging_service_sid=messaging_service, body=body, concealed=True))).sid
            await self._repos.attempts.insert(conn, SendAttempt(
                sid=new_sid(SidPrefix.VERIFICATION_ATTEMPT), verification_sid=verification.sid,
                service_sid=service.sid, account_sid=account.sid, channel=channel.value, message_sid=sent_id,
                date_created=now))
            # One event per scope, however many buckets count it over their own windows.
            await self._repos.counters.record(conn, sorted({limit.scope for limit in limits}), now,
                                              now - COUNTER_MEMORY)
            attempts = await self._repos.attempts.for_verification(conn, verification.sid)
        self._wakeup.notify()
        return VerificationView(verification, verification.status_at(now), tuple(attempts))

    async def _call(self, conn: Conn, account: Account, to: str, name: str, code: str, request: StartRequest,
                    configured: str | None) -> str:
        """The code spoken on a call (digits one by one, said three times), in the verification's transaction."""
        if self._voice is None:
            raise invalid("Invalid parameter Channel: calls are not available on this Openline")
        parsed = parse_e164(to)
        language = verify_templates.language_for(request.locale, parsed.iso_country if parsed else None)
        twiml = verify_templates.spoken_twiml(language, name, code)
        from_ = await self._caller_id(conn, account, configured)
        call = await self._voice.accept(conn, account, CreateCall(to=to, from_=from_, twiml=twiml))
        return call.sid

    async def _caller_id(self, conn: Conn, account: Account, configured: str | None) -> str:
        """[verify] sender when it is a number, else the account's first voice-capable number."""
        if configured and not configured.startswith("MG"):
            return configured
        page = await self._numbers.page_for(conn, account.sid, SENDER_SCAN, Cursor())
        for number in page.items:
            if number.voice_capable:
                return number.phone_number
        return magic_numbers.VALID_FROM

    async def _send_email(self, conn: Conn, account: Account, to: str, name: str, code: str,
                          request: StartRequest, service: VerifyService) -> str:
        """The code by email, in the same transaction as the verification (localized like SMS)."""
        assert self._mail is not None
        language = verify_templates.language_for(request.locale, None)
        if request.custom_message is not None:
            text = verify_templates.render_custom(request.custom_message, code)
        else:
            text = verify_templates.render(language, name, code, service.do_not_share_warning_enabled)
        subject = verify_templates.render(language, name, code, False).replace(code, "").rstrip(" :：").strip()
        html_text = html.escape(text).replace("\n", "<br>")
        return await self._mail.send_in(conn, account.sid, {
            "personalizations": [{"to": [{"email": to}]}], "from": {"email": self._mail_from, "name": name},
            "subject": subject or name, "content": [{"type": "text/plain", "value": text},
                                                    {"type": "text/html", "value": f"<p>{html_text}</p>"}],
            "mail_settings": {"bypass_list_management": {"enable": True}}})

    def _check_start(self, request: StartRequest) -> tuple[Channel, str]:
        if not request.to:
            raise invalid("Missing required parameter To in the post body")
        if not request.channel:
            raise invalid("Missing required parameter Channel in the post body")
        try:
            channel = Channel(request.channel)
        except ValueError:
            raise invalid(f"Invalid parameter Channel: {request.channel!r} is not a Verify channel "
                          f"(sms, call, email, whatsapp, sna)") from None
        if channel not in SUPPORTED_CHANNELS:
            raise invalid(f"Invalid parameter Channel: Openline does not send '{channel.value}' verifications yet")
        if channel is Channel.EMAIL:
            if self._mail is None or not valid_email(request.to.strip()):
                raise invalid("Invalid parameter To: it must be an email address for the email channel")
            self._check_start_options(request)
            return channel, normalize_email(request.to)
        parsed = parse_e164(request.to)
        if parsed is None:
            raise invalid("Invalid parameter To: it must be a phone number in E.164 format")
        self._check_start_options(request)
        return channel, parsed.e164

    def _check_start_options(self, request: StartRequest) -> None:
        if request.locale is not None and not verify_templates.is_valid_locale(request.locale):
            raise invalid("Invalid parameter Locale")
        if request.custom_friendly_name is not None:
            problem = friendly_name_problem(request.custom_friendly_name)
            if problem:
                raise invalid(problem.replace("FriendlyName", "CustomFriendlyName"))
        if request.custom_message is not None and (
                "{{code}}" not in request.custom_message or len(request.custom_message) > MAX_BODY_CHARS):
            raise invalid("CustomMessage must contain {{code}} and be at most 1600 characters")
        if request.app_hash is not None and (not request.app_hash or len(request.app_hash) > MAX_APP_HASH
                                             or not request.app_hash.isprintable()):
            raise invalid("Invalid parameter AppHash")

    def _line_type(self, service: VerifyService, to: str) -> LineType | None:
        if not (service.lookup_enabled or service.skip_sms_to_landlines):
            return None
        return self._lookup.line_type(to) or LineType("unknown", None)

    def _pumping_limits(self, account: Account, to: str) -> list[_Limit]:
        """The SMS-pumping guard: configured limits on verifications per prefix and per country."""
        def limit(kind: str, key: str, rule: SendLimit) -> _Limit:
            return _Limit(f"{kind}:{account.sid}:{key}", rule.max, timedelta(seconds=rule.interval_seconds), 60410,
                          f"Verification delivery attempt blocked: at most {rule.max} verifications to "
                          f"{kind} {key} every {rule.interval_seconds} seconds (SMS pumping guard)")

        limits = [limit("prefix", prefix, rule) for prefix, rule in sorted(self._settings.prefix_limits.items())
                  if to.startswith(prefix)]
        parsed = parse_e164(to)
        rule = self._settings.country_limits.get(parsed.iso_country) if parsed else None
        if parsed is not None and rule is not None:
            limits.append(limit("country", parsed.iso_country, rule))
        return limits

    async def _bucket_limits(self, conn: Conn, service: VerifyService, request: StartRequest) -> list[_Limit]:
        """The service's programmable rate limits named in the request's RateLimits."""
        if not request.rate_limits:
            return []
        named = await self._repos.rate_limits.by_names(conn, service.sid, list(request.rate_limits))
        missing = sorted(set(request.rate_limits) - set(named))
        if missing:
            raise invalid(f"RateLimits names rate limits this service does not have: {', '.join(missing)}")
        by_sid = {item.sid: item for item in named.values()}
        limits = []
        for bucket in await self._repos.buckets.for_rate_limits(conn, list(by_sid)):
            rate_limit = by_sid[bucket.rate_limit_sid]
            value = request.rate_limits[rate_limit.unique_name]
            limits.append(_Limit(
                f"rl:{rate_limit.sid}:{value}", bucket.max_requests, timedelta(seconds=bucket.interval_seconds),
                60203, f"Max send attempts reached for rate limit {rate_limit.unique_name}: at most "
                       f"{bucket.max_requests} in {bucket.interval_seconds} seconds"))
        return limits

    async def _live(self, conn: Conn, service_sid: str, to: str, now: datetime) -> Verification | None:
        latest = await self._repos.verifications.latest_for(conn, service_sid, to, _OPEN)
        return latest if latest is not None and latest.is_live(now) else None

    async def _code_for(
        self, conn: Conn, service: VerifyService, live: Verification | None, request: StartRequest, to: str,
        channel: Channel, line: LineType | None, now: datetime, own: VerifyServiceSettings,
    ) -> tuple[Verification, str]:
        """The verification the code goes out for, and the code: a live one's own code again, or a new one."""
        repo = self._repos.verifications
        if live is not None:
            changes: dict[str, Any] = {"channel": channel.value, "locale": request.locale, "date_updated": now}
            if request.custom_code is not None:
                code = request.custom_code
                changes.update(code_seed=None, code_length=len(code), code_hash=code_hash(self._keys, live.sid, code))
            elif live.code_seed is None:
                raise invalid("CustomCode is required to send again a verification that was started with one")
            else:
                code = code_from_seed(self._keys, live.code_seed, live.code_length)
            await repo.change(conn, live.sid, changes)
            return dataclasses.replace(live, **changes), code
        sid = new_sid(SidPrefix.VERIFICATION)
        seed: str | None
        if request.custom_code is not None:
            seed, code = None, request.custom_code
        else:
            seed = new_seed()
            code = code_from_seed(self._keys, seed, service.code_length)
        lifetime = timedelta(seconds=own.code_lifetime_seconds or self._settings.code_lifetime_seconds)
        verification = Verification(
            sid=sid, service_sid=service.sid, account_sid=service.account_sid, to_addr=to, channel=channel.value,
            status=VerificationStatus.PENDING, code_hash=code_hash(self._keys, sid, code), code_seed=seed,
            code_length=len(code), locale=request.locale,
            carrier_type=line.type if line is not None and service.lookup_enabled else None,
            carrier_name=line.carrier_name if line is not None and service.lookup_enabled else None,
            check_attempts=0, expires_at=now + lifetime, date_created=now, date_updated=now)
        await repo.insert(conn, verification)
        return verification, code

    async def _sender(self, conn: Conn, account: Account, configured: str | None) -> tuple[str | None, str | None]:
        """(From, MessagingServiceSid) for the code's SMS."""
        if configured:
            return (None, configured) if configured.startswith("MG") else (configured, None)
        page = await self._numbers.page_for(conn, account.sid, SENDER_SCAN, Cursor())
        for number in page.items:
            if number.sms_capable:
                return number.phone_number, None
        return magic_numbers.VALID_FROM, None

    async def get_verification(self, account: Account, service_sid: str, sid: str) -> VerificationView:
        async with self._db.read() as conn:
            verification = await self._verification(conn, account, service_sid, sid)
            attempts = await self._repos.attempts.for_verification(conn, sid)
        return VerificationView(verification, verification.status_at(self._clock.now()), tuple(attempts))

    async def update_verification(self, account: Account, service_sid: str, sid: str,
                                  status: str | None) -> VerificationView:
        """Status=canceled (from pending or max_attempts_reached) or approved (from pending)."""
        if status not in (VerificationStatus.APPROVED.value, VerificationStatus.CANCELED.value):
            raise invalid("Status must be approved or canceled")
        target = VerificationStatus(status)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            verification = await self._verification(conn, account, service_sid, sid)
            sources = _OPEN if target is VerificationStatus.CANCELED else (VerificationStatus.PENDING,)
            current = verification.status_at(now)
            if current not in sources or not verification.is_live(now) or not await self._repos.verifications.move(
                    conn, sid, current, target, now):
                raise not_found(f"The verification {sid} is {current.value}; it can no longer be updated")
            attempts = await self._repos.attempts.for_verification(conn, sid)
        updated = dataclasses.replace(verification, status=target, date_updated=now)
        return VerificationView(updated, target, tuple(attempts))

    async def check(self, account: Account, service_sid: str, request: CheckRequest) -> VerificationView:
        """One guess at the code. Wrong: 200 pending (counted). Right: approved. Sixth: 60202."""
        if not request.code:
            raise invalid("Missing required parameter Code in the post body")
        if not MIN_CODE_LENGTH <= len(request.code) <= MAX_CODE_LENGTH:
            raise invalid(f"Code must be {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} characters")
        to: str | None = None
        if not request.verification_sid and request.to and "@" in request.to:
            to = normalize_email(request.to)  # an email verification is checked by its address
        elif not request.verification_sid:
            parsed = parse_e164(request.to) if request.to else None
            if request.to and parsed is None:
                raise invalid("Invalid parameter To: it must be a phone number in E.164 format")
            if parsed is None:
                raise invalid("Either To or VerificationSid must be given")
            to = parsed.e164
        now = self._clock.now()
        repo = self._repos.verifications
        spent = False
        async with self._db.transaction() as conn:
            service = await self._service(conn, account, service_sid)
            if request.verification_sid:
                found = await repo.in_service(conn, service.sid, request.verification_sid)
            else:
                assert to is not None
                found = await repo.latest_for(conn, service.sid, to, _OPEN)
            if found is None:
                raise not_found("No pending verification was found for this request")
            if not await repo.take_check_attempt(conn, found.sid, now, MAX_CHECK_ATTEMPTS):
                # No attempt left, or no longer pending: the sixth check ends the verification.
                current = await repo.get(conn, found.sid)
                assert current is not None
                status = current.status_at(now)
                if status is VerificationStatus.PENDING and current.check_attempts >= MAX_CHECK_ATTEMPTS:
                    spent = await repo.move(conn, current.sid, VerificationStatus.PENDING,
                                            VerificationStatus.MAX_ATTEMPTS_REACHED, now)
                    if not spent:
                        # a concurrent check closed it between our read and our move: read it again
                        current = await repo.get(conn, found.sid)
                        assert current is not None
                        status = current.status_at(now)
                if not spent and status is VerificationStatus.MAX_ATTEMPTS_REACHED and current.is_live(now):
                    raise TwilioError(60202, f"Max check attempts ({MAX_CHECK_ATTEMPTS}) reached for this "
                                             "verification")
                if not spent:
                    raise not_found(f"The verification is {status.value}: it can no longer be checked")
                result = dataclasses.replace(current, status=VerificationStatus.MAX_ATTEMPTS_REACHED)
            elif code_matches(self._keys, found.sid, request.code, found.code_hash):
                await repo.move(conn, found.sid, VerificationStatus.PENDING, VerificationStatus.APPROVED, now)
                result = dataclasses.replace(found, status=VerificationStatus.APPROVED,
                                             check_attempts=found.check_attempts + 1, date_updated=now)
            else:
                result = dataclasses.replace(found, check_attempts=found.check_attempts + 1, date_updated=now)
        if spent:  # committed first: the verification stays ended after this answer
            raise TwilioError(60202, f"Max check attempts ({MAX_CHECK_ATTEMPTS}) reached for this verification")
        return VerificationView(result, result.status_at(now))

    # --- lookups scoped to the caller's account ------------------------------------------------

    async def _service(self, conn: Conn, account: Account, sid: str) -> VerifyService:
        return await service_in_account(conn, self._repos, account, sid)

    async def _verification(self, conn: Conn, account: Account, service_sid: str, sid: str) -> Verification:
        service = await self._service(conn, account, service_sid)
        found = await self._repos.verifications.in_service(conn, service.sid, sid) \
            if is_sid(sid, SidPrefix.VERIFICATION) else None
        if found is None:
            raise not_found(f"The requested resource {sid} was not found")
        return found



def parse_rate_limits(raw: str) -> dict[str, str]:
    """The RateLimits parameter: a JSON object of {UniqueName: key value} (the SDK sends a dict as JSON)."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise invalid("RateLimits must be a JSON object") from None
    if not isinstance(value, dict):
        raise invalid("RateLimits must be a JSON object")
    out: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item):
            raise invalid(f"RateLimits.{name} must be a string or a number")
        text = str(item)
        if len(text) > MAX_RATE_LIMIT_VALUE:
            raise invalid(f"RateLimits.{name} must be at most {MAX_RATE_LIMIT_VALUE} characters")
        out[str(name)] = text
    return out
