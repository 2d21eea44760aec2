"""Recordings (RE…), under the account and under their call, with the audio at ``.wav``/``.mp3``.

The audio URL is served like message media: the SID (128 random bits) is the secret, and
credentials are asked for only when the account requires them for media (``MediaAuthRequired``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
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
from openline.api.services import ApiServices
from openline.api.v2010 import ROOT, account_uri
from openline.core.calls import Recording
from openline.core.dates import rfc2822
from openline.core.errors import TwilioError
from openline.services.recordings import RecordingService


def recording_json(r: Recording, *, under_call: bool = False) -> dict[str, Any]:
    base = f"{account_uri(r.account_sid)}/Recordings/{r.sid}"
    uri = f"{account_uri(r.account_sid)}/Calls/{r.call_sid}/Recordings/{r.sid}.json" if under_call else f"{base}.json"
    payload: dict[str, Any] = {
        "account_sid": r.account_sid, "api_version": "2010-04-01", "call_sid": r.call_sid, "conference_sid": None,
        "date_created": rfc2822(r.date_created), "date_updated": rfc2822(r.date_updated),
        "start_time": rfc2822(r.start_time), "duration": str(r.duration), "sid": r.sid, "price": None,
        "price_unit": "USD", "status": r.status, "channels": r.channels, "source": r.source, "error_code": None,
        "uri": uri, "encryption_details": None,
    }
    if under_call:
        payload["track"] = "both"
    else:
        payload["subresource_uris"] = {"add_on_results": f"{base}/AddOnResults.json",
                                       "transcriptions": f"{base}/Transcriptions.json"}
    return payload


def operations(s: ApiServices, recordings: RecordingService) -> list[Operation]:
    def with_media(call: Call, item: Recording) -> dict[str, Any]:
        payload = recording_json(item)
        payload["media_url"] = f"{call.links.external_base}{account_uri(item.account_sid)}/Recordings/{item.sid}"
        return payload

    async def list_(call: Call) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        page = await recordings.search(account, paging.size, paging.cursor, call.form.get("CallSid") or None)
        return json_response(paging.envelope_2010("recordings", [with_media(call, r) for r in page.items], page))

    async def fetch(call: Call) -> Any:
        account = await s.path_account(call)
        return json_response(with_media(call, await recordings.get(account, call.path("Sid"))))

    async def delete(call: Call) -> Any:
        account = await s.path_account(call)
        await recordings.delete(account, call.path("Sid"))
        return empty_response()

    async def list_for_call(call: Call) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        page = await recordings.search(account, paging.size, paging.cursor, call.path("CallSid"))
        return json_response(paging.envelope_2010("recordings", [recording_json(r, under_call=True)
                                                                  for r in page.items], page))

    async def fetch_for_call(call: Call) -> Any:
        account = await s.path_account(call)
        item = await recordings.get(account, call.path("Sid"), call.path("CallSid"))
        return json_response(recording_json(item, under_call=True))

    async def delete_for_call(call: Call) -> Any:
        account = await s.path_account(call)
        await recordings.delete(account, call.path("Sid"), call.path("CallSid"))
        return empty_response()

    base = f"{ROOT}/Accounts/{{AccountSid}}/Recordings"
    under = f"{ROOT}/Accounts/{{AccountSid}}/Calls/{{CallSid}}/Recordings"
    tags = ("Recordings",)
    paging = ("PageSize", "Page", "PageToken")
    return [
        Operation("GET", f"{base}.json", list_, "ListRecording", "List recordings, newest first", schema="recording",
                  list_key="recordings", parameters=("CallSid", *paging), tags=tags),
        Operation("GET", f"{base}/{{Sid}}.json", fetch, "FetchRecording", "Fetch a recording", schema="recording",
                  tags=tags),
        Operation("DELETE", f"{base}/{{Sid}}.json", delete, "DeleteRecording", "Delete a recording and its audio",
                  204, tags=tags),
        Operation("GET", f"{under}.json", list_for_call, "ListCallRecording", "List a call's recordings",
                  schema="call_recording", list_key="recordings", parameters=paging, tags=tags),
        Operation("GET", f"{under}/{{Sid}}.json", fetch_for_call, "FetchCallRecording", "Fetch a call's recording",
                  schema="call_recording", tags=tags),
        Operation("DELETE", f"{under}/{{Sid}}.json", delete_for_call, "DeleteCallRecording",
                  "Delete a call's recording and its audio", 204, tags=tags),
    ]


def media_route(s: ApiServices, recordings: RecordingService) -> Route:
    """GET …/Recordings/{Sid} (WAV), {Sid}.wav or {Sid}.mp3: the audio itself."""

    async def content(request: Request) -> Response:
        links = links_for(request)
        params = request.path_params
        sid, _, ext = params["Media"].partition(".")
        try:
            if ext not in ("", "wav", "mp3"):
                raise TwilioError(20404)
            async with s.db.read() as conn:
                account = await s.account_repository.get(conn, params["AccountSid"])
            if account is None:
                raise TwilioError(20404)
            if account.media_auth_required:
                who = await s.authenticator.authenticate(*basic_credentials(request), client_address(request))
                await s.account(who, account.sid)
            data, content_type = await recordings.media([account.sid], sid, ext or "wav")
            return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})
        except TwilioError as error:
            return error_response(error, links.errors_base)

    return Route(f"{ROOT}/Accounts/{{AccountSid}}/Recordings/{{Media}}", content, methods=["GET"])
