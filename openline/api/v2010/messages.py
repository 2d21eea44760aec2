"""Messages (SM…/MM…) and their Media (ME…), with media content served at unguessable URLs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from openline.api.envelopes import PageRequest
from openline.api.framework import (
    Call,
    Operation,
    basic_credentials,
    client_address,
    empty_response,
    error_response,
    json_response,
    links_for,
)
from openline.api.params import integer, url
from openline.api.services import ApiServices
from openline.api.v2010 import ROOT, account_uri
from openline.core.dates import parse_filter_date, rfc2822
from openline.core.errors import TwilioError
from openline.core.messaging import Media, Message
from openline.services.messaging import MessagingService, SendRequest

DAY = timedelta(days=1)


def message_json(m: Message) -> dict[str, Any]:
    uri = f"{account_uri(m.account_sid)}/Messages/{m.sid}"
    return {
        "body": m.body,
        "num_segments": str(m.num_segments),
        "direction": m.direction.value,
        "from": m.from_addr,
        "to": m.to_addr,
        "date_updated": rfc2822(m.date_updated),
        "price": m.price,
        "error_message": m.error_message,
        "uri": f"{uri}.json",
        "account_sid": m.account_sid,
        "num_media": str(m.num_media),
        "status": m.status.value,
        "messaging_service_sid": m.messaging_service_sid,
        "sid": m.sid,
        "date_sent": rfc2822(m.date_sent),
        "date_created": rfc2822(m.date_created),
        "error_code": m.error_code,
        "price_unit": m.price_unit,
        "api_version": "2010-04-01",
        "subresource_uris": {"media": f"{uri}/Media.json"},
    }


def media_json(item: Media) -> dict[str, Any]:
    return {
        "account_sid": item.account_sid,
        "content_type": item.content_type,
        "date_created": rfc2822(item.date_created),
        "date_updated": rfc2822(item.date_updated),
        "parent_sid": item.message_sid,
        "sid": item.sid,
        "uri": f"{account_uri(item.account_sid)}/Messages/{item.message_sid}/Media/{item.sid}.json",
    }


def _send_at(raw: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_filter_date(raw)
    except ValueError:
        raise TwilioError(35114, f"SendAt {raw} is not an ISO 8601 date and time") from None


def _date_filter(call: Call, name: str) -> tuple[datetime, bool] | None:
    """A DateSent filter value, and whether it named a whole day (YYYY-MM-DD)."""
    raw = call.form.get(name)
    if not raw:
        return None
    try:
        return parse_filter_date(raw), len(raw.strip()) == 10
    except ValueError:
        raise TwilioError(20001, f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date and time") from None


def send_request(call: Call) -> SendRequest:
    form = call.form
    status_callback = form.get("StatusCallback")
    if status_callback:
        try:
            url("StatusCallback", status_callback)
        except TwilioError:
            raise TwilioError(21609, f"StatusCallback {status_callback} is not a valid URL") from None
    media = form.getlist("MediaUrl")
    for item in media:
        try:
            url("MediaUrl", item)
        except TwilioError:
            raise TwilioError(21620, f"MediaUrl {item} is not a valid http(s) URL") from None
    validity = form.get("ValidityPeriod")
    return SendRequest(
        to=form.get("To"), from_=form.get("From") or None,
        messaging_service_sid=form.get("MessagingServiceSid") or None, body=form.get("Body"),
        media_urls=[m for m in media if m], status_callback=status_callback or None,
        application_sid=form.get("ApplicationSid") or None,
        validity_period=integer("ValidityPeriod", validity) if validity else None,
        send_at=_send_at(form.get("SendAt")), schedule_type=form.get("ScheduleType") or None,
        max_price=form.get("MaxPrice") or None, content_sid=form.get("ContentSid") or None,
        content_variables=form.get("ContentVariables") or None)


def operations(s: ApiServices, messaging: MessagingService) -> list[Operation]:
    async def create(call: Call) -> Any:
        account = await s.path_account(call)
        message = await messaging.send(account, send_request(call))
        return json_response(message_json(message), 201)

    async def list_(call: Call) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        on = _date_filter(call, "DateSent")
        before = _date_filter(call, "DateSent<")
        after = _date_filter(call, "DateSent>")
        page = await messaging.search(
            account, paging.size, paging.cursor, to=call.form.get("To") or None,
            from_=call.form.get("From") or None,
            sent_on=(on[0], on[0] + DAY) if on else None,
            # Twilio's "<" and ">" are inclusive of the day they name.
            sent_before=(before[0] + DAY if before[1] else before[0]) if before else None,
            sent_after=(after[0] - timedelta(microseconds=1) if after[1] else after[0]) if after else None)
        return json_response(paging.envelope_2010("messages", [message_json(m) for m in page.items], page))

    async def fetch(call: Call) -> Any:
        account = await s.path_account(call)
        return json_response(message_json(await messaging.get(account, call.path("Sid"))))

    async def update(call: Call) -> Any:
        account = await s.path_account(call)
        status = call.form.get("Status")
        body = call.form.get("Body")
        if status is not None and status != "canceled":
            raise TwilioError(20001, "Status can only be set to 'canceled'")
        if status == "canceled":
            message = await messaging.cancel(account, call.path("Sid"))
        elif body is not None:
            if body != "":
                raise TwilioError(20001, "Body can only be set to the empty string, to redact the message")
            message = await messaging.redact(account, call.path("Sid"))
        else:
            message = await messaging.get(account, call.path("Sid"))
        return json_response(message_json(message))

    async def delete(call: Call) -> Any:
        account = await s.path_account(call)
        await messaging.delete(account, call.path("Sid"))
        return empty_response()

    async def list_media(call: Call) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        page = await messaging.media_page(account, call.path("MessageSid"), paging.size, paging.cursor)
        return json_response(paging.envelope_2010("media_list", [media_json(m) for m in page.items], page))

    async def fetch_media(call: Call) -> Any:
        account = await s.path_account(call)
        item = await messaging.media_item(account.sid, call.path("MessageSid"), call.path("Sid"))
        return json_response(media_json(item))

    async def delete_media(call: Call) -> Any:
        account = await s.path_account(call)
        await messaging.delete_media(account, call.path("MessageSid"), call.path("Sid"))
        return empty_response()

    base = f"{ROOT}/Accounts/{{AccountSid}}/Messages"
    media = f"{base}/{{MessageSid}}/Media"
    create_params = ("To", "From", "MessagingServiceSid", "Body", "MediaUrl", "StatusCallback", "ApplicationSid",
                     "ValidityPeriod", "SendAt", "ScheduleType", "MaxPrice", "ContentSid", "ContentVariables")
    tags = ("Messages",)
    return [
        Operation("POST", f"{base}.json", create, "CreateMessage", "Send a message", 201, "message",
                  parameters=create_params, tags=tags),
        Operation("GET", f"{base}.json", list_, "ListMessage", "List messages, newest first", schema="message",
                  list_key="messages",
                  parameters=("To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken"),
                  tags=tags),
        Operation("GET", f"{base}/{{Sid}}.json", fetch, "FetchMessage", "Fetch a message", schema="message",
                  tags=tags),
        Operation("POST", f"{base}/{{Sid}}.json", update, "UpdateMessage",
                  "Redact (Body='') or cancel a scheduled message (Status=canceled)", schema="message",
                  parameters=("Body", "Status"), tags=tags),
        Operation("DELETE", f"{base}/{{Sid}}.json", delete, "DeleteMessage", "Delete a message", 204, tags=tags),
        Operation("GET", f"{media}.json", list_media, "ListMedia", "List a message's media", schema="media",
                  list_key="media_list", parameters=("PageSize", "Page", "PageToken"), tags=tags),
        Operation("GET", f"{media}/{{Sid}}.json", fetch_media, "FetchMedia", "Fetch a media item's metadata",
                  schema="media", tags=tags),
        Operation("DELETE", f"{media}/{{Sid}}.json", delete_media, "DeleteMedia", "Delete a media item", 204,
                  tags=tags),
    ]


def media_content_route(s: ApiServices, messaging: MessagingService) -> Route:
    """GET …/Messages/{MessageSid}/Media/{Sid} (no .json): the media itself.

    Readable without credentials, as on Twilio (the URL is the secret: 128 random bits), unless
    the account requires HTTP basic auth for media (``MediaAuthRequired``).
    """

    async def content(request: Request) -> Response:
        links = links_for(request)
        params = request.path_params
        try:
            async with s.db.read() as conn:
                account = await s.account_repository.get(conn, params["AccountSid"])
            if account is None:
                raise TwilioError(20404)
            if account.media_auth_required:
                who = await s.authenticator.authenticate(*basic_credentials(request), client_address(request))
                await s.account(who, account.sid)
            item = await messaging.media_item(account.sid, params["MessageSid"], params["Sid"])
            if item.blob_key:
                blob = await messaging.blob(item.blob_key)
                if blob is not None:
                    return Response(blob.data, media_type=blob.content_type,
                                    headers={"Cache-Control": "private, max-age=3600"})
            if item.source_url:
                return RedirectResponse(item.source_url, status_code=302)
            raise TwilioError(20404, "The media content is no longer stored")
        except TwilioError as error:
            return error_response(error, links.errors_base)

    return Route(f"{ROOT}/Accounts/{{AccountSid}}/Messages/{{MessageSid}}/Media/{{Sid}}", content,
                 methods=["GET"])
