"""Sans-IO SMPP v3.4 codec: PDUs, TLVs, session state machine, encodings, UDH, receipts."""

from openline.codecs.smpp import pdus_message, pdus_session  # noqa: F401  (fills the registry)
