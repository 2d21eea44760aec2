"""SIP dialogs (RFC 3261 §12) for a UAC or a UAS, sans-IO.

A dialog is the peer-to-peer relationship an INVITE creates: Call-ID, local and remote tags,
the route set, the remote target and both CSeq counters. It builds in-dialog requests
(§12.2.1.1: Request-URI and Route from the route set, loose or strict routing), checks the
CSeq order of incoming in-dialog requests (§12.2.2: lower ones get 500) and refreshes the
remote target on re-INVITE/UPDATE (§12.2.2, §12.2.1.2).

    dialog = Dialog.from_uac(invite, response)        # 1xx with To tag (early) or 2xx
    dialog = Dialog.from_uas(invite, local_tag=..., local_contact=...)
    bye = dialog.create_request("BYE", via=Via(...))
    ack = dialog.create_ack(invite_cseq, via=Via(...))  # §13.2.2.4: new branch, INVITE's CSeq
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from openline.codecs.sip.builders import make_request
from openline.codecs.sip.errors import SipParseError, SipStateError
from openline.codecs.sip.headers import NameAddr, Via
from openline.codecs.sip.message import Request, Response
from openline.codecs.sip.uri import SipUri, Uri

__all__ = ["Dialog", "DialogId", "DialogState", "dialog_id_of_request", "dialog_id_of_response"]

DialogId = tuple[str, str, str]  # (Call-ID, local tag, remote tag)
_TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})


class DialogState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def dialog_id_of_request(request: Request) -> DialogId:
    """The id of the dialog an incoming request belongs to, as seen by the UAS (§12.2.2)."""
    return (request.call_id, request.to.tag or "", request.from_.tag or "")


def dialog_id_of_response(response: Response) -> DialogId:
    """The id of the dialog a response belongs to, as seen by the UAC (§12.1.2)."""
    return (response.call_id, response.from_.tag or "", response.to.tag or "")


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr
    remote_uri: NameAddr
    remote_target: Uri
    route_set: list[NameAddr] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int | None = None
    local_contact: NameAddr | None = None
    secure: bool = False
    is_uac: bool = True
    state: DialogState = DialogState.EARLY

    @property
    def id(self) -> DialogId:
        return (self.call_id, self.local_tag, self.remote_tag)

    # --- creation ------------------------------------------------------------------------

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """§12.1.2: route set = Record-Route reversed, remote target = Contact, state from the
        response class (1xx with a To tag = early, 2xx = confirmed)."""
        if not 100 < response.status < 300:
            raise SipStateError("only 101-299 responses create dialogs")
        remote_tag = response.to.tag
        if not remote_tag:
            raise SipParseError("dialog-creating response without a To tag")
        local_tag = request.from_.tag
        if not local_tag:
            raise SipStateError("request without a From tag")
        contact = response.contact
        if contact is None:
            if response.success:
                raise SipParseError("2xx to INVITE without Contact")  # §13.3.1.4 MUST
            target: Uri = request.request_uri
        else:
            target = contact.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=_without_tag(request.from_),
            remote_uri=_without_tag(response.to),
            remote_target=target,
            route_set=list(reversed(response.record_routes)),
            local_cseq=request.cseq.number,
            remote_cseq=None,
            local_contact=request.contact,
            secure=isinstance(request.request_uri, SipUri) and request.request_uri.secure,
            is_uac=True,
            state=DialogState.CONFIRMED if response.success else DialogState.EARLY,
        )

    @classmethod
    def from_uas(
        cls, request: Request, *, local_tag: str, local_contact: NameAddr, local_cseq: int = 1, confirmed: bool = False
    ) -> Dialog:
        """§12.1.1: route set = Record-Route in order, remote target = Contact, remote CSeq =
        the request's. The dialog is early until our 2xx is sent (``confirm()``)."""
        contact = request.contact
        if contact is None:
            raise SipParseError("dialog-creating request without Contact")  # §8.1.1.8 MUST
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=_without_tag(request.to),
            remote_uri=_without_tag(request.from_),
            remote_target=contact.uri,
            route_set=list(request.record_routes),
            local_cseq=local_cseq,
            remote_cseq=request.cseq.number,
            local_contact=local_contact,
            secure=isinstance(request.request_uri, SipUri) and request.request_uri.secure,
            is_uac=False,
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
        )

    def confirm(self) -> None:
        if self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED

    # --- requests within the dialog ---------------------------------------------------------

    def _route_and_uri(self) -> tuple[Uri, list[NameAddr]]:
        """§12.2.1.1: loose routing keeps the remote target as Request-URI; a strict router
        first in the route set becomes the Request-URI and the target goes last."""
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0].uri
        if isinstance(first, SipUri) and first.loose_route:
            return self.remote_target, list(self.route_set)
        uri = first.without_headers() if isinstance(first, SipUri) else first
        return uri, [*self.route_set[1:], NameAddr(uri=self.remote_target)]

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> Request:
        if self.state is DialogState.TERMINATED:
            raise SipStateError("dialog is terminated")
        if method in ("ACK", "CANCEL"):
            raise SipStateError("use create_ack (CANCEL belongs to the INVITE's transaction)")
        self.local_cseq += 1
        uri, routes = self._route_and_uri()
        return make_request(
            method,
            uri,
            from_=self.local_uri.with_tag(self.local_tag),
            to=self.remote_uri.with_tag(self.remote_tag),
            call_id=self.call_id,
            cseq=self.local_cseq,
            via=via,
            contact=self.local_contact if method in _TARGET_REFRESH else None,
            routes=routes,
            body=body,
            content_type=content_type,
            extra=extra,
        )

    def create_ack(self, invite_cseq: int, *, via: Via, body: bytes = b"", content_type: str | None = None) -> Request:
        """§13.2.2.4: the ACK for a 2xx is built by the UAC core like any in-dialog request but
        with the CSeq number of the INVITE and its own branch."""
        uri, routes = self._route_and_uri()
        return make_request(
            "ACK",
            uri,
            from_=self.local_uri.with_tag(self.local_tag),
            to=self.remote_uri.with_tag(self.remote_tag),
            call_id=self.call_id,
            cseq=invite_cseq,
            via=via,
            routes=routes,
            body=body,
            content_type=content_type,
        )

    def receive_request(self, request: Request) -> int | None:
        """Check an incoming in-dialog request (§12.2.2). Returns a status to reject it with
        (500 for an out-of-order CSeq, 481 for a foreign dialog), or None if it is accepted.
        ACK and CANCEL carry the INVITE's CSeq and are not ordered."""
        if dialog_id_of_request(request) != self.id:
            return 481
        if request.method in ("ACK", "CANCEL"):
            return None
        number = request.cseq.number
        if self.remote_cseq is not None and number <= self.remote_cseq:
            return 500
        self.remote_cseq = number
        if request.method in _TARGET_REFRESH and request.contact is not None:
            self.remote_target = request.contact.uri
        if request.method == "BYE":
            self.terminate()
        return None

    def receive_response(self, request: Request, response: Response) -> None:
        """A response to our in-dialog request: target refresh on 2xx (§12.2.1.2), confirm an
        early dialog on 2xx, and 481/408 end the dialog (§12.2.1.2)."""
        if response.status in (481, 408):
            self.terminate()
            return
        if response.success:
            if request.method == "BYE":
                self.terminate()
                return
            if self.state is DialogState.EARLY and request.method == "INVITE":
                self.confirm()
            if request.method in _TARGET_REFRESH and response.contact is not None:
                self.remote_target = response.contact.uri


def _without_tag(addr: NameAddr) -> NameAddr:
    return replace(addr, params=tuple((k, v) for k, v in addr.params if k.lower() != "tag"))
