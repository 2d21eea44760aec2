"""TwiML codecs: XML documents returned by customer webhooks, parsed into typed verbs."""

from openline.codecs.twiml.messaging import (
    MAX_TWIML_BYTES,
    TWILIO_DOCUMENT_PARSE_FAILURE,
    TWILIO_RESPONSE_TOO_LARGE,
    TWILIO_SCHEMA_VALIDATION,
    MessageVerb,
    MessagingResponse,
    RedirectVerb,
    TwimlError,
    parse_messaging_twiml,
)

__all__ = [
    "MAX_TWIML_BYTES",
    "TWILIO_DOCUMENT_PARSE_FAILURE",
    "TWILIO_RESPONSE_TOO_LARGE",
    "TWILIO_SCHEMA_VALIDATION",
    "MessageVerb",
    "MessagingResponse",
    "RedirectVerb",
    "TwimlError",
    "parse_messaging_twiml",
]

from openline.codecs.twiml import voice as voice
