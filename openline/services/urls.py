"""The server's public base URL, known for sure only once it listens (``--port 0``)."""

from __future__ import annotations

# What Twilio's own links start with; with `serve --intercept` an app reaches it through the proxy.
TWILIO_API_BASE = "https://api.twilio.com"


class PublicUrl:
    def __init__(self, base: str, twilio_urls_for_apps: bool = False) -> None:
        self.base = base.rstrip("/")
        # With interception on, a customer's app talks to Openline as if it were Twilio, so the
        # links handed to it (webhook parameters) are Twilio's own and go through the proxy too.
        self._app_base = TWILIO_API_BASE if twilio_urls_for_apps else None

    def set(self, base: str) -> None:
        self.base = base.rstrip("/")

    def media(self, account_sid: str, message_sid: str, media_sid: str) -> str:
        return f"{self.base}/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}"

    def media_for_app(self, account_sid: str, message_sid: str, media_sid: str) -> str:
        """A media URL as a customer's app receives it in a webhook."""
        base = self._app_base or self.base
        return f"{base}/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}"

    def recording_for_app(self, account_sid: str, recording_sid: str) -> str:
        """A recording's URL as a customer's app receives it (RecordingUrl): add .wav or .mp3 for the media."""
        base = self._app_base or self.base
        return f"{base}/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}"
