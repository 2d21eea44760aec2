"""Registration to SIP providers (``register = true`` trunks): Openline as a registering UA.

Each such trunk keeps one binding at its provider (RFC 3261 §10.2): REGISTER To/From
``sip:username@domain`` with our Contact and the configured ``expires``, answered 401/407 with
the trunk's digest credentials (one answer per challenge; a second challenge in a row means the
credentials are wrong), refreshed at 80% of the lifetime the provider granted (§10.2.4 lets the
registrar shorten it; a 423 raises it to Min-Expires), retried with backoff after failures, and
removed (Expires: 0) on shutdown. Same Call-ID for the whole life of the binding, CSeq rising
(§10.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Final

from openline.codecs.sip import NameAddr, Request, Response, SipParseError, SipUri, make_request, new_token
from openline.codecs.sip.digest import authorization_for
from openline.codecs.sip.headers import parse_int_header
from openline.config import SipTrunkSettings
from openline.transports.sip import Address, ClientCallbacks, SipEndpoint

__all__ = ["ProviderRegistration", "RegistrationState", "request_final"]

log = logging.getLogger("openline.sip.trunks")

RETRY_MIN: Final = 5.0
RETRY_MAX: Final = 300.0
REQUEST_TIMEOUT: Final = 40.0  # beyond Timer F (64*T1 = 32 s)


async def request_final(endpoint: SipEndpoint, request: Request, destination: Address,
                        timeout: float = REQUEST_TIMEOUT) -> Response | None:
    """Send a non-INVITE request in its own transaction; the final response, or None on failure."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Response | None] = loop.create_future()

    def on_response(response: Response, retransmission: bool) -> None:
        if response.final and not done.done():
            done.set_result(response)

    def on_failure(reason: str) -> None:
        if not done.done():
            done.set_result(None)

    endpoint.send_request(request, destination, ClientCallbacks(on_response, on_failure))
    try:
        return await asyncio.wait_for(done, timeout)
    except TimeoutError:
        return None


class RegistrationState(StrEnum):
    UNREGISTERED = "unregistered"
    REGISTERED = "registered"
    FAILED = "failed"


class ProviderRegistration:
    def __init__(self, endpoint: SipEndpoint, trunk: SipTrunkSettings, contact: Callable[[str], NameAddr]) -> None:
        if trunk.username is None or trunk.password is None:
            raise ValueError("a registering trunk needs credentials")
        self._endpoint = endpoint
        self._trunk = trunk
        self._contact = contact
        host, port = trunk.proxy_address
        self._destination = Address(host, port, trunk.transport.upper())
        self._aor = SipUri(host=trunk.domain or host, user=trunk.username)
        self._call_id = new_token()
        self._tag = new_token()
        self._cseq = 0
        self.state = RegistrationState.UNREGISTERED
        self.expires = trunk.expires
        self.granted = 0  # the lifetime the provider granted last
        self.registrations = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def trunk(self) -> SipTrunkSettings:
        return self._trunk

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"sip-register-{self._trunk.name}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.state is RegistrationState.REGISTERED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.register_once(0), 2.0)

    async def _run(self) -> None:
        delay = RETRY_MIN
        while True:
            granted = await self.register_once(self.expires)
            if granted is None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_MIN
            await asyncio.sleep(max(1.0, granted * 0.8))

    def _request(self, expires: int, extra: list[tuple[str, str]]) -> Request:
        self._cseq += 1
        transport = self._destination.transport
        return make_request(
            "REGISTER", SipUri(host=self._aor.host, port=self._destination.port if not self._trunk.domain else None),
            from_=NameAddr(uri=self._aor).with_tag(self._tag), to=NameAddr(uri=self._aor), call_id=self._call_id,
            cseq=self._cseq, via=self._endpoint.via(transport), contact=self._contact(transport),
            extra=[("Expires", str(expires)), *extra])

    async def register_once(self, expires: int) -> int | None:
        """One REGISTER exchange (with its digest round); the granted lifetime, or None on failure."""
        assert self._trunk.username is not None and self._trunk.password is not None
        extra: list[tuple[str, str]] = []
        answered = False
        for _ in range(4):  # challenge, 423, challenge again after 423: at most a few rounds
            request = self._request(expires, extra)
            try:
                response = await request_final(self._endpoint, request, self._destination)
            except (ConnectionError, OSError) as exc:
                log.info("trunk %s: REGISTER not sent: %s", self._trunk.name, exc)
                response = None
            if response is None:
                break
            if response.status in (401, 407) and not answered:
                name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
                try:
                    header, value = authorization_for(
                        response.status, response.headers.get_all(name), method="REGISTER",
                        uri=str(request.request_uri), username=self._trunk.username,
                        password=self._trunk.password.get_secret_value(), cnonce=new_token())
                except SipParseError:
                    break
                extra = [(header, value)]
                answered = True
                continue
            if response.status == 423:
                minimum = response.headers.get("Min-Expires")
                if minimum is None:
                    break
                expires = self.expires = parse_int_header(minimum, "Min-Expires")
                answered = False
                extra = []
                continue
            if response.success:
                if expires == 0:
                    self.state = RegistrationState.UNREGISTERED
                    return 0
                self.granted = self._granted(response, expires)
                self.state = RegistrationState.REGISTERED
                self.registrations += 1
                return self.granted
            log.warning("trunk %s: REGISTER answered %s %s", self._trunk.name, response.status, response.reason)
            break
        self.state = RegistrationState.FAILED
        return None

    def _granted(self, response: Response, asked: int) -> int:
        """§10.2.4: our Contact's expires parameter in the 200, else its Expires header."""
        try:
            for contact in response.contacts:
                value = contact.param("expires")
                uri = contact.uri
                if value is not None and isinstance(uri, SipUri) and uri.port == self._endpoint.port:
                    return parse_int_header(value, "expires")
            header = response.headers.get("Expires")
            if header is not None:
                return parse_int_header(header, "Expires")
        except SipParseError:
            pass
        return asked
