"""Validate response bodies against Twilio's own OpenAPI specs (shared/reference/twilio-oai)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "twilio-oai"
# Content v1 is not among the shared specs: a subset of it lives with the tests (see its info.description).
LOCAL_SPEC_DIR = Path(__file__).resolve().parent / "specs"
SPEC_FILES = {
    "api": "twilio_api_v2010.json",
    "verify": "twilio_verify_v2.json",
    "messaging": "twilio_messaging_v1.json",
    "conversations": "twilio_conversations_v1.json",
    "video": "twilio_video_v1.json",
    "content": "twilio_content_v1.json",
}


@cache
def spec(product: str) -> dict[str, Any]:
    local = LOCAL_SPEC_DIR / SPEC_FILES[product]
    return dict(json.loads((local if local.exists() else SPEC_DIR / SPEC_FILES[product]).read_text()))


@cache
def _templates(product: str) -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in spec(product)["paths"]:
        regex = "^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$"
        out.append((re.compile(regex), template))
    out.sort(key=lambda pair: pair[1].count("{"))  # literal segments first
    return out


def operation(product: str, method: str, path: str) -> tuple[str, dict[str, Any]]:
    for regex, template in _templates(product):
        if regex.match(path) and method.lower() in spec(product)["paths"][template]:
            return template, spec(product)["paths"][template][method.lower()]
    raise LookupError(f"no {method} {path} in the {product} spec")


def _resolve(product: str, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec(product)["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _check_all_fields(product: str, schema: dict[str, Any], body: Any, where: str) -> None:
    schema = _resolve(product, schema)
    if schema.get("type") == "object" and isinstance(body, dict):
        missing = sorted(set(schema.get("properties", {})) - set(body))
        assert not missing, f"{where}: fields missing from the response: {missing}"
        for name, sub in schema.get("properties", {}).items():
            sub = _resolve(product, sub)
            if sub.get("type") == "array" and isinstance(body.get(name), list):
                for i, item in enumerate(body[name]):
                    _check_all_fields(product, sub.get("items", {}), item, f"{where}.{name}[{i}]")


def validate(product: str, method: str, path: str, status: int, body: Any) -> str:
    """Validate ``body`` against the spec's schema for that response; returns the path template."""
    template, op = operation(product, method, path)
    responses = op["responses"]
    response = responses.get(str(status))
    assert response is not None, f"{method} {template}: status {status} not in the spec ({list(responses)})"
    content = response.get("content", {}).get("application/json")
    if content is None:
        assert body in (None, b"", ""), f"{method} {template}: expected no body"
        return template
    schema = dict(content["schema"], components=spec(product)["components"])
    OAS30Validator(schema).validate(body)
    _check_all_fields(product, content["schema"], body, f"{method} {template}")
    return template


ERROR_KEYS = {"code", "message", "more_info", "status"}


def check_error_body(body: Any, code: int, status: int) -> None:
    assert isinstance(body, dict)
    assert set(body) == ERROR_KEYS, f"error envelope keys {sorted(body)}"
    assert body["code"] == code and body["status"] == status, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["more_info"].endswith(f"/docs/errors/{code}")
