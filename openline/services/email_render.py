"""What one personalization's message says: templates, substitutions, footer, tracking.

Tracking links carry a signed token (HMAC-SHA256 under a key derived from the installation's
master key), so the open pixel, click redirects and one-click unsubscribe URLs cannot be forged
to record events or unsubscribe someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from openline.codecs.handlebars import Template, TemplateError
from openline.core.email import Content, MailRequest, Personalization, SendGridError

_HREF = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*)(["\'])(https?://[^"\']+)\2', re.I)
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+")
TOKEN_MAC_BYTES = 12


@lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    return Template.parse(source)


def render_handlebars(source: str, data: dict[str, Any], field: str) -> str:
    try:
        return compiled(source).render(data)
    except TemplateError as exc:
        raise SendGridError(400, f"The template could not be rendered: {exc}", field) from None


class Tokens:
    """Signed, URL-safe tokens for tracking links."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, values: list[Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).rstrip(b"=")
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:TOKEN_MAC_BYTES]
        return body.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def read(self, token: str) -> list[Any] | None:
        body, _, mac = token.partition(".")
        try:
            expected = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:TOKEN_MAC_BYTES]
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
            if not hmac.compare_digest(expected, given):
                return None
            values = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, UnicodeError):
            return None
        return values if isinstance(values, list) else None


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    subject: str
    html: str
    plain: str


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    contents: list[Content]
    headers: dict[str, str]


def _substitute(text: str, subs: dict[str, str]) -> str:
    # Longest keys first, so "-name-" never eats part of "-name-full-".
    for key in sorted(subs, key=len, reverse=True):
        text = text.replace(key, subs[key])
    return text


def render(request: MailRequest, p: Personalization, version: TemplateVersion | None) -> Rendered:
    """Subject, bodies and headers of one personalization (before tracking)."""
    headers = {**request.headers, **p.headers}
    if request.dynamic:
        if version is None:
            raise SendGridError(400, "The template_id does not exist or has no active version.", "template_id")
        data = p.dynamic_template_data
        subject = render_handlebars(version.subject, data, "subject") if version.subject else (
            p.subject or request.subject or "")
        contents: list[Content] = []
        if version.plain:
            contents.append(Content("text/plain", render_handlebars(version.plain, data, "plain_content")))
        if version.html:
            contents.append(Content("text/html", render_handlebars(version.html, data, "html_content")))
        if not contents:
            contents = list(request.content)
        return Rendered(subject, contents, headers)
    subs = p.substitutions
    subject = _substitute(p.subject or request.subject or (version.subject if version else ""), subs)
    contents = [Content(c.type, _substitute(c.value, subs)) for c in request.content]
    if version is not None:  # a legacy template wraps the content at <%body%> / <%subject%>
        wrapped: list[Content] = []
        for c in contents:
            shell = version.html if c.type == "text/html" else version.plain if c.type == "text/plain" else ""
            wrapped.append(Content(c.type, shell.replace("<%body%>", c.value)) if "<%body%>" in shell else c)
        contents = wrapped
        subject = version.subject.replace("<%subject%>", subject) if "<%subject%>" in version.subject else subject
    return Rendered(subject, contents, headers)


def add_footer(rendered: Rendered, request: MailRequest) -> Rendered:
    if request.footer_text is None and request.footer_html is None:
        return rendered
    contents = []
    for c in rendered.contents:
        if c.type == "text/plain" and request.footer_text:
            c = Content(c.type, c.value + "\n\n" + request.footer_text)
        elif c.type == "text/html" and request.footer_html:
            c = Content(c.type, _before_body_end(c.value, request.footer_html))
        contents.append(c)
    return replace(rendered, contents=contents)


def _before_body_end(document: str, fragment: str) -> str:
    index = document.lower().rfind("</body>")
    return document[:index] + fragment + document[index:] if index >= 0 else document + fragment


def _linker(href: str) -> Any:
    def link(match: re.Match[str]) -> str:
        return f'<a href="{href}">{match.group(1)}</a>'
    return link


def add_tracking(rendered: Rendered, request: MailRequest, base_url: str, token: Any,
                 unsubscribe_url: str | None) -> Rendered:
    """Open pixel, click redirects and the subscription footer, as SendGrid's tracking settings ask."""
    tracking = request.tracking
    contents = []
    for c in rendered.contents:
        value = c.value
        if c.type == "text/html":
            if tracking.click:
                value = _HREF.sub(lambda m: m.group(1) + m.group(2) + html.escape(
                    f"{base_url}/email/v1/c/{token(['c', html.unescape(m.group(3))])}") + m.group(2), value)
            if tracking.subscription and unsubscribe_url:
                href = html.escape(unsubscribe_url)
                footer = re.sub(r"<%\s*([^%]*?)\s*%>", _linker(href),
                                tracking.subscription_html or "<p><% Unsubscribe %></p>")
                if tracking.subscription_tag and tracking.subscription_tag in value:
                    value = value.replace(tracking.subscription_tag, html.escape(unsubscribe_url))
                else:
                    value = _before_body_end(value, footer)
            if tracking.open:
                pixel = (f'<img src="{base_url}/email/v1/o/{token(["o"])}.gif" alt="" width="1" height="1" '
                         'border="0" style="height:1px !important;width:1px !important;border-width:0 !important">')
                tag = tracking.open_substitution_tag
                value = value.replace(tag, pixel) if tag and tag in value else _before_body_end(value, pixel)
        elif c.type == "text/plain":
            if tracking.click and tracking.click_text:
                value = _URL_IN_TEXT.sub(lambda m: f"{base_url}/email/v1/c/{token(['c', m.group(0)])}", value)
            if tracking.subscription and unsubscribe_url:
                text = tracking.subscription_text or "If you would like to unsubscribe, click here: <% %>"
                text = re.sub(r"<%\s*[^%]*?\s*%>", unsubscribe_url, text)
                if tracking.subscription_tag and tracking.subscription_tag in value:
                    value = value.replace(tracking.subscription_tag, unsubscribe_url)
                else:
                    value = value + "\n\n" + text
        contents.append(Content(c.type, value))
    return replace(rendered, contents=contents)
