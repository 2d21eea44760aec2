"""``GET /openapi.json``: the operations Openline serves, with their paths as prefixed routes.

Paths carry the product prefix (``/api/2010-04-01/...``, ``/verify/v2/...``) because that is
the one form that is unambiguous without a Host header. Response schemas are Twilio's own
(vendored by ``scripts/vendor_openapi_schemas.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from openline import __version__
from openline.api.framework import Operation

_PARAM = re.compile(r"{(\w+)}")


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Any]:
    text = resources.files("openline.api").joinpath("openapi_schemas.json").read_text()
    return dict(json.loads(text))


def _error_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["code", "message", "more_info", "status"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                           "more_info": {"type": "string", "format": "uri"}, "status": {"type": "integer"}}}


def _response(op: Operation) -> dict[str, Any]:
    if op.status == 204:
        return {"description": "Deleted"}
    if op.schema is None:
        return {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    ref = {"$ref": f"#/components/schemas/{op.schema}"}
    schema = ref if op.list_key is None else {
        "type": "object", "properties": {op.list_key: {"type": "array", "items": ref}}}
    return {"description": "OK" if op.status == 200 else "Created",
            "content": {"application/json": {"schema": schema}}}


def build(products: Mapping[str, Sequence[Operation]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for product, operations in products.items():
        for op in operations:
            path = f"/{product}{op.path}" if product else op.path
            item: dict[str, Any] = {
                "operationId": op.operation_id,
                "summary": op.summary,
                "tags": list(op.tags),
                "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                               for name in _PARAM.findall(op.path)],
                "responses": {str(op.status): _response(op),
                              "default": {"description": "Twilio error",
                                          "content": {"application/json": {
                                              "schema": {"$ref": "#/components/schemas/error"}}}}},
            }
            if op.authenticated:
                item["security"] = [{"accountSid_authToken": []}]
            if op.method in ("GET", "DELETE"):
                item["parameters"] += [{"name": name, "in": "query", "schema": {"type": "string"}}
                                       for name in op.parameters]
            elif op.parameters:
                item["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": {name: {"type": "string"} for name in op.parameters}}}}}
            if op.schema:
                used.add(op.schema)
            paths.setdefault(path, {})[op.method.lower()] = item
    schemas = _schemas()
    components = {name: schema for name, schema in schemas.items()
                  if name in used or not name.islower() or "_enum_" in name}
    components["error"] = _error_schema()
    return {
        "openapi": "3.0.1",
        "info": {"title": "Openline", "version": __version__,
                 "description": "Twilio-compatible API served by Openline"},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "accountSid_authToken": {"type": "http", "scheme": "basic"}}},
    }
