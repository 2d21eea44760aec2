"""The command_status catalogue (SMPP v3.4 §5.1.3) and the transient/permanent split.

Codes 0x0100-0x03FF are reserved for SMPP extensions and 0x0400-0x04FF for SMSC vendors
(§5.1.3, last rows); PDUs therefore carry ``command_status`` as a plain ``int`` and this Enum
names only the codes the v3.4 table defines.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CommandStatus", "describe_status", "is_transient"]


class CommandStatus(IntEnum):
    """SMPP v3.4 Table 5-2 (§5.1.3), value and description as the spec gives them."""

    description: str

    def __new__(cls, value: int, description: str) -> CommandStatus:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    ESME_ROK = 0x00000000, "No Error"
    ESME_RINVMSGLEN = 0x00000001, "Message Length is invalid"
    ESME_RINVCMDLEN = 0x00000002, "Command Length is invalid"
    ESME_RINVCMDID = 0x00000003, "Invalid Command ID"
    ESME_RINVBNDSTS = 0x00000004, "Incorrect BIND Status for given command"
    ESME_RALYBND = 0x00000005, "ESME Already in Bound State"
    ESME_RINVPRTFLG = 0x00000006, "Invalid Priority Flag"
    ESME_RINVREGDLVFLG = 0x00000007, "Invalid Registered Delivery Flag"
    ESME_RSYSERR = 0x00000008, "System Error"
    ESME_RINVSRCADR = 0x0000000A, "Invalid Source Address"
    ESME_RINVDSTADR = 0x0000000B, "Invalid Dest Addr"
    ESME_RINVMSGID = 0x0000000C, "Message ID is invalid"
    ESME_RBINDFAIL = 0x0000000D, "Bind Failed"
    ESME_RINVPASWD = 0x0000000E, "Invalid Password"
    ESME_RINVSYSID = 0x0000000F, "Invalid System ID"
    ESME_RCANCELFAIL = 0x00000011, "Cancel SM Failed"
    ESME_RREPLACEFAIL = 0x00000013, "Replace SM Failed"
    ESME_RMSGQFUL = 0x00000014, "Message Queue Full"
    ESME_RINVSERTYP = 0x00000015, "Invalid Service Type"
    ESME_RINVNUMDESTS = 0x00000033, "Invalid number of destinations"
    ESME_RINVDLNAME = 0x00000034, "Invalid Distribution List name"
    ESME_RINVDESTFLAG = 0x00000040, "Destination flag is invalid (submit_multi)"
    ESME_RINVSUBREP = 0x00000042, "Invalid 'submit with replace' request"
    ESME_RINVESMCLASS = 0x00000043, "Invalid esm_class field data"
    ESME_RCNTSUBDL = 0x00000044, "Cannot Submit to Distribution List"
    ESME_RSUBMITFAIL = 0x00000045, "submit_sm or submit_multi failed"
    ESME_RINVSRCTON = 0x00000048, "Invalid Source address TON"
    ESME_RINVSRCNPI = 0x00000049, "Invalid Source address NPI"
    ESME_RINVDSTTON = 0x00000050, "Invalid Destination address TON"
    ESME_RINVDSTNPI = 0x00000051, "Invalid Destination address NPI"
    ESME_RINVSYSTYP = 0x00000053, "Invalid system_type field"
    ESME_RINVREPFLAG = 0x00000054, "Invalid replace_if_present flag"
    ESME_RINVNUMMSGS = 0x00000055, "Invalid number of messages"
    ESME_RTHROTTLED = 0x00000058, "Throttling error (ESME has exceeded allowed message limits)"
    ESME_RINVSCHED = 0x00000061, "Invalid Scheduled Delivery Time"
    ESME_RINVEXPIRY = 0x00000062, "Invalid message validity period (Expiry time)"
    ESME_RINVDFTMSGID = 0x00000063, "Predefined Message Invalid or Not Found"
    ESME_RX_T_APPN = 0x00000064, "ESME Receiver Temporary App Error Code"
    ESME_RX_P_APPN = 0x00000065, "ESME Receiver Permanent App Error Code"
    ESME_RX_R_APPN = 0x00000066, "ESME Receiver Reject Message Error Code"
    ESME_RQUERYFAIL = 0x00000067, "query_sm request failed"
    ESME_RINVOPTPARSTREAM = 0x000000C0, "Error in the optional part of the PDU Body"
    ESME_ROPTPARNOTALLWD = 0x000000C1, "Optional Parameter not allowed"
    ESME_RINVPARLEN = 0x000000C2, "Invalid Parameter Length"
    ESME_RMISSINGOPTPARAM = 0x000000C3, "Expected Optional Parameter missing"
    ESME_RINVOPTPARAMVAL = 0x000000C4, "Invalid Optional Parameter Value"
    ESME_RDELIVERYFAILURE = 0x000000FE, "Delivery Failure (used for data_sm_resp)"
    ESME_RUNKNOWNERR = 0x000000FF, "Unknown Error"


# Statuses after which the *same* PDU may succeed later, so a sender should back off and retry
# rather than fail the message. The spec does not classify codes; this follows the descriptions:
#  - RTHROTTLED / RMSGQFUL: explicitly about rate or queue capacity, i.e. time-limited;
#  - RSYSERR: the SMSC's own fault, not the message's;
#  - RX_T_APPN: "Temporary" by name (the ESME-side counterpart, §5.1.3);
#  - RINVBNDSTS: the session, not the message, was in the wrong state (retry after re-bind).
# Everything else - including vendor codes 0x0400-0x04FF, whose meaning we cannot know - is
# permanent by default; routing can override per carrier.
_TRANSIENT: frozenset[int] = frozenset(
    {
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RX_T_APPN,
        CommandStatus.ESME_RINVBNDSTS,
    }
)


def is_transient(command_status: int) -> bool:
    """True when a request refused with ``command_status`` is worth retrying unchanged."""
    return command_status in _TRANSIENT


_BY_VALUE: dict[int, CommandStatus] = {int(member): member for member in CommandStatus}


def describe_status(command_status: int) -> str:
    """``"ESME_RTHROTTLED (0x00000058): Throttling error ..."`` or a reserved/vendor label."""
    known = _BY_VALUE.get(command_status)
    if known is None:
        if 0x0400 <= command_status <= 0x04FF:
            kind = "SMSC vendor specific error"
        elif 0x0100 <= command_status <= 0x03FF:
            kind = "reserved for SMPP extension"
        else:
            kind = "reserved"
        return f"0x{command_status:08X}: {kind}"
    return f"{known.name} (0x{command_status:08X}): {known.description}"
