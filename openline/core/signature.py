"""X-Twilio-Signature: how Openline signs the webhooks it sends, exactly as Twilio does.

Theory of operation (Twilio docs, "Webhooks security" / "Security"; twilio-python 9.13
``twilio/request_validator.py``, which is what customers validate with):

* The signed string is the URL Twilio requested (scheme and query string included)
  followed, for form-encoded POST bodies, by every parameter as ``name + value`` with
  the names in sorted order. A repeated name contributes every one of its values,
  sorted; identical values count once, because both the Python and the Node validators
  do ``sorted(set(values))``. Sorting is by code point (Python ``sorted``), which is the
  same as byte order of the UTF-8 encoding ("Unix-style case-sensitive" in the docs).
* The header is ``base64(HMAC-SHA1(auth_token, utf8(string)))``.
* GET requests carry their parameters in the query string, so only the URL is signed.
* JSON bodies: ``bodySHA256=<hex sha256 of the raw body>`` is added to the URL's query
  and only that URL is signed (no parameters); the validator checks both.
* Webhook Rules with a SharedKey sign the same string with HMAC-SHA256 and announce it
  in ``X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256``.
* Which URL is signed (Twilio docs, Security, "Notes"): "For SMS and voice callbacks
  over HTTP, Twilio will drop the username and password (if any) from the URL before
  computing the signature. For SMS and voice callbacks over HTTPS, Twilio will drop the
  username, password and port (if any)". The fragment (connection overrides) is never
  part of a request, so it is never signed either. :func:`signed_url` does all three.

Pure and stdlib-only on purpose: the API layer can use it to check signatures too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

Params = Sequence[tuple[str, str]]


def _signing_string(url: str, params: Params | None) -> str:
    if not params:
        return url
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    parts = [url]
    for name in sorted(by_name):
        for value in sorted(by_name[name]):
            parts.append(name)
            parts.append(value)
    return "".join(parts)


def _sign(digest: str, key: str, url: str, params: Params | None) -> str:
    mac = hmac.new(key.encode("utf-8"), _signing_string(url, params).encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def twilio_signature(auth_token: str, url: str, params: Params | None) -> str:
    """The ``X-Twilio-Signature`` value (HMAC-SHA1) for ``url`` and form ``params``.

    ``url`` must already be the URL as Twilio signs it (see :func:`signed_url`);
    pass ``None`` or ``()`` for GET requests and JSON bodies.
    """
    return _sign("sha1", auth_token, url, params)


def twilio_signature_sha256(secret: str, url: str, params: Params | None) -> str:
    """The HMAC-SHA256 variant used with ``X-Twilio-Webhooks-Signature-Settings``."""
    return _sign("sha256", secret, url, params)


def json_body_url(url: str, body: bytes) -> str:
    """``url`` with ``bodySHA256=<hex sha256 of body>`` added to its query string.

    The parameter goes last in the query, before any fragment, so the rest of the URL
    keeps its exact bytes (the signature covers them).
    """
    base, hash_mark, fragment = url.partition("#")
    digest = hashlib.sha256(body).hexdigest()
    if "?" not in base:
        separator = "?"
    elif base.endswith(("?", "&")):
        separator = ""
    else:
        separator = "&"
    return f"{base}{separator}bodySHA256={digest}{hash_mark}{fragment}"


def signed_url(url: str) -> str:
    """The URL as Twilio signs it: no fragment, no userinfo, and no port for https.

    Only those pieces are cut; everything else keeps its exact characters, because
    Twilio signs "the Webhook URL set in Twilio", not a normalized form of it.
    """
    url = url.partition("#")[0]
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for stop in "/?":
        index = rest.find(stop)
        if index != -1:
            end = min(end, index)
    authority, tail = rest[:end], rest[end:]
    host_port = authority.rpartition("@")[2]
    if scheme.lower() == "https":
        host_port = _without_port(host_port)
    return f"{scheme}://{host_port}{tail}"


def _without_port(host_port: str) -> str:
    if host_port.startswith("["):  # IPv6 literal, RFC 3986 §3.2.2
        closing = host_port.find("]")
        return host_port if closing == -1 else host_port[: closing + 1]
    return host_port.partition(":")[0]
