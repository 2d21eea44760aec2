"""Content v1 through the official SDK: every operation Openline serves, each response body checked
against Twilio's Content schema (tests/support/specs/twilio_content_v1.json) by the `client`
fixture, and Twilio-shaped errors."""

from __future__ import annotations

from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from tests.conftest import validate_exchanges
from tests.support.twilio_client import rest_error


def test_content_operations_match_the_spec(client: Client) -> None:
    contents = client.content.v1.contents
    text = contents.create(ContentList.ContentCreateRequest({
        "friendly_name": "welcome", "language": "en", "variables": {"1": "friend"},
        "types": {"twilio/text": {"body": "Welcome, {{1}}!"}}}))
    media = contents.create(ContentList.ContentCreateRequest({
        "friendly_name": "receipt", "language": "es",
        "types": {"twilio/media": {"body": "Su recibo", "media": ["https://example.com/r.pdf"]}}}))
    assert text.links["approval_create"].endswith(f"/v1/Content/{text.sid}/ApprovalRequests/whatsapp")
    assert media.types["twilio/media"]["media"] == ["https://example.com/r.pdf"]

    # Paging one at a time walks both (each page's body is validated, meta included).
    assert {c.sid for c in contents.list(page_size=1)} >= {text.sid, media.sid}
    assert contents(media.sid).fetch().language == "es"

    made = contents(text.sid).approval_create.create(ApprovalCreateList.ContentApprovalRequest(
        {"name": "welcome_v1", "category": "UTILITY"}))
    assert (made.name, made.category, made.status, made.content_type) == (
        "welcome_v1", "UTILITY", "approved", "twilio/text")
    fetched = contents(text.sid).approval_fetch().fetch()
    assert fetched.whatsapp["name"] == "welcome_v1" and fetched.sid == text.sid

    assert contents(media.sid).delete() is True
    assert rest_error(lambda: contents(media.sid).fetch()) == (404, 20404)
    assert rest_error(lambda: contents.create(ContentList.ContentCreateRequest({
        "friendly_name": "bad", "language": "en", "types": {}}))) == (400, 20001)
    assert rest_error(lambda: contents(text.sid).approval_create.create(ApprovalCreateList.ContentApprovalRequest(
        {"name": "Not A Name", "category": "UTILITY"}))) == (400, 20001)
    assert validate_exchanges(client) >= 8
