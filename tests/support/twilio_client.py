"""Point the official twilio SDK at Openline, both ways the compatibility brief describes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

PRODUCT_DOMAINS = ("api", "verify", "messaging", "conversations", "video", "monitor", "lookups", "accounts",
                   "content")


class OpenlineHttpClient(TwilioHttpClient):
    """Sends every *.twilio.com request to Openline, keeping the product in the Host header."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base = urlsplit(base_url)
        # (method, product, path as Twilio writes it, response) for every request made
        self.exchanges: list[tuple[str, str, str, Response]] = []

    def request(self, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None,
                auth: Any = None, timeout: Any = None, allow_redirects: bool = False) -> Response:
        parts = urlsplit(url)
        product = (parts.hostname or "api").split(".")[0]
        if parts.hostname and parts.hostname.endswith(".twilio.com"):
            headers = dict(headers or {})
            headers["Host"] = parts.hostname
            url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, parts.fragment))
        response = super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                   timeout=timeout, allow_redirects=allow_redirects)
        self.exchanges.append((method, product, parts.path, response))
        return response


class RecordingHttpClient(TwilioHttpClient):
    """Plain client (for the base_url style) that remembers what it saw."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exchanges: list[tuple[str, str, str, Response]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        response = super().request(method, url, *args, **kwargs)
        product, _, rest = urlsplit(url).path.lstrip("/").partition("/")
        self.exchanges.append((method, product, "/" + rest, response))
        return response


def host_style_client(base_url: str, username: str, password: str, account_sid: str | None = None) -> Client:
    return Client(username, password, account_sid=account_sid, http_client=OpenlineHttpClient(base_url))


def prefix_style_client(base_url: str, username: str, password: str, account_sid: str | None = None) -> Client:
    client = Client(username, password, account_sid=account_sid, http_client=RecordingHttpClient())
    for product in PRODUCT_DOMAINS:
        domain = getattr(client, product, None)
        if domain is not None:
            domain.base_url = f"{base_url}/{product}"
    return client


def rest_error(call: Any) -> tuple[int, int]:
    """(HTTP status, Twilio code) of the error a call raises; lists raise the plain exception."""
    import json

    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        call()
    except TwilioRestException as exc:
        return exc.status, int(exc.code)
    except TwilioException as exc:  # "Unable to fetch page": the body is not parsed by the SDK
        response = exc.args[1]
        return response.status_code, int(json.loads(response.text)["code"])
    raise AssertionError("the call did not fail")
