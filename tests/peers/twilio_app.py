"""An unchanged Twilio app: the official SDK with credentials from the environment, no base URL.

Run with only the proxy and CA variables of `openline env` set, it talks to Openline as if it
were Twilio. Usage: twilio_app.py FROM TO. Prints one JSON line per step; reads the
verification code the user received from stdin.
"""

from __future__ import annotations

import json
import sys

from twilio.rest import Client


def say(**values: object) -> None:
    print(json.dumps(values), flush=True)


def main() -> None:
    sender, to = sys.argv[1], sys.argv[2]
    client = Client()  # TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, as Twilio's docs suggest
    message = client.messages.create(body="Hello from an unchanged app", from_=sender, to=to)
    say(message_sid=message.sid, status=message.status)
    # Paging follows next_page_uri (2010) and meta.next_page_url (v1/v2) as Twilio returns them.
    pages = [m.sid for m in client.messages.list(to=to, page_size=1, limit=2)]
    service = client.verify.v2.services.create(friendly_name="Unchanged App")
    client.verify.v2.services.create(friendly_name="Another")
    services = [s.sid for s in client.verify.v2.services.list(page_size=1, limit=2)]
    verification = client.verify.v2.services(service.sid).verifications.create(to=to, channel="sms")
    say(paged_messages=pages, paged_services=services, service_sid=service.sid,
        verification_sid=verification.sid, verification_status=verification.status)
    code = sys.stdin.readline().strip()  # what the user types in
    check = client.verify.v2.services(service.sid).verification_checks.create(to=to, code=code)
    say(check_status=check.status)


if __name__ == "__main__":
    main()
