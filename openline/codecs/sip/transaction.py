"""SIP transactions (RFC 3261 §17, with the "Accepted" states of RFC 6026), sans-IO.

A transaction never touches a socket or a clock. Each input method returns a list of actions:

* ``SendMessage(message)``  - hand it to the transport (client: toward the next hop; server:
  toward the response address of the top Via, §18.2.2),
* ``StartTimer(timer, delay)`` / ``StopTimer(timer)`` - arm or cancel the named §17 timer; when
  it expires call ``on_timer(timer)`` (a timer that was restarted replaces the old deadline),
* ``Deliver*`` events for the transaction user (TU), ``TimedOut``, ``TransportFailed`` and
  finally ``Terminated`` (drop the transaction from the table).

Timers (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2, Table 4 of §A):

    A  INVITE request retransmit (unreliable)      T1, doubling
    B  INVITE transaction timeout                  64*T1
    D  wait for response retransmits               32 s unreliable, 0 reliable
    E  non-INVITE request retransmit (unreliable)  T1, doubling to T2 (T2 once Proceeding)
    F  non-INVITE transaction timeout              64*T1
    G  INVITE final response retransmit            T1, doubling to T2
    H  wait for ACK receipt                        64*T1
    I  wait for ACK retransmits                    T4 unreliable, 0 reliable
    J  wait for non-INVITE request retransmits     64*T1 unreliable, 0 reliable
    K  wait for response retransmits               T4 unreliable, 0 reliable
    L  wait for ACK of a 2xx (RFC 6026)            64*T1
    M  wait for 2xx retransmits (RFC 6026)         64*T1
    N  2xx retransmit by the UAS core (§13.3.1.4)  T1, doubling to T2 (unreliable only)

Timer N is the UAS core's duty in §13.3.1.4; the INVITE server transaction carries it in its
Accepted state so that every UAS built on this layer retransmits 2xx until the ACK arrives
(``on_ack_for_2xx``, matched by the dialog since that ACK has its own branch).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from openline.codecs.sip.builders import make_response
from openline.codecs.sip.errors import SipStateError
from openline.codecs.sip.headers import BRANCH_MAGIC
from openline.codecs.sip.message import Headers, Request, Response

__all__ = [
    "T1",
    "T2",
    "T4",
    "Action",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "ClientTransaction",
    "DeliverRequest",
    "DeliverResponse",
    "SendMessage",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "ServerTransaction",
    "StartTimer",
    "StopTimer",
    "Terminated",
    "TimedOut",
    "Timer",
    "Timers",
    "TransactionState",
    "TransportFailed",
    "client_key",
    "make_ack_for_non_2xx",
    "make_cancel",
    "server_key",
]

T1: Final = 0.5  # RTT estimate (§17.1.1.1)
T2: Final = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4: Final = 5.0  # maximum duration a message remains in the network


class Timer(StrEnum):
    A = "A"
    B = "B"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the RFC's name
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"


class TransactionState(StrEnum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Timers:
    t1: float = T1
    t2: float = T2
    t4: float = T4


@dataclass(frozen=True, slots=True)
class SendMessage:
    message: Request | Response


@dataclass(frozen=True, slots=True)
class StartTimer:
    timer: Timer
    delay: float


@dataclass(frozen=True, slots=True)
class StopTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class DeliverResponse:
    """A response for the TU. ``retransmission`` marks a repeated 2xx in Accepted (re-ACK it)."""

    response: Response
    retransmission: bool = False


@dataclass(frozen=True, slots=True)
class DeliverRequest:
    """A new request for the TU (server transactions; once, never for retransmissions)."""

    request: Request


@dataclass(frozen=True, slots=True)
class TimedOut:
    """Timer B/F (no final response), H (no ACK for a non-2xx) or L (no ACK for a 2xx)."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class TransportFailed:
    pass


@dataclass(frozen=True, slots=True)
class Terminated:
    pass


Action = (
    SendMessage | StartTimer | StopTimer | DeliverResponse | DeliverRequest | TimedOut | TransportFailed | Terminated
)

ClientKey = tuple[str, str]
ServerKey = tuple[str, ...]


def client_key(message: Request | Response) -> ClientKey:
    """§17.1.3: branch of the top Via plus the CSeq method (a CANCEL is its own transaction)."""
    method = message.cseq.method
    if method == "ACK":
        method = "INVITE"
    return (message.via.branch or "", method)


def server_key(request: Request) -> ServerKey:
    """§17.2.3: (branch, sent-by, method) for RFC 3261 branches, ACK matching its INVITE; the
    RFC 2543 fallback uses Call-ID, CSeq number, From tag, top Via and Request-URI."""
    via = request.via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(BRANCH_MAGIC):
        return (branch, via.host.lower(), str(via.port or ""), method)
    return (
        "2543",
        request.call_id,
        str(request.cseq.number),
        request.from_.tag or "",
        str(via),
        str(request.request_uri),
        method,
    )


def _copy_fields(request: Request, names: tuple[str, ...]) -> list[tuple[str, str]]:
    wanted = {n.lower() for n in names}
    out: list[tuple[str, str]] = []
    for name, value in request.headers:
        key = name.lower()
        key = {"v": "via", "f": "from", "t": "to", "i": "call-id"}.get(key, key)
        if key in wanted:
            out.append((name, value))
    return out


def make_ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK the client transaction sends for a 300-699 (same branch, To of the
    response, the INVITE's Route headers, only the top Via)."""
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    headers.add("Max-Forwards", "70")
    for name, value in _copy_fields(invite, ("Route",)):
        headers.add(name, value)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} ACK")
    headers.add("Content-Length", "0")
    return Request(method="ACK", uri=invite.request_uri, headers=headers)


def make_cancel(invite: Request) -> Request:
    """§9.1: CANCEL has the INVITE's Request-URI, Call-ID, To, From, CSeq number, top Via
    (same branch) and Route headers."""
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    headers.add("Max-Forwards", "70")
    for name, value in _copy_fields(invite, ("Route",)):
        headers.add(name, value)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", invite.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} CANCEL")
    headers.add("Content-Length", "0")
    return Request(method="CANCEL", uri=invite.request_uri, headers=headers)


class _Base:
    def __init__(self, request: Request, *, reliable: bool, timers: Timers | None) -> None:
        self.request = request
        self.reliable = reliable
        self.timers = timers or Timers()
        self.state = TransactionState.TERMINATED

    @property
    def terminated(self) -> bool:
        return self.state is TransactionState.TERMINATED

    def _terminate(self, *extra: Action) -> list[Action]:
        self.state = TransactionState.TERMINATED
        return [*extra, Terminated()]

    def on_transport_error(self) -> list[Action]:
        """§17.1.4 / §17.2.4: a transport failure ends the transaction and informs the TU."""
        if self.terminated:
            return []
        return self._terminate(TransportFailed())


class ClientInviteTransaction(_Base):
    """§17.1.1 (Figure 5) with RFC 6026's Accepted state."""

    def __init__(self, request: Request, *, reliable: bool, timers: Timers | None = None) -> None:
        if request.method != "INVITE":
            raise SipStateError("ClientInviteTransaction needs an INVITE")
        super().__init__(request, reliable=reliable, timers=timers)
        self.key = client_key(request)
        self._a_interval = self.timers.t1
        self._ack: Request | None = None
        self._started = False

    def start(self) -> list[Action]:
        if self._started:
            raise SipStateError("transaction already started")
        self._started = True
        self.state = TransactionState.CALLING
        out: list[Action] = [SendMessage(self.request)]
        if not self.reliable:
            out.append(StartTimer(Timer.A, self._a_interval))
        out.append(StartTimer(Timer.B, 64 * self.timers.t1))
        return out

    def on_response(self, response: Response) -> list[Action]:
        state = self.state
        if state in (TransactionState.CALLING, TransactionState.PROCEEDING):
            if response.provisional:
                out: list[Action] = []
                if state is TransactionState.CALLING:
                    self.state = TransactionState.PROCEEDING
                    out += [StopTimer(Timer.A), StopTimer(Timer.B)]
                return [*out, DeliverResponse(response)]
            if response.success:
                self.state = TransactionState.ACCEPTED
                return [
                    StopTimer(Timer.A),
                    StopTimer(Timer.B),
                    DeliverResponse(response),
                    StartTimer(Timer.M, 64 * self.timers.t1),
                ]
            self.state = TransactionState.COMPLETED
            self._ack = make_ack_for_non_2xx(self.request, response)
            return [
                StopTimer(Timer.A),
                StopTimer(Timer.B),
                SendMessage(self._ack),
                DeliverResponse(response),
                StartTimer(Timer.D, 0.0 if self.reliable else 32.0),
            ]
        if state is TransactionState.ACCEPTED and response.success:
            return [DeliverResponse(response, retransmission=True)]
        if state is TransactionState.COMPLETED and response.final and not response.success and self._ack:
            return [SendMessage(self._ack)]
        return []  # stray or late responses are absorbed

    def on_timer(self, timer: Timer) -> list[Action]:
        if timer is Timer.A and self.state is TransactionState.CALLING:
            self._a_interval *= 2
            return [SendMessage(self.request), StartTimer(Timer.A, self._a_interval)]
        if timer is Timer.B and self.state is TransactionState.CALLING:
            return self._terminate(StopTimer(Timer.A), TimedOut(Timer.B))
        if (timer is Timer.D and self.state is TransactionState.COMPLETED) or (
            timer is Timer.M and self.state is TransactionState.ACCEPTED
        ):
            return self._terminate()
        return []


class ClientNonInviteTransaction(_Base):
    """§17.1.2 (Figure 6)."""

    def __init__(self, request: Request, *, reliable: bool, timers: Timers | None = None) -> None:
        if request.method in ("INVITE", "ACK"):
            raise SipStateError("INVITE and ACK do not use a non-INVITE client transaction")
        super().__init__(request, reliable=reliable, timers=timers)
        self.key = client_key(request)
        self._e_interval = self.timers.t1
        self._started = False

    def start(self) -> list[Action]:
        if self._started:
            raise SipStateError("transaction already started")
        self._started = True
        self.state = TransactionState.TRYING
        out: list[Action] = [SendMessage(self.request)]
        if not self.reliable:
            out.append(StartTimer(Timer.E, self._e_interval))
        out.append(StartTimer(Timer.F, 64 * self.timers.t1))
        return out

    def on_response(self, response: Response) -> list[Action]:
        if self.state not in (TransactionState.TRYING, TransactionState.PROCEEDING):
            return []
        if response.provisional:
            self.state = TransactionState.PROCEEDING
            return [DeliverResponse(response)]
        self.state = TransactionState.COMPLETED
        return [
            StopTimer(Timer.E),
            StopTimer(Timer.F),
            DeliverResponse(response),
            StartTimer(Timer.K, 0.0 if self.reliable else self.timers.t4),
        ]

    def on_timer(self, timer: Timer) -> list[Action]:
        if timer is Timer.E and self.state in (TransactionState.TRYING, TransactionState.PROCEEDING):
            if self.state is TransactionState.TRYING:
                self._e_interval = min(2 * self._e_interval, self.timers.t2)
            else:
                self._e_interval = self.timers.t2
            return [SendMessage(self.request), StartTimer(Timer.E, self._e_interval)]
        if timer is Timer.F and self.state in (TransactionState.TRYING, TransactionState.PROCEEDING):
            return self._terminate(StopTimer(Timer.E), TimedOut(Timer.F))
        if timer is Timer.K and self.state is TransactionState.COMPLETED:
            return self._terminate()
        return []


class ServerInviteTransaction(_Base):
    """§17.2.1 (Figure 7) with RFC 6026's Accepted state (and Timer N for 2xx retransmits)."""

    def __init__(self, request: Request, *, reliable: bool, timers: Timers | None = None) -> None:
        if request.method != "INVITE":
            raise SipStateError("ServerInviteTransaction needs an INVITE")
        super().__init__(request, reliable=reliable, timers=timers)
        self.key = server_key(request)
        self.last_response: Response | None = None
        self._g_interval = self.timers.t1
        self._n_interval = self.timers.t1
        self.acked = False

    def start(self, *, send_trying: bool = True) -> list[Action]:
        """Deliver the INVITE to the TU; send 100 Trying at once (§17.2.1 allows it, and it
        stops the client's Timer A)."""
        if self.state is not TransactionState.TERMINATED or self.last_response is not None:
            raise SipStateError("transaction already started")
        self.state = TransactionState.PROCEEDING
        out: list[Action] = [DeliverRequest(self.request)]
        if send_trying:
            trying = make_response(self.request, 100)
            self.last_response = trying
            out.insert(0, SendMessage(trying))
        return out

    def send_response(self, response: Response) -> list[Action]:
        if self.state is TransactionState.PROCEEDING:
            self.last_response = response
            if response.provisional:
                return [SendMessage(response)]
            if response.success:
                self.state = TransactionState.ACCEPTED
                out: list[Action] = [SendMessage(response), StartTimer(Timer.L, 64 * self.timers.t1)]
                if not self.reliable:
                    out.append(StartTimer(Timer.N, self._n_interval))
                return out
            self.state = TransactionState.COMPLETED
            out = [SendMessage(response)]
            if not self.reliable:
                out.append(StartTimer(Timer.G, self._g_interval))
            out.append(StartTimer(Timer.H, 64 * self.timers.t1))
            return out
        if self.state is TransactionState.ACCEPTED and response.success:
            return [SendMessage(response)]  # RFC 6026 §8.7: 2xx retransmits from the TU pass
        raise SipStateError(f"cannot send {response.status} in state {self.state.value}")

    def on_request(self, request: Request) -> list[Action]:
        """A retransmitted INVITE, or the ACK for a non-2xx final response."""
        if request.method == "INVITE":
            if self.state in (TransactionState.PROCEEDING, TransactionState.COMPLETED) and self.last_response:
                return [SendMessage(self.last_response)]
            return []  # Accepted/Confirmed absorb retransmissions (RFC 6026 §8.7)
        if request.method == "ACK" and self.state is TransactionState.COMPLETED:
            self.state = TransactionState.CONFIRMED
            return [
                StopTimer(Timer.G),
                StopTimer(Timer.H),
                StartTimer(Timer.I, 0.0 if self.reliable else self.timers.t4),
            ]
        return []

    def on_ack_for_2xx(self) -> list[Action]:
        """The dialog matched the ACK for our 2xx: stop retransmitting it (§13.3.1.4)."""
        if self.state is TransactionState.ACCEPTED and not self.acked:
            self.acked = True
            return [StopTimer(Timer.N)]
        return []

    def on_timer(self, timer: Timer) -> list[Action]:
        if timer is Timer.G and self.state is TransactionState.COMPLETED and self.last_response:
            self._g_interval = min(2 * self._g_interval, self.timers.t2)
            return [SendMessage(self.last_response), StartTimer(Timer.G, self._g_interval)]
        if timer is Timer.H and self.state is TransactionState.COMPLETED:
            return self._terminate(StopTimer(Timer.G), TimedOut(Timer.H))
        if timer is Timer.I and self.state is TransactionState.CONFIRMED:
            return self._terminate()
        if timer is Timer.N and self.state is TransactionState.ACCEPTED and not self.acked and self.last_response:
            self._n_interval = min(2 * self._n_interval, self.timers.t2)
            return [SendMessage(self.last_response), StartTimer(Timer.N, self._n_interval)]
        if timer is Timer.L and self.state is TransactionState.ACCEPTED:
            if self.acked:
                return self._terminate()
            # §13.3.1.4: no ACK within 64*T1 - the TU should end the dialog with a BYE
            return self._terminate(StopTimer(Timer.N), TimedOut(Timer.L))
        return []


class ServerNonInviteTransaction(_Base):
    """§17.2.2 (Figure 8)."""

    def __init__(self, request: Request, *, reliable: bool, timers: Timers | None = None) -> None:
        if request.method in ("INVITE", "ACK"):
            raise SipStateError("INVITE and ACK do not use a non-INVITE server transaction")
        super().__init__(request, reliable=reliable, timers=timers)
        self.key = server_key(request)
        self.last_response: Response | None = None
        self._started = False

    def start(self) -> list[Action]:
        if self._started:
            raise SipStateError("transaction already started")
        self._started = True
        self.state = TransactionState.TRYING
        return [DeliverRequest(self.request)]

    def send_response(self, response: Response) -> list[Action]:
        if self.state not in (TransactionState.TRYING, TransactionState.PROCEEDING):
            raise SipStateError(f"cannot send {response.status} in state {self.state.value}")
        self.last_response = response
        if response.provisional:
            self.state = TransactionState.PROCEEDING
            return [SendMessage(response)]
        self.state = TransactionState.COMPLETED
        return [SendMessage(response), StartTimer(Timer.J, 0.0 if self.reliable else 64 * self.timers.t1)]

    def on_request(self, request: Request) -> list[Action]:
        """A retransmission: absorbed in Trying, answered with the last response later."""
        if self.state in (TransactionState.PROCEEDING, TransactionState.COMPLETED) and self.last_response:
            return [SendMessage(self.last_response)]
        return []

    def on_timer(self, timer: Timer) -> list[Action]:
        if timer is Timer.J and self.state is TransactionState.COMPLETED:
            return self._terminate()
        return []


ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction
ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction
