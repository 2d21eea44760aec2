"""Content templates (Twilio's Content API, ``HX…``): the subset Openline serves, and rendering.

Types served: ``twilio/text`` (``body``) and ``twilio/media`` (``body``, ``media``: URLs). A
content may carry a WhatsApp approval (the name and category of the template as approved in
Meta's WhatsApp Manager): on WhatsApp such a content goes out as a template message, which
may open a conversation outside the 24-hour window; anywhere else it goes as its text/media.
Placeholders are ``{{1}}``, ``{{2}}``… (or named), filled from ContentVariables, else from the
content's own ``variables`` defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openline.core.errors import TwilioError

SERVED_TYPES = ("twilio/text", "twilio/media")
WHATSAPP_CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")
MAX_VARIABLES = 100
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]{1,64})\s*\}\}")


@dataclass(frozen=True, slots=True)
class Rendered:
    body: str
    media: tuple[str, ...]
    template: str | None  # the approved WhatsApp template name, if any
    language: str
    parameters: tuple[str, ...]  # template body parameters, in placeholder order


def check_types(types: Any) -> dict[str, dict[str, Any]]:
    """The ``types`` object of a create request, reduced to what Openline serves."""
    if not isinstance(types, dict) or not types:
        raise TwilioError(20001, "types must be an object with at least one content type")
    unknown = [name for name in types if name not in SERVED_TYPES]
    if unknown:
        raise TwilioError(20001, f"Content types {', '.join(unknown)} are not served: Openline serves "
                                 f"{', '.join(SERVED_TYPES)}")
    result: dict[str, dict[str, Any]] = {}
    for name, value in types.items():
        if not isinstance(value, dict) or not isinstance(value.get("body"), str) or not value["body"]:
            raise TwilioError(20001, f"types.{name}.body is required and must be a string")
        if len(value["body"]) > 1600:
            raise TwilioError(21617, f"types.{name}.body is longer than 1600 characters")
        item: dict[str, Any] = {"body": value["body"]}
        if name == "twilio/media":
            media = value.get("media")
            if not isinstance(media, list) or not media or not all(
                    isinstance(url, str) and re.match(r"^https?://", url) for url in media):
                raise TwilioError(20001, "types.twilio/media.media must be a list of http(s) URLs")
            item["media"] = media
        result[name] = item
    return result


def check_variables(raw: Any, name: str = "variables") -> dict[str, str]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise TwilioError(21656, f"{name} is not valid JSON") from None
    if not isinstance(raw, dict) or len(raw) > MAX_VARIABLES or not all(
            isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
            for k, v in raw.items()):
        raise TwilioError(21656, f"{name} must be a JSON object of strings")
    return {k: str(v) for k, v in raw.items()}


def render(types_json: str, defaults_json: str, language: str, approval_json: str | None,
           variables: Mapping[str, str]) -> Rendered:
    types: dict[str, dict[str, Any]] = json.loads(types_json)
    values = {**json.loads(defaults_json), **variables}
    chosen = types.get("twilio/media") or types.get("twilio/text") or {}
    template = str(chosen.get("body", ""))
    order: list[str] = []

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in order:
            order.append(key)
        return str(values.get(key, ""))

    body = _PLACEHOLDER.sub(fill, template)
    media = tuple(_PLACEHOLDER.sub(fill, url) for url in chosen.get("media", []))
    approval = json.loads(approval_json) if approval_json else None
    name = approval.get("name") if isinstance(approval, dict) and approval.get("status") == "approved" else None
    return Rendered(body, media, name, language, tuple(values.get(key, "") for key in order))
