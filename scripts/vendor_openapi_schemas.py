"""Copy the component schemas Openline answers with out of Twilio's OpenAPI specs.

Run when an issue adds resources: ``python scripts/vendor_openapi_schemas.py``. The result,
``openline/api/openapi_schemas.json``, is package data that ``GET /openapi.json`` serves; the
specs themselves (MIT licensed, see shared/reference/twilio-oai/LICENSE) are not shipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT.parent / "shared" / "reference" / "twilio-oai"
OUT = ROOT / "openline" / "api" / "openapi_schemas.json"

# Openline schema name -> (spec file, Twilio component name)
WANTED = {
    "account": ("twilio_api_v2010.json", "api.v2010.account"),
    "key": ("twilio_api_v2010.json", "api.v2010.account.key"),
    "new_key": ("twilio_api_v2010.json", "api.v2010.account.new_key"),
    "application": ("twilio_api_v2010.json", "api.v2010.account.application"),
    "incoming_phone_number": ("twilio_api_v2010.json", "api.v2010.account.incoming_phone_number"),
    "available_phone_number_country": ("twilio_api_v2010.json", "api.v2010.account.available_phone_number_country"),
    "message": ("twilio_api_v2010.json", "api.v2010.account.message"),
    "media": ("twilio_api_v2010.json", "api.v2010.account.message.media"),
    "call": ("twilio_api_v2010.json", "api.v2010.account.call"),
    "recording": ("twilio_api_v2010.json", "api.v2010.account.recording"),
    "call_recording": ("twilio_api_v2010.json", "api.v2010.account.call.call_recording"),
    "messaging_service": ("twilio_messaging_v1.json", "messaging.v1.service"),
    "messaging_service_phone_number": ("twilio_messaging_v1.json", "messaging.v1.service.phone_number"),
    "messaging_service_alpha_sender": ("twilio_messaging_v1.json", "messaging.v1.service.alpha_sender"),
    "available_phone_number": (
        "twilio_api_v2010.json",
        "api.v2010.account.available_phone_number_country.available_phone_number_local",
    ),
    "verify_service": ("twilio_verify_v2.json", "verify.v2.service"),
    "verification": ("twilio_verify_v2.json", "verify.v2.service.verification"),
    "verification_check": ("twilio_verify_v2.json", "verify.v2.service.verification_check"),
    "verify_rate_limit": ("twilio_verify_v2.json", "verify.v2.service.rate_limit"),
    "verify_rate_limit_bucket": ("twilio_verify_v2.json", "verify.v2.service.rate_limit.bucket"),
    # Conversations v1: default-service and service-scoped forms of each resource.
    "conversation": ("twilio_conversations_v1.json", "conversations.v1.conversation"),
    "conversation_participant": (
        "twilio_conversations_v1.json", "conversations.v1.conversation.conversation_participant"),
    "conversation_message": ("twilio_conversations_v1.json", "conversations.v1.conversation.conversation_message"),
    "conversation_message_receipt": (
        "twilio_conversations_v1.json",
        "conversations.v1.conversation.conversation_message.conversation_message_receipt",
    ),
    "conversation_scoped_webhook": (
        "twilio_conversations_v1.json", "conversations.v1.conversation.conversation_scoped_webhook"),
    "service_conversation": ("twilio_conversations_v1.json", "conversations.v1.service.service_conversation"),
    "service_conversation_participant": (
        "twilio_conversations_v1.json",
        "conversations.v1.service.service_conversation.service_conversation_participant",
    ),
    "service_conversation_message": (
        "twilio_conversations_v1.json", "conversations.v1.service.service_conversation.service_conversation_message"),
    "service_conversation_message_receipt": (
        "twilio_conversations_v1.json",
        "conversations.v1.service.service_conversation.service_conversation_message."
        "service_conversation_message_receipt",
    ),
    "service_conversation_scoped_webhook": (
        "twilio_conversations_v1.json",
        "conversations.v1.service.service_conversation.service_conversation_scoped_webhook",
    ),
    "conversation_service": ("twilio_conversations_v1.json", "conversations.v1.service"),
    "conversation_configuration": ("twilio_conversations_v1.json", "conversations.v1.configuration"),
    "conversation_configuration_webhook": (
        "twilio_conversations_v1.json", "conversations.v1.configuration.configuration_webhook"),
    "conversation_service_configuration": (
        "twilio_conversations_v1.json", "conversations.v1.service.service_configuration"),
    "conversation_service_webhook_configuration": (
        "twilio_conversations_v1.json",
        "conversations.v1.service.service_configuration.service_webhook_configuration",
    ),
    "conversation_address": ("twilio_conversations_v1.json", "conversations.v1.configuration_address"),
    "conversation_user": ("twilio_conversations_v1.json", "conversations.v1.user"),
    "conversation_role": ("twilio_conversations_v1.json", "conversations.v1.role"),
    "conversation_service_user": ("twilio_conversations_v1.json", "conversations.v1.service.service_user"),
    "conversation_service_role": ("twilio_conversations_v1.json", "conversations.v1.service.service_role"),
    # Lookup v2's spec is not shipped: its operation carries no schema.
}


def _refs(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _relative_uris(node: object) -> None:
    """Twilio's specs mark relative URIs ("relative to https://api.twilio.com") as format `uri`,
    which a validator that checks formats rejects; describe them as `uri-reference`."""
    if isinstance(node, dict):
        if node.get("format") == "uri" and "relative to" in str(node.get("description", "")):
            node["format"] = "uri-reference"
        for value in node.values():
            _relative_uris(value)
    elif isinstance(node, list):
        for value in node:
            _relative_uris(value)


def main() -> int:
    out: dict[str, object] = {}
    specs: dict[str, dict] = {}
    for name, (file, component) in WANTED.items():
        spec = specs.setdefault(file, json.loads((SPECS / file).read_text()))
        schemas = spec["components"]["schemas"]
        out[name] = schemas[component]
        pending = _refs(schemas[component])
        while pending:  # enums referenced by the schema, kept under their own names
            ref = pending.pop()
            if ref not in out:
                out[ref] = schemas[ref]
                pending |= _refs(schemas[ref])
    _relative_uris(out)
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out)} schemas to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
