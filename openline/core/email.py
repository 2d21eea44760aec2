"""Email as SendGrid's v3 Mail Send API defines it: the request's values and their rules.

``parse_mail`` turns a decoded JSON body into a :class:`MailRequest` or raises
:class:`SendGridError` carrying SendGrid's answer (status, message, field, help). The same
function checks a request at the API and reads it back in the worker, so one set of rules holds.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

MAX_PERSONALIZATIONS = 1000  # SendGrid: at most 1,000 personalizations per request
MAX_RECIPIENTS = 1000  # ... and 1,000 recipients (to + cc + bcc) in all
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
MAX_CUSTOM_ARGS_BYTES = 10_000  # SendGrid: custom_args may not exceed 10,000 bytes
MAX_SEND_AT_AHEAD = 72 * 3600  # scheduling is allowed up to 72 hours ahead
MAX_BODY_BYTES = 30 * 1024 * 1024  # SendGrid's total message size limit (30 MB)
MAX_SUBJECT_LENGTH = 998  # RFC 5322 §2.1.1 line limit
HELP_BASE = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
# Headers the platform writes itself (SendGrid refuses them in `headers`).
RESERVED_HEADERS = frozenset({
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding", "to",
    "from", "subject", "reply-to", "cc", "bcc", "date", "message-id", "mime-version",
})
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"[A-Za-z0-9-]{2,63}$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 §2.2: printable ASCII except colon


class SendGridError(Exception):
    """An answer in SendGrid's error shape: ``{"errors": [{"message", "field", "help"}]}``."""

    def __init__(self, status: int, message: str, field: str | None = None, help: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.help = help

    def payload(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "field": self.field, "help": self.help}]}


def invalid(message: str, field_name: str | None = None, anchor: str | None = None) -> SendGridError:
    return SendGridError(400, message, field_name, f"{HELP_BASE}#{anchor}" if anchor else None)


def valid_email(value: str) -> bool:
    return len(value) <= 320 and bool(_EMAIL.match(value))


def normalize_email(value: str) -> str:
    """Suppressions and mailboxes match addresses case-insensitively."""
    return value.strip().lower()


def email_domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].lower()


@dataclass(frozen=True, slots=True)
class Address:
    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Content:
    type: str
    value: str


@dataclass(frozen=True, slots=True)
class Attachment:
    content: bytes
    filename: str
    type: str
    disposition: str  # attachment | inline
    content_id: str | None


@dataclass(frozen=True, slots=True)
class Personalization:
    to: tuple[Address, ...]
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    from_: Address | None = None
    subject: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    substitutions: dict[str, str] = field(default_factory=dict)
    dynamic_template_data: dict[str, Any] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)
    send_at: int | None = None

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc + self.bcc


@dataclass(frozen=True, slots=True)
class Tracking:
    click: bool = False
    click_text: bool = False
    open: bool = False
    open_substitution_tag: str | None = None
    subscription: bool = False
    subscription_text: str | None = None
    subscription_html: str | None = None
    subscription_tag: str | None = None


@dataclass(frozen=True, slots=True)
class MailRequest:
    personalizations: tuple[Personalization, ...]
    from_: Address
    subject: str | None
    content: tuple[Content, ...]
    reply_to: tuple[Address, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    template_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    custom_args: dict[str, str] = field(default_factory=dict)
    send_at: int | None = None
    batch_id: str | None = None
    asm_group_id: int | None = None
    asm_groups_to_display: tuple[int, ...] = ()
    sandbox_mode: bool = False
    bypass_list_management: bool = False
    footer_text: str | None = None
    footer_html: str | None = None
    tracking: Tracking = Tracking()

    @property
    def recipient_count(self) -> int:
        return sum(len(p.recipients) for p in self.personalizations)

    @property
    def dynamic(self) -> bool:
        return bool(self.template_id and self.template_id.startswith("d-"))


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid type. Expected: object, given: {_json_type(value)}.", name)
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _string(value: Any, name: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise invalid(f"The {name} parameter is required.", name)
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid type. Expected: string, given: {_json_type(value)}.", name)
    return value


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    obj = _object(value, name)
    enable = obj.get("enable", False)
    if not isinstance(enable, bool):
        raise invalid(f"Invalid type. Expected: boolean, given: {_json_type(enable)}.", f"{name}.enable")
    return enable


def _address(value: Any, name: str) -> Address:
    obj = _object(value, name)
    email = obj.get("email")
    if not isinstance(email, str) or not valid_email(email.strip()):
        raise invalid("Does not contain a valid address.", f"{name}.email", "message.personalizations")
    display = _string(obj.get("name"), f"{name}.name")
    if display is not None and ("\r" in display or "\n" in display):
        raise invalid("The name may not contain line breaks.", f"{name}.name")
    return Address(email.strip(), display or None)


def _addresses(value: Any, name: str) -> tuple[Address, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid(f"Invalid type. Expected: array, given: {_json_type(value)}.", name)
    return tuple(_address(item, f"{name}.{i}") for i, item in enumerate(value))


def _strings(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    obj = _object(value, name)
    for key, item in obj.items():
        if not isinstance(item, str):
            raise invalid(f"Invalid type. Expected: string, given: {_json_type(item)}.", f"{name}.{key}")
    return dict(obj)


def _headers(value: Any, name: str) -> dict[str, str]:
    headers = _strings(value, name)
    for key, item in headers.items():
        if not _HEADER_NAME.match(key):
            raise invalid(f"The header name {key!r} is not valid.", f"{name}.{key}")
        if key.lower() in RESERVED_HEADERS:
            raise invalid(f"The {key} header is reserved and may not be set in headers.", f"{name}.{key}",
                          "message.headers")
        if "\r" in item or "\n" in item:
            raise invalid("Header values may not contain line breaks.", f"{name}.{key}")
    return headers


def _custom_args(value: Any, name: str) -> dict[str, str]:
    args = _strings(value, name)
    if sum(len(k) + len(v) for k, v in args.items()) > MAX_CUSTOM_ARGS_BYTES:
        raise invalid("The custom_args may not exceed 10,000 bytes.", name, "message.custom_args")
    return args


def _send_at(value: Any, name: str, now: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"Invalid type. Expected: integer, given: {_json_type(value)}.", name)
    if value > now + MAX_SEND_AT_AHEAD:
        raise invalid("The send_at parameter must be no more than 72 hours in the future.", name,
                      "message.send_at")
    return value


def _subject(value: Any, name: str) -> str | None:
    subject = _string(value, name)
    if subject is not None and ("\r" in subject or "\n" in subject or len(subject) > MAX_SUBJECT_LENGTH):
        raise invalid("The subject may not contain line breaks or exceed 998 characters.", name)
    return subject


def _personalization(value: Any, index: int, now: int) -> Personalization:
    name = f"personalizations.{index}"
    obj = _object(value, name)
    to = _addresses(obj.get("to"), f"{name}.to")
    if not to:
        raise invalid("The to array is required for all personalization objects, and must have at least one "
                      "email object with a valid email address.", f"{name}.to", "message.personalizations")
    cc, bcc = _addresses(obj.get("cc"), f"{name}.cc"), _addresses(obj.get("bcc"), f"{name}.bcc")
    seen: set[str] = set()
    for group, addresses in (("to", to), ("cc", cc), ("bcc", bcc)):
        for address in addresses:
            key = normalize_email(address.email)
            if key in seen:
                raise invalid("Each email address in the personalization block should be unique between to, cc, "
                              f"and bcc. We found the first duplicate instance of [{address.email}] in the "
                              f"{name}.{group} field.", name, "message.recipient.duplicates")
            seen.add(key)
    data = obj.get("dynamic_template_data")
    if data is not None:
        data = _object(data, f"{name}.dynamic_template_data")
    return Personalization(
        to=to, cc=cc, bcc=bcc,
        from_=_address(obj["from"], f"{name}.from") if obj.get("from") is not None else None,
        subject=_subject(obj.get("subject"), f"{name}.subject"),
        headers=_headers(obj.get("headers"), f"{name}.headers"),
        substitutions=_strings(obj.get("substitutions"), f"{name}.substitutions"),
        dynamic_template_data=data or {},
        custom_args=_custom_args(obj.get("custom_args"), f"{name}.custom_args"),
        send_at=_send_at(obj.get("send_at"), f"{name}.send_at", now),
    )


def _contents(value: Any) -> tuple[Content, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid(f"Invalid type. Expected: array, given: {_json_type(value)}.", "content")
    contents: list[Content] = []
    for i, item in enumerate(value):
        obj = _object(item, f"content.{i}")
        kind = _string(obj.get("type"), f"content.{i}.type", required=True) or ""
        text = _string(obj.get("value"), f"content.{i}.value", required=True) or ""
        if not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", kind.lower()) or "\r" in kind or "\n" in kind:
            raise invalid("The content type is not a valid MIME type.", f"content.{i}.type", "message.content")
        if not text:
            raise invalid("The content value must be a string at least one character in length.",
                          f"content.{i}.value", "message.content")
        contents.append(Content(kind.lower(), text))
    order = [c.type for c in contents]
    # SendGrid: text/plain first, then text/html, then anything else.
    rank = [0 if t == "text/plain" else 1 if t == "text/html" else 2 for t in order]
    if rank != sorted(rank):
        raise invalid("If present, text/plain content must be first, followed by text/html, followed by any other "
                      "content.", "content", "message.content")
    if len(set(order)) != len(order):
        raise invalid("Each content type may appear only once.", "content", "message.content")
    return tuple(contents)


def _attachments(value: Any) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid(f"Invalid type. Expected: array, given: {_json_type(value)}.", "attachments")
    result: list[Attachment] = []
    for i, item in enumerate(value):
        name = f"attachments.{i}"
        obj = _object(item, name)
        encoded = _string(obj.get("content"), f"{name}.content", required=True) or ""
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("The attachment content must be base64 encoded.", f"{name}.content",
                          "message.attachments.content") from None
        filename = _string(obj.get("filename"), f"{name}.filename") or ""
        if not filename or "\r" in filename or "\n" in filename:
            raise invalid("The attachment filename parameter is required.", f"{name}.filename",
                          "message.attachments.filename")
        kind = (_string(obj.get("type"), f"{name}.type") or "application/octet-stream").lower()
        if not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", kind):
            raise invalid("The attachment type must be a valid MIME type.", f"{name}.type")
        disposition = _string(obj.get("disposition"), f"{name}.disposition") or "attachment"
        if disposition not in ("attachment", "inline"):
            raise invalid("The disposition must be inline or attachment.", f"{name}.disposition",
                          "message.attachments.disposition")
        content_id = _string(obj.get("content_id"), f"{name}.content_id")
        if disposition == "inline" and not content_id:
            raise invalid("The content_id parameter is required when the disposition is inline.",
                          f"{name}.content_id", "message.attachments.content_id")
        if content_id is not None and not re.fullmatch(r"[!-~]{1,255}", content_id):
            raise invalid("The content_id is not valid.", f"{name}.content_id")
        result.append(Attachment(data, filename, kind, disposition, content_id))
    return tuple(result)


def _categories(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid(f"Invalid type. Expected: array, given: {_json_type(value)}.", "categories")
    if len(value) > MAX_CATEGORIES:
        raise invalid("You may not have more than 10 categories per request.", "categories", "message.categories")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item or len(item) > MAX_CATEGORY_LENGTH:
            raise invalid("A category must be a string of 1 to 255 characters.", f"categories.{i}",
                          "message.categories")
    if len(set(value)) != len(value):
        raise invalid("Categories must be unique.", "categories", "message.categories")
    return tuple(value)


def _tracking(value: Any) -> Tracking:
    if value is None:
        return Tracking()
    obj = _object(value, "tracking_settings")
    click = obj.get("click_tracking")
    open_ = obj.get("open_tracking")
    sub = obj.get("subscription_tracking")
    click_obj = _object(click, "tracking_settings.click_tracking") if click is not None else {}
    open_obj = _object(open_, "tracking_settings.open_tracking") if open_ is not None else {}
    sub_obj = _object(sub, "tracking_settings.subscription_tracking") if sub is not None else {}
    return Tracking(
        click=_flag(click, "tracking_settings.click_tracking"),
        click_text=bool(click_obj.get("enable_text", False)),
        open=_flag(open_, "tracking_settings.open_tracking"),
        open_substitution_tag=_string(open_obj.get("substitution_tag"),
                                      "tracking_settings.open_tracking.substitution_tag"),
        subscription=_flag(sub, "tracking_settings.subscription_tracking"),
        subscription_text=_string(sub_obj.get("text"), "tracking_settings.subscription_tracking.text"),
        subscription_html=_string(sub_obj.get("html"), "tracking_settings.subscription_tracking.html"),
        subscription_tag=_string(sub_obj.get("substitution_tag"),
                                 "tracking_settings.subscription_tracking.substitution_tag"),
    )


def parse_mail(body: Any, now: int) -> MailRequest:
    """Validate a Mail Send body (already JSON-decoded); ``now`` is unix seconds."""
    if not isinstance(body, dict):
        raise invalid(f"Invalid type. Expected: object, given: {_json_type(body)}.", "(root)")
    raw_personalizations = body.get("personalizations")
    if not isinstance(raw_personalizations, list) or not raw_personalizations:
        raise invalid("The personalizations field is required and must have at least one personalization.",
                      "personalizations", "-Personalizations-Errors")
    if len(raw_personalizations) > MAX_PERSONALIZATIONS:
        raise invalid("The personalizations field may not have more than 1000 items.", "personalizations",
                      "-Personalizations-Errors")
    personalizations = tuple(_personalization(p, i, now) for i, p in enumerate(raw_personalizations))
    if body.get("from") is None:
        raise invalid("The from object must be provided for every email send. It is an object that requires the "
                      "email parameter, but may also contain a name parameter.  e.g. {\"email\" : "
                      "\"example@example.com\"}  or {\"email\" : \"example@example.com\", \"name\" : "
                      "\"Example Recipient\"}.", "from.email", "message.from")
    sender = _address(body["from"], "from")
    template_id = _string(body.get("template_id"), "template_id")
    subject = _subject(body.get("subject"), "subject")
    content = _contents(body.get("content"))
    if not template_id and not content:
        raise invalid("Unless a valid template_id is provided, the content parameter is required. There must be at "
                      "least one defined content block. We typically suggest both text/plain and text/html blocks "
                      "are included, but only one block is required.", "content", "message.content")
    if not template_id and subject is None and not all(p.subject for p in personalizations):
        raise invalid("The subject is required. You can get around this requirement if you use a template with a "
                      "subject defined or if every personalization has a subject defined.", "subject",
                      "message.subject")
    reply_to = _addresses(body.get("reply_to_list"), "reply_to_list")
    if body.get("reply_to") is not None:
        if reply_to:
            raise invalid("The reply_to and reply_to_list parameters cannot be used together.", "reply_to")
        reply_to = (_address(body["reply_to"], "reply_to"),)
    asm = body.get("asm")
    group_id: int | None = None
    display: tuple[int, ...] = ()
    if asm is not None:
        asm_obj = _object(asm, "asm")
        group_id = asm_obj.get("group_id")
        if isinstance(group_id, bool) or not isinstance(group_id, int):
            raise invalid("The asm group_id is required and must be an integer.", "asm.group_id", "message.asm")
        shown = asm_obj.get("groups_to_display") or []
        if not isinstance(shown, list) or len(shown) > 25 or not all(
                isinstance(g, int) and not isinstance(g, bool) for g in shown):
            raise invalid("groups_to_display must be an array of at most 25 group ids.",
                          "asm.groups_to_display", "message.asm")
        display = tuple(shown)
    settings = body.get("mail_settings")
    settings_obj = _object(settings, "mail_settings") if settings is not None else {}
    footer = settings_obj.get("footer")
    footer_obj = _object(footer, "mail_settings.footer") if footer is not None else {}
    footer_on = _flag(footer, "mail_settings.footer")
    batch_id = _string(body.get("batch_id"), "batch_id")
    request = MailRequest(
        personalizations=personalizations, from_=sender, subject=subject, content=content, reply_to=reply_to,
        attachments=_attachments(body.get("attachments")), template_id=template_id,
        headers=_headers(body.get("headers"), "headers"), categories=_categories(body.get("categories")),
        custom_args=_custom_args(body.get("custom_args"), "custom_args"),
        send_at=_send_at(body.get("send_at"), "send_at", now), batch_id=batch_id, asm_group_id=group_id,
        asm_groups_to_display=display,
        sandbox_mode=_flag(settings_obj.get("sandbox_mode"), "mail_settings.sandbox_mode"),
        bypass_list_management=_flag(settings_obj.get("bypass_list_management"),
                                     "mail_settings.bypass_list_management"),
        footer_text=_string(footer_obj.get("text"), "mail_settings.footer.text") if footer_on else None,
        footer_html=_string(footer_obj.get("html"), "mail_settings.footer.html") if footer_on else None,
        tracking=_tracking(body.get("tracking_settings")),
    )
    if request.recipient_count > MAX_RECIPIENTS:
        raise invalid("The total number of recipients must be no more than 1000.", "personalizations",
                      "-Personalizations-Errors")
    return request
