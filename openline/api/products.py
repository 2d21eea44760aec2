"""Product routing: Twilio's products share paths, so we tell them apart before routing.

``/v1/Services`` is both Messaging and Conversations; ``/v2/Services`` both Verify and Chat.
A client points at Openline in one of two ways (compatibility brief §1), and both must work:

* Host header: a custom HTTP client keeps ``Host: verify.twilio.com`` and sends the path as is.
* Path prefix: ``client.verify.base_url = "http://host:port/verify"`` sends ``/verify/v2/...``.

Bare ``/2010-04-01/...`` paths belong to the ``api`` product. SendGrid's API (product
``sendgrid``) is reached as ``Host: api.sendgrid.com``, under ``/sendgrid``, or at bare ``/v3/...``.
Anything else falls through to Openline's own endpoints (health, docs, OpenAPI, sandbox).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

PRODUCTS = ("api", "verify", "messaging", "conversations", "video", "monitor", "lookups", "accounts", "content")
TWILIO_DOMAIN = ".twilio.com"
SENDGRID = "sendgrid"
SENDGRID_HOST = "api.sendgrid.com"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class ProductRouter:
    def __init__(self, products: Mapping[str, ASGIApp], fallback: ASGIApp, errors_base: str) -> None:
        self._products = dict(products)
        self._fallback = fallback
        self._errors_base = errors_base
        self.public_base: str | None = None  # the configured public URL, if any

    def bound_to(self, base_url: str) -> None:
        """Called once the listening address is known (it may differ from the settings: --port 0)."""
        self._errors_base = base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # web chat's socket is routed like a request
            await self._fallback(scope, receive, send)
            return
        host = _header(scope, b"host")
        hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
        scheme = scope.get("scheme", "http")
        path: str = scope["path"]
        product: str | None = None
        external_base = f"{scheme}://{host}"
        if hostname.endswith(TWILIO_DOMAIN):
            label = hostname[: -len(TWILIO_DOMAIN)].split(".")[0]
            if label in self._products:
                product = label
                external_base = f"https://{hostname}"
        if hostname == SENDGRID_HOST and SENDGRID in self._products:
            product, external_base = SENDGRID, f"https://{hostname}"
        if product is None:
            first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
            if first in self._products and (path == f"/{first}" or path.startswith(f"/{first}/")):
                product = first
                prefix = f"/{first}"
                external_base = f"{scheme}://{host}{prefix}"
                # Handlers then see Twilio's own paths; 2010 links are written without prefix.
                scope = {k: v for k, v in scope.items() if k != "raw_path"}
                scope["path"] = path[len(prefix):] or "/"
            elif path.startswith("/2010-04-01/"):
                product = "api"
            elif path.startswith("/v3/") and SENDGRID in self._products:
                product = SENDGRID
        # Error pages live on this server: name it as the client reached it, unless the client
        # used a Twilio host name (then the configured or bound address is the useful one).
        errors_base = self._errors_base if hostname.endswith(TWILIO_DOMAIN) or not host else f"{scheme}://{host}"
        scope = dict(scope, openline={"product": product, "external_base": external_base,
                                      "errors_base": self.public_base or errors_base})
        app = self._products[product] if product is not None else self._fallback
        await app(scope, receive, send)
