"""Sans-IO SMTP client: replies and EHLO capabilities (``replies``), commands and content framing
(``commands``), and the session state machine with PIPELINING (``client``)."""

from openline.codecs.smtp.client import (
    Authenticated,
    ClientSession,
    Closed,
    MailOutcome,
    NeedData,
    Phase,
    Ready,
    Refused,
    SessionError,
    TlsReady,
)
from openline.codecs.smtp.commands import CommandError, data_content
from openline.codecs.smtp.replies import Capabilities, Reply, ReplyReader, SmtpParseError

__all__ = ["Authenticated", "Capabilities", "ClientSession", "Closed", "CommandError", "MailOutcome", "NeedData",
           "Phase", "Ready", "Refused", "Reply", "ReplyReader", "SessionError", "SmtpParseError", "TlsReady",
           "data_content"]
