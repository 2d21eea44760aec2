"""The one place Openline makes webhook HTTP requests (inbound messages, status callbacks, voice).

Theory of operation. A :class:`WebhookRequest` is sent as one *delivery*: up to
``1 + rc`` tries of the configured URL, each of which may follow redirects, all inside
the total-time budget ``tt``. Every HTTP exchange (each try, each redirect hop) is kept
as a :class:`WebhookAttempt` for the console, and whatever happens the caller gets a
:class:`WebhookResult`; only programming errors raise.

What is documented by Twilio and what is Openline's choice, point by point:

* Signature: see :mod:`openline.core.signature` [DOCS + twilio-python source]. The URL
  signed is the configured one without fragment and userinfo (and without the port for
  https) [DOCS, Security › Notes]. POST signs URL + form params; GET puts the params
  into the query string (``+`` for spaces, as Twilio form-encodes them) and signs only
  the URL [DOCS]. Each redirect hop is signed for the URL it goes to [CHOSEN: the
  receiver can only validate against the URL it was asked on].
* Connection overrides [DOCS, "Webhooks (HTTP callbacks): Connection Overrides"]: the
  fragment ``#ct=..&rt=..&tt=..&rc=..&rp=..`` is never sent. ct: connect timeout ms,
  100-10000, default 5000; rt: read timeout ms (first byte and between packets),
  100-15000, default 15000; tt: total time for all tries, 100-15000, default 15000;
  rc: retry count 0-5, default 1; rp: comma-separated ``4xx, 5xx, ct, rt, all``.
  rp's default is ``ct`` [third-party summaries of the doc page; consistent with error
  11205's "two 5-second attempts"]. Out-of-range numbers are clamped [CHOSEN; Twilio
  raises alerts such as 11243 "HTTP retry policy is invalid" instead]; unparsable
  values and unknown keys (``e``, ``sni``, ``edge``) are ignored [CHOSEN].
* Retries happen at once [CHOSEN: no delay is documented] and carry the same
  ``I-Twilio-Idempotency-Token`` [from the brief; no Twilio page stating it was found].
  ``ct`` covers every connect-phase failure (timeout, refusal, TLS handshake) except a
  bad certificate; DNS failures are not retried [CHOSEN].
* Error codes come only from the catalogue in :mod:`openline.core.errors`: 11205 for
  connection failures *and* for the connect/read/total timers (Twilio's 11205 page
  describes both timers under it), 11210 DNS, 11206 malformed HTTP, 11215 redirect
  loop, 11220/11237 TLS, and 11200 for everything else, non-2xx answers included
  [DOCS 11200]. Twilio also has finer codes (11202 refused, 11203 tt expired, 11216
  invalid redirect, 11217 non-2xx) that the catalogue does not carry yet.
* Redirects: Twilio follows 301, 302, 303 and 307 [DOCS, error 11216]; Openline also
  follows 308 [CHOSEN, per the brief]. 303, and 301/302 after a POST, become a GET
  without the form body, as browsers, httpx and requests do [CHOSEN: Twilio does not
  document the method]. Credentials are only carried to the same origin.
* Names under the reserved ``.invalid`` TLD fail at once with 11210 without asking
  DNS (RFC 6761 §6.4: resolvers "SHOULD always return immediately with a negative
  response").
* ``trust_env=False``: proxies and ``.netrc`` from the environment must never reroute
  a customer's webhook or add credentials to it.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import enum
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urljoin

import httpx

from openline.core.signature import signed_url, twilio_signature
from openline.core.webhooks import WebhookAttempt, WebhookRequest, WebhookResult
from openline.transports.address_guard import BlockedAddressError

__all__ = [
    "MAX_RESPONSE_BYTES",
    "ConnectionOverrides",
    "RetryOn",
    "WebhookAttempt",
    "WebhookClient",
    "WebhookRequest",
    "WebhookResult",
    "parse_connection_overrides",
]

# A TwiML answer is small; 64 KiB bounds the memory of one delivery (house rule 4).
# [CHOSEN] Twilio documents no response size limit for webhooks that we could find.
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 1024  # what the console shows per attempt

# Catalogue codes (openline/core/errors.py).
HTTP_RETRIEVAL_FAILURE = 11200
HTTP_CONNECTION_FAILURE = 11205
HTTP_PROTOCOL_VIOLATION = 11206
HTTP_BAD_HOST_NAME = 11210
HTTP_TOO_MANY_REDIRECTS = 11215
TLS_HANDSHAKE_ERROR = 11220
CERTIFICATE_INVALID = 11237

# Connection-override ranges (milliseconds) and defaults (seconds) [DOCS, Connection Overrides].
CONNECT_TIMEOUT_RANGE_MS = (100, 10_000)
READ_TIMEOUT_RANGE_MS = (100, 15_000)
TOTAL_TIMEOUT_RANGE_MS = (100, 15_000)
RETRY_COUNT_RANGE = (0, 5)
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_TOTAL_TIMEOUT = 15.0
DEFAULT_RETRY_COUNT = 1
DEFAULT_MAX_REDIRECTS = 10  # [CHOSEN] Twilio documents a limit (11215) but not its value

# [DOCS 11216] lists 301/302/303/307; 308 is followed as well [CHOSEN].
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_TO_GET_STATUSES = frozenset({301, 302, 303})

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


class RetryOn(enum.Enum):
    """The failure classes named by the ``rp`` override."""

    CLIENT_ERROR = "4xx"
    SERVER_ERROR = "5xx"
    CONNECT = "ct"
    READ = "rt"


DEFAULT_RETRY_POLICY = frozenset({RetryOn.CONNECT})


@dataclass(frozen=True, slots=True)
class ConnectionOverrides:
    """What a URL fragment asks for; ``None`` means "use the client's default"."""

    connect_timeout: float | None = None  # seconds
    read_timeout: float | None = None
    total_timeout: float | None = None
    retry_count: int = DEFAULT_RETRY_COUNT
    retry_policy: frozenset[RetryOn] = DEFAULT_RETRY_POLICY


def _int_value(raw: str) -> int | None:
    raw = raw.strip()
    if not raw or len(raw) > 9 or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))


def parse_connection_overrides(fragment: str) -> ConnectionOverrides:
    """Read Twilio's ``ct/rt/tt/rc/rp`` fragment; values are clamped, junk is ignored."""
    values: dict[str, str] = {}
    for pair in fragment.split("&"):
        key, sep, value = pair.partition("=")
        if sep:
            values[unquote(key).strip().lower()] = unquote(value)

    def millis(key: str, bounds: tuple[int, int]) -> float | None:
        number = _int_value(values.get(key, ""))
        return None if number is None else _clamp(number, bounds) / 1000

    retry_count = _int_value(values.get("rc", ""))
    policy: set[RetryOn] = set()
    for token in values.get("rp", "").split(","):
        token = token.strip().lower()
        if token == "all":
            policy.update(RetryOn)
        elif token in {member.value for member in RetryOn}:
            policy.add(RetryOn(token))
    return ConnectionOverrides(
        connect_timeout=millis("ct", CONNECT_TIMEOUT_RANGE_MS),
        read_timeout=millis("rt", READ_TIMEOUT_RANGE_MS),
        total_timeout=millis("tt", TOTAL_TIMEOUT_RANGE_MS),
        retry_count=DEFAULT_RETRY_COUNT if retry_count is None else _clamp(retry_count, RETRY_COUNT_RANGE),
        retry_policy=frozenset(policy) or DEFAULT_RETRY_POLICY,
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one exchange ended; ``location`` is set for a redirect to follow."""

    status_code: int | None = None
    body: bytes = b""
    content_type: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    retry_on: RetryOn | None = None
    location: str | None = None
    excerpt: bytes = b""  # the first bytes of whatever answer arrived, for the console


@dataclass(frozen=True, slots=True)
class _Target:
    url: str  # without fragment and userinfo
    credentials: tuple[str, str] | None


def _split_userinfo(url: str) -> _Target:
    url = url.partition("#")[0]
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _Target(url, None)
    end = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    userinfo, at, host_port = rest[:end].rpartition("@")
    if not at:
        return _Target(url, None)
    user, _, password = userinfo.partition(":")
    credentials = (unquote(user), unquote(password)) if userinfo else None
    return _Target(f"{scheme}://{host_port}{rest[end:]}", credentials)


def _with_query(url: str, params: tuple[tuple[str, str], ...]) -> str:
    if not params:
        return url
    query = urlencode(params)  # quote_plus: spaces become "+", as Twilio sends them
    if "?" not in url:
        return f"{url}?{query}"
    return f"{url}{query}" if url.endswith(("?", "&")) else f"{url}&{query}"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (cause, context, args, exception groups)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)


def _classify(exc: httpx.HTTPError, status: int | None, content_type: str | None, ct: float, rt: float) -> _Outcome:
    """Turn an httpx failure into a catalogue code and its retry class."""
    detail = str(exc) or type(exc).__name__

    def outcome(code: int, message: str, retry_on: RetryOn | None = None) -> _Outcome:
        return _Outcome(status, content_type=content_type, error_code=code, error_message=message, retry_on=retry_on)

    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return outcome(HTTP_CONNECTION_FAILURE, f"no TCP/TLS connection within {ct * 1000:.0f} ms", RetryOn.CONNECT)
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return outcome(HTTP_CONNECTION_FAILURE, f"no answer within the {rt * 1000:.0f} ms read timeout", RetryOn.READ)
    if isinstance(exc, httpx.ConnectError):
        chain = list(_causes(exc))
        if any(isinstance(e, BlockedAddressError) for e in chain):
            return outcome(HTTP_RETRIEVAL_FAILURE, f"target refused: {detail}")  # the same every time
        if any(isinstance(e, socket.gaierror) for e in chain):
            return outcome(HTTP_BAD_HOST_NAME, f"host name lookup failed: {detail}")
        if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
            return outcome(CERTIFICATE_INVALID, detail)  # the same certificate fails every time
        if any(isinstance(e, ssl.SSLError) for e in chain):
            return outcome(TLS_HANDSHAKE_ERROR, detail, RetryOn.CONNECT)
        return outcome(HTTP_CONNECTION_FAILURE, f"connection failed: {detail}", RetryOn.CONNECT)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
        return outcome(HTTP_PROTOCOL_VIOLATION, f"invalid HTTP answer: {detail}")
    return outcome(HTTP_RETRIEVAL_FAILURE, detail)


def _excerpt(body: bytes) -> str:
    # An incremental decoder drops a character cut in half at the 1 KiB mark instead
    # of showing it as U+FFFD; invalid bytes elsewhere still become U+FFFD.
    return codecs.getincrementaldecoder("utf-8")("replace").decode(body[:EXCERPT_BYTES], final=False)


def _is_reserved_invalid(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "invalid" or host.endswith(".invalid")


async def _read_bounded(response: httpx.Response) -> tuple[bytes, bool]:
    """The body, or its first bytes and ``True`` when it is over MAX_RESPONSE_BYTES."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes yields *decoded* bytes, so a compressed bomb is bounded too.
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:EXCERPT_BYTES], True
    return b"".join(chunks), False


class WebhookClient:
    """Sends signed webhooks with Twilio's timeouts, retries and redirect rules."""

    def __init__(
        self,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        user_agent: str = "TwilioProxy/1.1",  # [UNVERIFIED] seen in third-party captures of Twilio webhooks
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,  # for a client made here (the SSRF guard)
    ) -> None:
        if min(connect_timeout, read_timeout, total_timeout) <= 0 or max_redirects < 0:
            raise ValueError("timeouts must be positive and max_redirects not negative")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._total_timeout = total_timeout
        self._max_redirects = max_redirects
        self._user_agent = user_agent
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(trust_env=False, follow_redirects=False, transport=transport)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send(self, request: WebhookRequest) -> WebhookResult:
        method = request.method.upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"webhook method must be GET or POST, not {request.method!r}")
        overrides = parse_connection_overrides(request.url.partition("#")[2])
        ct = overrides.connect_timeout or self._connect_timeout
        rt = overrides.read_timeout or self._read_timeout
        deadline = time.monotonic() + (overrides.total_timeout or self._total_timeout)
        attempts: list[WebhookAttempt] = []
        outcome = _Outcome(error_code=HTTP_CONNECTION_FAILURE, error_message="total timeout expired")
        for _ in range(1 + overrides.retry_count):
            if time.monotonic() >= deadline:
                break
            outcome = await self._deliver(method, request, ct, rt, deadline, attempts)
            if outcome.error_code is None or outcome.retry_on not in overrides.retry_policy:
                break
        return WebhookResult(
            ok=outcome.error_code is None,
            status_code=outcome.status_code,
            body=outcome.body,
            content_type=outcome.content_type,
            error_code=outcome.error_code,
            error_message=outcome.error_message,
            attempts=tuple(attempts),
        )

    async def _deliver(
        self,
        method: str,
        request: WebhookRequest,
        ct: float,
        rt: float,
        deadline: float,
        attempts: list[WebhookAttempt],
    ) -> _Outcome:
        """One try: the exchange with the configured URL and the redirects it leads to."""
        target = _split_userinfo(request.url)
        params = request.params
        if method == "GET":
            target = _Target(_with_query(target.url, params), target.credentials)
            params = ()
        redirects_left = self._max_redirects
        while True:
            outcome = await self._exchange(method, target, params, request, ct, rt, deadline, redirects_left, attempts)
            if outcome.location is None:
                return outcome
            redirects_left -= 1
            status = outcome.status_code
            if status in _TO_GET_STATUSES and method == "POST":
                method, params = "GET", ()
            following = _split_userinfo(urljoin(target.url, outcome.location))
            try:
                same_origin = _origin(httpx.URL(following.url)) == _origin(httpx.URL(target.url))
            except httpx.InvalidURL as exc:
                return _Outcome(status, error_code=HTTP_RETRIEVAL_FAILURE, error_message=f"bad redirect: {exc}")
            credentials = following.credentials or (target.credentials if same_origin else None)
            target = _Target(following.url, credentials)

    async def _exchange(
        self,
        method: str,
        target: _Target,
        params: tuple[tuple[str, str], ...],
        request: WebhookRequest,
        ct: float,
        rt: float,
        deadline: float,
        redirects_left: int,
        attempts: list[WebhookAttempt],
    ) -> _Outcome:
        """One HTTP request and its bounded answer, recorded as an attempt."""
        started = time.monotonic()
        outcome = await self._exchange_once(method, target, params, request, ct, rt, deadline, redirects_left)
        attempts.append(
            WebhookAttempt(
                url=target.url,
                method=method,
                status_code=outcome.status_code,
                response_excerpt=_excerpt(outcome.excerpt),
                content_type=outcome.content_type,
                duration_ms=(time.monotonic() - started) * 1000,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
                started_at_monotonic=started,
            )
        )
        return outcome

    async def _exchange_once(
        self,
        method: str,
        target: _Target,
        params: tuple[tuple[str, str], ...],
        request: WebhookRequest,
        ct: float,
        rt: float,
        deadline: float,
        redirects_left: int,
    ) -> _Outcome:
        try:
            url = httpx.URL(target.url)
        except httpx.InvalidURL as exc:
            return _Outcome(error_code=HTTP_RETRIEVAL_FAILURE, error_message=f"invalid URL: {exc}")
        if url.scheme not in ("http", "https") or not url.host:
            return _Outcome(error_code=HTTP_RETRIEVAL_FAILURE, error_message="the URL must be absolute http(s)")
        if _is_reserved_invalid(url.host):
            return _Outcome(
                error_code=HTTP_BAD_HOST_NAME, error_message=f"{url.host} is under the reserved .invalid TLD (RFC 6761)"
            )

        headers = {
            "User-Agent": self._user_agent,
            "Accept": request.accept,
            "X-Twilio-Signature": twilio_signature(request.auth_token, signed_url(target.url), params),
            "I-Twilio-Idempotency-Token": request.idempotency_token,
        }
        content: bytes | None = None
        if method == "POST":
            headers["Content-Type"] = FORM_CONTENT_TYPE
            content = urlencode(params).encode("ascii")  # urlencode percent-encodes the UTF-8 bytes
        if target.credentials is not None:
            user, password = target.credentials
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"

        status: int | None = None
        content_type: str | None = None
        budget = asyncio.timeout(deadline - time.monotonic())
        try:
            async with budget:
                http_request = self._client.build_request(
                    method,
                    url,
                    headers=headers,
                    content=content,
                    timeout=httpx.Timeout(connect=ct, read=rt, write=rt, pool=ct),
                )
                response = await self._client.send(http_request, stream=True, follow_redirects=False)
                try:
                    status = response.status_code
                    content_type = response.headers.get("content-type")
                    body, too_large = await _read_bounded(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            # Either tt ran out (the budget cancelled us) or a socket timeout escaped
            # httpcore unwrapped (TimeoutError is an OSError); both are timer expiries.
            message = "total timeout (tt) expired" if budget.expired() else "timed out"
            return _Outcome(
                status, content_type=content_type, error_code=HTTP_CONNECTION_FAILURE, error_message=message
            )
        except httpx.HTTPError as exc:
            return _classify(exc, status, content_type, ct, rt)
        except OSError as exc:  # a network failure httpcore did not wrap: still not a bug of ours
            return _Outcome(
                status,
                content_type=content_type,
                error_code=HTTP_RETRIEVAL_FAILURE,
                error_message=str(exc) or type(exc).__name__,
            )

        location = response.headers.get("location")
        if status in REDIRECT_STATUSES and location:
            if redirects_left <= 0:
                return _Outcome(
                    status,
                    content_type=content_type,
                    excerpt=body,
                    error_code=HTTP_TOO_MANY_REDIRECTS,
                    error_message=f"more than {self._max_redirects} redirects in a row",
                )
            return _Outcome(status, content_type=content_type, location=location, excerpt=body)
        if too_large:
            return _Outcome(
                status,
                content_type=content_type,
                excerpt=body,
                error_code=HTTP_RETRIEVAL_FAILURE,
                error_message=f"the answer is larger than {MAX_RESPONSE_BYTES} bytes",
            )
        if 200 <= status < 300:
            return _Outcome(status, body=body, content_type=content_type, excerpt=body)
        retry_on = RetryOn.CLIENT_ERROR if 400 <= status < 500 else RetryOn.SERVER_ERROR if status >= 500 else None
        return _Outcome(
            status,
            body=body,
            content_type=content_type,
            excerpt=body,
            retry_on=retry_on,
            error_code=HTTP_RETRIEVAL_FAILURE,
            error_message=f"HTTP {status} answer",
        )
