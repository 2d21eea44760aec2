"""Sans-IO RTP/RTCP (RFC 3550) with RFC 4733 DTMF and a small jitter buffer.

Modules: ``packet`` (RTP), ``rtcp`` (SR/RR/BYE compound packets), ``sequence`` (wraparound,
RFC 3550 A.1 source state, jitter), ``jitter`` (adaptive playout buffer for G.711), ``dtmf``
(telephone-event payload, sender plan, deduping detector), ``stream`` (the sending side).
"""

from openline.codecs.rtp.dtmf import DtmfDetector, DtmfEnded, DtmfEvent, DtmfSender, DtmfStarted
from openline.codecs.rtp.errors import RtpParseError
from openline.codecs.rtp.jitter import JitterBuffer
from openline.codecs.rtp.packet import RtpPacket, looks_like_rtcp
from openline.codecs.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderInfo,
    SenderReport,
    build_compound,
    build_report,
    lsr_of,
    parse_compound,
    report_block,
    report_interval,
    sdes_cname,
)
from openline.codecs.rtp.sequence import SourceState, seq_diff, ts_diff, unwrap
from openline.codecs.rtp.stream import RtpSender

__all__ = [
    "Bye",
    "DtmfDetector",
    "DtmfEnded",
    "DtmfEvent",
    "DtmfSender",
    "DtmfStarted",
    "JitterBuffer",
    "ReceiverReport",
    "ReportBlock",
    "RtpPacket",
    "RtpParseError",
    "RtpSender",
    "SenderInfo",
    "SenderReport",
    "SourceState",
    "build_compound",
    "build_report",
    "looks_like_rtcp",
    "lsr_of",
    "parse_compound",
    "report_block",
    "report_interval",
    "sdes_cname",
    "seq_diff",
    "ts_diff",
    "unwrap",
]
