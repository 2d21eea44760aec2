"""The registrar (RFC 3261 §10.3): SIP users' devices REGISTER here with digest authentication.

Steps as §10.3 numbers them: the To URI names the user (unknown users get 404); the request must
carry credentials of that same user (401 with a fresh challenge otherwise, ``stale=TRUE`` when
only the nonce expired; a wrong password is challenged again and counted); ``Contact: *`` with
``Expires: 0`` removes every binding; each Contact's lifetime is its ``expires`` parameter, else
the Expires header, else 3600 s, and one below ``min_expires`` is refused with 423 and
Min-Expires (a longer one is cut to ``max_expires``); the bindings (stored through
:class:`~openline.services.sip_registrations.Registrations`) are applied in one transaction with
the Call-ID/CSeq order check (500 when out of order). The 200 lists every current binding with
its remaining lifetime.

Nonces are HMACs over their issue time (wall clock) under a key every process of a cluster
derives alike, so a challenge from one process is good at another.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from openline.codecs.sip import (
    DigestCredentials,
    DigestServer,
    Request,
    SipParseError,
    SipUri,
    Verdict,
    make_response,
    new_token,
)
from openline.codecs.sip.headers import parse_int_header
from openline.codecs.sip.transaction import ServerTransaction
from openline.config import SipSettings
from openline.services.sip_registrations import BindingChange, OutOfOrder, Registrations
from openline.transports.sip import Address, SipEndpoint

__all__ = ["DEFAULT_EXPIRES", "Registrar", "check_digest"]

log = logging.getLogger("openline.sip.registrar")

DEFAULT_EXPIRES: Final = 3600  # §10.2.1.1: the registrar's choice when the UA states none
MAX_CONTACTS: Final = 16  # bindings one REGISTER may carry; more is an attack, not a phone


def check_digest(
    request: Request, digest: DigestServer, passwords: Mapping[str, str], *, header: str = "Authorization",
    now: float | None = None,
) -> tuple[str | None, Verdict | None]:
    """(username, verdict) for the request's credentials; (None, None) when it carries none usable."""
    value = request.headers.get(header)
    if value is None:
        return None, None
    try:
        creds = DigestCredentials.parse(value)
    except SipParseError:
        return None, Verdict.INVALID
    password = passwords.get(creds.username)
    if password is None:
        return creds.username, Verdict.INVALID
    verdict = digest.verify(creds, method=request.method, password=password,
                            now=time.time() if now is None else now, body=request.body)
    return creds.username, verdict


class Registrar:
    def __init__(self, endpoint: SipEndpoint, settings: SipSettings, registrations: Registrations,
                 digest: DigestServer, clock: Callable[[], float] = time.time) -> None:
        self._endpoint = endpoint
        self._settings = settings
        self._registrations = registrations
        self._digest = digest
        self._clock = clock
        self._passwords = {u.username: u.password.get_secret_value() for u in settings.users}
        self.counters: Counter[str] = Counter()

    def challenge(self, txn: ServerTransaction, request: Request, *, stale: bool = False, status: int = 401) -> None:
        header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
        now = self._clock()
        extra = [(header, str(self._digest.challenge(now, algorithm=algorithm, stale=stale)))
                 for algorithm in self._settings.digest_algorithms]
        self._endpoint.respond(txn, make_response(request, status, to_tag=_tag(), extra=extra))

    async def handle(self, request: Request, txn: ServerTransaction, source: Address) -> None:
        try:
            await self._handle(request, txn, source)
        except SipParseError as exc:
            self.counters["malformed"] += 1
            with contextlib.suppress(LookupError):
                self._endpoint.respond(txn, make_response(request, exc.status, to_tag=_tag()))
        except Exception:  # the database away, a bug: this REGISTER fails, the registrar stays up
            log.exception("sip registrar: REGISTER from %s failed", source.host)
            with contextlib.suppress(LookupError):
                self._endpoint.respond(txn, make_response(request, 500, to_tag=_tag()))

    async def _handle(self, request: Request, txn: ServerTransaction, source: Address) -> None:
        to = request.to.uri
        username = to.unescaped_user if isinstance(to, SipUri) else None
        if username is None or username not in self._passwords:
            self.counters["unknown_user"] += 1
            self._endpoint.respond(txn, make_response(request, 404, to_tag=_tag()))
            return
        who, verdict = check_digest(request, self._digest, self._passwords, now=self._clock())
        if verdict is not Verdict.OK or who != username:
            if verdict is Verdict.INVALID or (verdict is Verdict.OK and who != username):
                self.counters["auth_failed"] += 1
                log.info("sip registrar: failed authentication for %s from %s", username, source.host)
            self.challenge(txn, request, stale=verdict is Verdict.STALE)
            return
        raw_contacts = request.headers.get_all("Contact")
        header_expires = request.headers.get("Expires")
        default = parse_int_header(header_expires, "Expires") if header_expires is not None else DEFAULT_EXPIRES
        call_id, cseq = request.call_id, request.cseq.number
        where = (source.host, source.port, source.transport)
        if any(v.strip() == "*" for v in raw_contacts):
            # §10.3 step 6: '*' only with Expires: 0 and no other Contact
            if len(raw_contacts) != 1 or default != 0:
                self._endpoint.respond(txn, make_response(request, 400, "Contact * needs Expires: 0", to_tag=_tag()))
                return
            await self._apply(request, txn, username, call_id, cseq, where, [], remove_all=True)
            return
        contacts = request.contacts
        if len(contacts) > MAX_CONTACTS:
            self._endpoint.respond(txn, make_response(request, 403, "Too many contacts", to_tag=_tag()))
            return
        changes: list[BindingChange] = []
        for contact in contacts:
            own = contact.param("expires")
            expires = parse_int_header(own, "expires") if own is not None else default
            if 0 < expires < self._settings.min_expires:
                self._endpoint.respond(txn, make_response(
                    request, 423, to_tag=_tag(), extra=[("Min-Expires", str(self._settings.min_expires))]))
                return
            changes.append(BindingChange(str(contact.uri), min(expires, self._settings.max_expires)))
        await self._apply(request, txn, username, call_id, cseq, where, changes)

    async def _apply(self, request: Request, txn: ServerTransaction, username: str, call_id: str, cseq: int,
                     where: tuple[str, int, str], changes: list[BindingChange], remove_all: bool = False) -> None:
        try:
            bindings = await self._registrations.update(username, call_id=call_id, cseq=cseq, source=where,
                                                        changes=changes, remove_all=remove_all)
        except OutOfOrder:
            self._endpoint.respond(txn, make_response(request, 500, "Out of order REGISTER", to_tag=_tag()))
            return
        now = datetime.now(UTC)
        extra = []
        for binding in bindings:
            left = max(0, math.ceil((binding.expires_at - now).total_seconds()))
            extra.append(("Contact", f"<{binding.contact}>;expires={left}"))
        self.counters["registered" if changes and any(c.expires for c in changes) else "unregistered"] += 1
        # LookupError: the transaction timed out while the database was busy; the UA will retry
        with contextlib.suppress(LookupError):
            self._endpoint.respond(txn, make_response(request, 200, to_tag=_tag(), extra=extra))


def _tag() -> str:
    return new_token(6)
