"""Building requests and responses the way RFC 3261 §8.1.1 and §8.2.6 say they are made.

Identifiers (tags, branches, Call-IDs) are arguments: the codec neither reads a clock nor owns
randomness; :func:`new_token` is the default source, used by transports, replaceable in tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from openline.codecs.sip.headers import BRANCH_MAGIC, CSeq, NameAddr, Via, canonical_name
from openline.codecs.sip.message import Headers, Request, Response
from openline.codecs.sip.uri import Uri

__all__ = ["REASONS", "make_request", "make_response", "new_branch", "new_token", "reason_phrase"]

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    return REASONS.get(status, "Unknown")


def new_token(nbytes: int = 8) -> str:
    return secrets.token_hex(nbytes)


def new_branch(token: str | None = None) -> str:
    """A §8.1.1.7 branch: the magic cookie plus a value unique in space and time."""
    return BRANCH_MAGIC + (token or new_token())


def make_request(
    method: str,
    uri: Uri,
    *,
    from_: NameAddr,
    to: NameAddr,
    call_id: str,
    cseq: int,
    via: Via,
    contact: NameAddr | None = None,
    routes: Iterable[NameAddr] = (),
    max_forwards: int = 70,
    body: bytes = b"",
    content_type: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> Request:
    """A new request with the §8.1.1 header set, in the customary order."""
    headers = Headers()
    headers.add("Via", str(via))
    headers.add("Max-Forwards", str(max_forwards))
    for route in routes:
        headers.add("Route", str(route))
    headers.add("From", str(from_))
    headers.add("To", str(to))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", str(CSeq(cseq, method)))
    if contact is not None:
        headers.add("Contact", str(contact))
    for name, value in extra:
        headers.add(name, value)
    if body:
        headers.add("Content-Type", content_type or "application/sdp")
    headers.add("Content-Length", str(len(body)))
    return Request(method=method, uri=uri, headers=headers, body=body)


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    contact: NameAddr | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> Response:
    """§8.2.6.2: copy Via (all, in order), From, Call-ID, CSeq and Record-Route (§12.1.1) from the
    request; To gets our tag unless it has one already or the response is a 100 (§8.2.6.2)."""
    headers = Headers()
    for name, value in request.headers:
        cname = canonical_name(name)
        if cname in ("Via", "From", "Call-ID", "CSeq") or (cname == "Record-Route" and 100 < status < 300):
            headers.add(cname, value)
        elif cname == "To":
            to = NameAddr.parse(value)
            if to_tag is not None and to.tag is None and status != 100:
                value = str(to.with_tag(to_tag))
            headers.add("To", value)
    if contact is not None:
        headers.add("Contact", str(contact))
    for name, value in extra:
        headers.add(name, value)
    if body:
        headers.add("Content-Type", content_type or "application/sdp")
    headers.add("Content-Length", str(len(body)))
    return Response(status=status, reason=reason or reason_phrase(status), headers=headers, body=body)
