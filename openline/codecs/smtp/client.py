"""The client side of one SMTP session as a state machine over bytes (sans-IO, h11 style).

Push the server's bytes in with :meth:`ClientSession.receive_data`, take events out with
:meth:`next_event`, and write whatever :meth:`data_to_send` returns. The session greets by
itself (EHLO, falling back to HELO on a 5xx, RFC 5321 §4.1.4), and reports :class:`Ready`
with the server's capabilities; the transport may then ask for STARTTLS (RFC 3207) and AUTH
(RFC 4954 PLAIN or LOGIN) and queues mail with :meth:`send_mail`.

Replies are matched to commands in the order the commands went out (RFC 2920 §3.1: a server
answers a pipelined group in order). With PIPELINING, a transaction's MAIL FROM, every RCPT TO
and DATA go out in one write; the content follows the 354, and the next transaction's envelope
rides in the same write as that content (content may start a group, DATA must end one). Without
PIPELINING every command waits for the previous reply. Each transaction ends in one
:class:`MailOutcome` with a reply per recipient: MAIL refused → that reply for all; a refused
RCPT → its reply; otherwise the reply to DATA (if not 354) or to the content.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from openline.codecs.smtp import commands
from openline.codecs.smtp.commands import CommandError
from openline.codecs.smtp.replies import Capabilities, Reply, ReplyReader, SmtpParseError

__all__ = ["Authenticated", "ClientSession", "Closed", "MailOutcome", "NeedData", "Ready", "Refused",
           "SessionError", "TlsReady"]


class SessionError(RuntimeError):
    """Our side asked for something the session's state does not allow."""


class Phase(enum.Enum):
    GREETING = "greeting"
    HELLO = "hello"  # EHLO or HELO sent
    READY = "ready"
    STARTTLS = "starttls"  # STARTTLS sent
    TLS_PENDING = "tls_pending"  # 220 to STARTTLS: the transport is to wrap the socket
    AUTH = "auth"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Ready:
    capabilities: Capabilities
    extended: bool  # False: HELO (no extensions)


@dataclass(frozen=True, slots=True)
class TlsReady:
    """The server said 220 to STARTTLS: start TLS on the socket, then call ``tls_started``."""


@dataclass(frozen=True, slots=True)
class Authenticated:
    reply: Reply


@dataclass(frozen=True, slots=True)
class Refused:
    """The greeting, STARTTLS or AUTH was refused (the session stays usable unless Closed follows)."""

    step: str
    reply: Reply


@dataclass(frozen=True, slots=True)
class MailOutcome:
    tag: object
    replies: dict[str, Reply]  # per recipient
    content_sent: bool  # False: nothing of this message reached the server, it can go elsewhere at once


@dataclass(frozen=True, slots=True)
class Closed:
    reply: Reply | None  # the server's 221/421, or None when the connection was lost


@dataclass(frozen=True, slots=True)
class NeedData:
    pass


NEED_DATA = NeedData()
Event = Ready | TlsReady | Authenticated | Refused | MailOutcome | Closed | NeedData


class _Expect(enum.Enum):
    GREETING = 1
    EHLO = 2
    HELO = 3
    STARTTLS = 4
    AUTH = 5
    MAIL = 6
    RCPT = 7
    DATA = 8
    CONTENT = 9
    RSET = 10
    QUIT = 11


@dataclass(slots=True)
class _Mail:
    tag: object
    sender: str
    recipients: list[str]
    content: bytes
    options: dict[str, bool | int] = field(default_factory=dict)
    mail: Reply | None = None
    rcpt: dict[str, Reply] = field(default_factory=dict)
    data: Reply | None = None
    final: Reply | None = None
    content_sent: bool = False
    sent_rcpts: int = 0  # without PIPELINING: how many RCPTs went out


class ClientSession:
    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        self._reader = ReplyReader()
        self._out = bytearray()
        self._events: deque[Event] = deque()
        self._expect: deque[tuple[_Expect, _Mail | str | None]] = deque()
        self._queue: deque[_Mail] = deque()  # not yet started
        self._envelope: _Mail | None = None  # MAIL..DATA sent, waiting for the 354
        self._phase = Phase.GREETING
        self._expect.append((_Expect.GREETING, None))
        self.capabilities = Capabilities()
        self._auth_answers: list[str] = []
        self._lost_text = "4.4.2 connection lost"

    # State.
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def closed(self) -> bool:
        return self._phase is Phase.CLOSED

    @property
    def idle(self) -> bool:
        """Ready with nothing queued or in flight: the connection can go back to a pool."""
        return self._phase is Phase.READY and not self._expect and not self._queue and self._envelope is None

    # Bytes.
    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def receive_data(self, data: bytes) -> None:
        if self._phase is Phase.CLOSED:
            return
        self._reader.feed(data)
        while True:
            try:
                reply = self._reader.next_reply()
            except SmtpParseError:
                self._close(None)
                raise
            if reply is None:
                return
            self._on_reply(reply)
            if self._phase is Phase.TLS_PENDING and self._reader.buffered:
                # RFC 3207 §4.2 / CVE-2011-0411: nothing may follow the 220 in plain text.
                self._close(None)
                raise SmtpParseError("the server sent data after its 220 to STARTTLS")
            if self.closed:
                return

    def connection_lost(self) -> None:
        """The socket closed (or timed out): every unfinished message gets an outcome."""
        if self._phase is not Phase.CLOSED:
            self._close(None)

    def next_event(self) -> Event:
        return self._events.popleft() if self._events else NEED_DATA

    # Commands.
    def start_tls(self) -> None:
        self._require(Phase.READY, "STARTTLS")
        if not self.idle:
            raise SessionError("STARTTLS only between transactions")
        self._send(commands.simple("STARTTLS"), _Expect.STARTTLS)
        self._phase = Phase.STARTTLS

    def tls_started(self) -> None:
        """TLS is up: forget what the plain-text EHLO said and greet again (RFC 3207 §4.2)."""
        self._require(Phase.TLS_PENDING, "tls_started")
        self.capabilities = Capabilities()
        self._send(commands.ehlo(self._hostname), _Expect.EHLO)
        self._phase = Phase.HELLO

    def authenticate(self, username: str, password: str) -> None:
        """AUTH PLAIN if offered, else LOGIN (both only over TLS or to a trusted relay)."""
        self._require(Phase.READY, "AUTH")
        if "PLAIN" in self.capabilities.auth or not self.capabilities.auth:
            self._send(commands.auth_plain(username, password), _Expect.AUTH)
        elif "LOGIN" in self.capabilities.auth:
            self._auth_answers = [username, password]
            self._send(commands.auth_login_start(), _Expect.AUTH)
        else:
            raise SessionError(f"the server offers no usable AUTH mechanism ({sorted(self.capabilities.auth)})")
        self._phase = Phase.AUTH

    def send_mail(self, tag: object, sender: str, recipients: list[str], message: bytes) -> None:
        """Queue one message for ``recipients``; its :class:`MailOutcome` carries ``tag``."""
        if self._phase is Phase.CLOSED:
            raise SessionError("the session is closed")
        if not recipients:
            raise SessionError("a message needs at least one recipient")
        self._queue.append(_Mail(tag, sender, list(recipients), message))
        self._pump()

    def quit(self) -> None:
        if self._phase is Phase.CLOSED:
            return
        self._send(commands.simple("QUIT"), _Expect.QUIT)

    # Internals.
    def _require(self, phase: Phase, what: str) -> None:
        if self._phase is not phase:
            raise SessionError(f"{what} in phase {self._phase.value}")

    def _send(self, data: bytes, expect: _Expect, about: _Mail | str | None = None) -> None:
        self._out += data
        self._expect.append((expect, about))

    def _pump(self) -> None:
        """Start queued messages as far as the protocol allows."""
        while self._phase is Phase.READY and self._queue and self._envelope is None:
            if not self.capabilities.pipelining and self._expect:
                return  # one command at a time
            mail = self._queue.popleft()
            if not self._start(mail):
                continue
            self._envelope = mail
            if not self.capabilities.pipelining:
                return

    def _start(self, mail: _Mail) -> bool:
        """Send the envelope (all of it with PIPELINING, else MAIL FROM only); False if the message
        cannot be sent here at all (its outcome is already out)."""
        caps = self.capabilities
        wide = not all(a.isascii() for a in [mail.sender, *mail.recipients])
        if wide and not caps.smtputf8:
            return self._fail_local(mail, Reply(553, ("5.6.7 the server does not offer SMTPUTF8",)))
        if caps.size and len(mail.content) > caps.size:
            return self._fail_local(mail, Reply(552, (f"5.3.4 the message exceeds the server's SIZE {caps.size}",)))
        try:
            envelope = commands.mail_from(
                mail.sender, size=len(mail.content) if caps.size is not None else None,
                eight_bit=caps.eight_bit_mime and not mail.content.isascii(), smtputf8=wide)
            rcpts = [commands.rcpt_to(r) for r in mail.recipients]
        except CommandError as exc:
            return self._fail_local(mail, Reply(553, (f"5.1.3 {exc}",)))
        self._send(envelope, _Expect.MAIL, mail)
        if caps.pipelining:
            for recipient, line in zip(mail.recipients, rcpts, strict=True):
                self._send(line, _Expect.RCPT, recipient)
            mail.sent_rcpts = len(rcpts)
            self._send(commands.simple("DATA"), _Expect.DATA, mail)
        return True

    def _fail_local(self, mail: _Mail, reply: Reply) -> bool:
        self._events.append(MailOutcome(mail.tag, dict.fromkeys(mail.recipients, reply), False))
        return False

    def _on_reply(self, reply: Reply) -> None:
        if not self._expect:
            if reply.code == 421:  # RFC 5321 §3.8: the server is going away, unasked
                self._close(reply)
                return
            self._close(None)
            raise SmtpParseError(f"a reply nobody asked for: {reply.code} {reply.text[:60]}")
        kind, about = self._expect.popleft()
        if reply.code == 421 and kind is not _Expect.QUIT:
            self._close(reply, about if isinstance(about, _Mail) else None)
            return
        handler = _HANDLERS[kind]
        handler(self, reply, about)

    # Reply handlers, one per command kind.
    def _refused(self, step: str, reply: Reply) -> None:
        """The session cannot start: say so, and end it politely (RFC 5321 §3.1)."""
        self._lost_text = f"4.4.2 {step} refused: {reply.code} {reply.text}"[:400]
        self._events.append(Refused(step, reply))
        self._send(commands.simple("QUIT"), _Expect.QUIT)

    def _greeting(self, reply: Reply, _: object) -> None:
        if reply.code != 220:
            self._refused("greeting", reply)
            return
        self._send(commands.ehlo(self._hostname), _Expect.EHLO)
        self._phase = Phase.HELLO

    def _ehlo(self, reply: Reply, _: object) -> None:
        if reply.code == 250:
            self.capabilities = Capabilities.from_ehlo(reply)
            self._ready(True)
        elif 500 <= reply.code < 600:  # an old server: plain HELO, no extensions
            self._send(commands.helo(self._hostname), _Expect.HELO)
        else:
            self._refused("EHLO", reply)

    def _helo(self, reply: Reply, _: object) -> None:
        if reply.code == 250:
            self.capabilities = Capabilities(domain=reply.lines[0].split(" ", 1)[0] if reply.lines else "")
            self._ready(False)
        else:
            self._refused("HELO", reply)

    def _ready(self, extended: bool) -> None:
        self._phase = Phase.READY
        self._events.append(Ready(self.capabilities, extended))
        self._pump()

    def _starttls(self, reply: Reply, _: object) -> None:
        if reply.code == 220:
            self._phase = Phase.TLS_PENDING
            self._events.append(TlsReady())
        else:
            self._phase = Phase.READY
            self._events.append(Refused("STARTTLS", reply))
            self._pump()

    def _auth(self, reply: Reply, _: object) -> None:
        if reply.code == 334 and self._auth_answers:
            self._send(commands.auth_login_answer(self._auth_answers.pop(0)), _Expect.AUTH)
            return
        self._auth_answers = []
        self._phase = Phase.READY
        if reply.code == 235:
            self._events.append(Authenticated(reply))
            self._pump()
        elif reply.code == 334:  # a challenge we have no answer for: cancel the exchange (RFC 4954 §4)
            self._phase = Phase.AUTH
            self._send(b"*\r\n", _Expect.AUTH)
        else:
            self._events.append(Refused("AUTH", reply))

    def _mail(self, reply: Reply, about: object) -> None:
        assert isinstance(about, _Mail)
        about.mail = reply
        if not self.capabilities.pipelining:
            if reply.code // 100 == 2:
                self._send(commands.rcpt_to(about.recipients[0]), _Expect.RCPT, about.recipients[0])
                about.sent_rcpts = 1
            else:
                self._finish(about, rset=False)

    def _rcpt(self, reply: Reply, about: object) -> None:
        assert isinstance(about, str)
        mail = self._envelope
        assert mail is not None
        mail.rcpt[about] = reply
        if self.capabilities.pipelining:
            return
        if mail.sent_rcpts < len(mail.recipients):
            recipient = mail.recipients[mail.sent_rcpts]
            mail.sent_rcpts += 1
            self._send(commands.rcpt_to(recipient), _Expect.RCPT, recipient)
        elif any(r.code // 100 == 2 for r in mail.rcpt.values()):
            self._send(commands.simple("DATA"), _Expect.DATA, mail)
        else:
            self._finish(mail, rset=True)

    def _data(self, reply: Reply, about: object) -> None:
        assert isinstance(about, _Mail)
        about.data = reply
        accepted = about.mail is not None and about.mail.code // 100 == 2 and any(
            r.code // 100 == 2 for r in about.rcpt.values())
        if reply.code == 354:
            # RFC 2920 §3.1: DATA accepted with no valid recipient: send an empty message (a lone dot).
            self._send(commands.data_content(about.content) if accepted else b".\r\n", _Expect.CONTENT, about)
            about.content_sent = accepted
            self._envelope = None
            self._pump()
        else:
            self._finish(about, rset=True)

    def _content(self, reply: Reply, about: object) -> None:
        assert isinstance(about, _Mail)
        about.final = reply
        self._finish(about, rset=False)

    def _rset(self, reply: Reply, _: object) -> None:
        # Its answer changes nothing (the next MAIL FROM tells); without PIPELINING the next message waited for it.
        self._pump()

    def _quit(self, reply: Reply, _: object) -> None:
        self._close(reply)

    def _finish(self, mail: _Mail, *, rset: bool) -> None:
        if self._envelope is mail:
            self._envelope = None
        if rset:
            self._send(commands.simple("RSET"), _Expect.RSET)
        self._events.append(MailOutcome(mail.tag, _outcome(mail), mail.content_sent))
        self._pump()

    def _close(self, reply: Reply | None, current: _Mail | None = None) -> None:
        """Every message not answered yet gets the closing reply (or 451: connection lost)."""
        lost = reply if reply is not None and reply.code != 221 else Reply(451, (self._lost_text,))
        seen: set[int] = set()
        unfinished = [m for _, m in self._expect if isinstance(m, _Mail)] + list(self._queue)
        if self._envelope is not None:
            unfinished.insert(0, self._envelope)
        if current is not None:
            unfinished.insert(0, current)
        for mail in unfinished:
            if id(mail) in seen:
                continue
            seen.add(id(mail))
            self._events.append(MailOutcome(mail.tag, dict.fromkeys(mail.recipients, lost), mail.content_sent))
        self._expect.clear()
        self._queue.clear()
        self._envelope = None
        self._phase = Phase.CLOSED
        self._events.append(Closed(reply))


def _outcome(mail: _Mail) -> dict[str, Reply]:
    if mail.mail is None or mail.mail.code // 100 != 2:
        return dict.fromkeys(mail.recipients, mail.mail or Reply(451, ("4.3.0 no answer to MAIL FROM",)))
    out: dict[str, Reply] = {}
    last = mail.final if mail.final is not None else mail.data
    for recipient in mail.recipients:
        answer = mail.rcpt.get(recipient)
        if answer is None or answer.code // 100 != 2:
            out[recipient] = answer or Reply(451, ("4.3.0 no answer to RCPT TO",))
        else:
            out[recipient] = last if last is not None else Reply(451, ("4.3.0 no answer to DATA",))
    return out


_HANDLERS = {
    _Expect.GREETING: ClientSession._greeting, _Expect.EHLO: ClientSession._ehlo, _Expect.HELO: ClientSession._helo,
    _Expect.STARTTLS: ClientSession._starttls, _Expect.AUTH: ClientSession._auth, _Expect.MAIL: ClientSession._mail,
    _Expect.RCPT: ClientSession._rcpt, _Expect.DATA: ClientSession._data, _Expect.CONTENT: ClientSession._content,
    _Expect.RSET: ClientSession._rset, _Expect.QUIT: ClientSession._quit,
}
