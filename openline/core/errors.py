"""The error catalogue: every Twilio error code Openline answers with, in one place.

API errors carry their wire answer (code + HTTP status). Delivery and webhook codes
(3xxxx, 1xxxx) have no HTTP status of their own: they end up in a resource's
``error_code`` or in an alert, so their status here is what Twilio shows for them (400).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: int
    status: int
    title: str
    description: str


def _spec(code: int, status: int, title: str, description: str = "") -> ErrorSpec:
    return ErrorSpec(code, status, title, description or title)


CATALOGUE: dict[int, ErrorSpec] = {
    s.code: s
    for s in sorted((
        _spec(10001, 403, "Account is not active", "The account is suspended or closed, so it cannot do this."),
        _spec(11200, 400, "HTTP retrieval failure", "The webhook request failed: connection error, timeout or a non-2xx answer."),
        _spec(11205, 400, "HTTP connection failure", "Openline could not connect to the webhook URL."),
        _spec(11206, 400, "HTTP protocol violation", "The webhook answer was not valid HTTP."),
        _spec(11210, 400, "HTTP bad host name", "The webhook URL's host name could not be resolved."),
        _spec(11215, 400, "HTTP too many redirects", "The webhook URL redirected too many times."),
        _spec(11220, 400, "SSL/TLS handshake error", "The TLS handshake with the webhook URL failed."),
        _spec(11237, 400, "Certificate invalid", "The webhook server's certificate could not be verified."),
        _spec(11202, 400, "HTTP connection refused", "The webhook server refused the connection."),
        _spec(11203, 400, "HTTP total timeout", "The webhook took longer than its total timeout (#tt)."),
        _spec(11216, 400, "HTTP invalid redirect", "The webhook answered a redirect Openline cannot follow."),
        _spec(11217, 400, "HTTP non-2xx response", "The webhook answered with a status other than 2xx."),
        _spec(11243, 400, "Invalid retry policy", "The #rp connection override names an unknown retry policy."),
        _spec(11750, 400, "TwiML response body too large", "The TwiML document is larger than Openline accepts."),
        _spec(20009, 400, "Cannot do this in the message's current state",
              "The message is queued or being sent, or is not scheduled."),
        _spec(21609, 400, "Invalid StatusCallback", "StatusCallback or ApplicationSid is not valid."),
        _spec(30010, 400, "Message price exceeds max price", "The message would cost more than MaxPrice."),
        _spec(30019, 400, "Content size exceeds carrier limit", "A media item is larger than Openline accepts."),
        _spec(12100, 400, "Document parse failure", "The TwiML returned by the webhook could not be parsed."),
        _spec(12200, 400, "Schema validation warning", "The TwiML contains a verb or attribute Openline does not know."),
        _spec(12300, 400, "Invalid Content-Type", "The webhook answered with a content type that is not TwiML or text."),
        _spec(14101, 400, "'To' attribute is invalid", "A <Message> verb names an invalid 'to' address."),
        _spec(14107, 400, "SMS send rate limit exceeded", "Too many TwiML replies were sent."),
        _spec(20001, 400, "Invalid parameter", "A request parameter is missing or invalid."),
        _spec(20003, 401, "Authenticate", "The credentials are wrong or may not be used for this resource."),
        _spec(20004, 405, "Method not allowed", "The HTTP method is not allowed on this resource."),
        _spec(20005, 403, "Account not active", "The account is suspended or closed."),
        _spec(20008, 403, "Test credentials", "This resource is not accessible with test credentials."),
        # Access tokens (JWTs minted with the SDK's AccessToken), as Twilio's error dictionary names them.
        _spec(20101, 401, "Invalid Access Token", "The access token is malformed or names no valid API key, account or identity."),
        _spec(20102, 401, "Invalid Access Token header", "The token header must say typ JWT, alg HS256 and cty twilio-fpa;v=1."),
        _spec(20103, 401, "Invalid Access Token issuer/subject",
              "The issuer must be an active API key of the account named as the subject."),
        _spec(20104, 401, "Access Token expired or expiration date invalid", "The token's exp is in the past or missing."),
        _spec(20105, 401, "Access Token not yet valid", "The token's nbf is in the future."),
        _spec(20106, 401, "Invalid Access Token grants", "The token carries no chat grant for a conversation service of the account."),
        _spec(20107, 401, "Invalid Access Token signature", "The token is not signed with the API key's secret."),
        _spec(20403, 403, "Forbidden", "The credentials may not perform this operation."),
        _spec(20404, 404, "Not found", "The requested resource was not found."),
        _spec(20413, 413, "Request too large", "The request body is larger than Openline accepts."),
        _spec(20415, 415, "Unsupported media type", "Send the parameters form-encoded (application/x-www-form-urlencoded)."),
        _spec(20429, 429, "Too many requests", "Too many requests: slow down and retry."),
        _spec(20500, 500, "Internal server error", "Openline failed to handle the request."),
        _spec(20503, 503, "Service unavailable", "Openline is temporarily unable to handle the request."),
        _spec(13227, 400, "Play: invalid audio", "A <Play> URL could not be fetched or is not audio Openline can play."),
        _spec(21201, 400, "No 'To' number is specified", "A call needs a 'To' phone number or SIP URI."),
        _spec(21205, 400, "Invalid Url", "Url is missing or not a valid URL, or Twiml is not valid TwiML."),
        _spec(21210, 400, "'From' phone number not verified",
              "The 'From' number is not a voice-capable phone number of this account."),
        _spec(21213, 400, "Caller phone number is required", "A call needs a 'From' phone number."),
        _spec(21214, 400, "'To' phone number cannot be reached", "Openline has no route to the 'To' number."),
        _spec(21215, 400, "Geo permission", "The account may not call this destination."),
        _spec(21216, 400, "Call blocked", "This number is blocked for the account."),
        _spec(21217, 400, "Phone number does not appear to be valid", "The 'To' number is not a valid phone number."),
        _spec(21218, 400, "Invalid ApplicationSid", "The ApplicationSid does not name an application of this account."),
        _spec(21220, 400, "Invalid call state", "The call has ended, so it cannot be redirected or ended."),
        _spec(21236, 400, "Invalid SendDigits", "SendDigits may hold only 0-9, *, # and w (at most 32)."),
        _spec(21626, 400, "Invalid StatusCallbackEvent",
              "StatusCallbackEvent must be initiated, ringing, answered or completed."),
        _spec(21211, 400, "Invalid 'To' phone number", "The 'To' number is not a valid phone number."),
        _spec(21212, 400, "Invalid 'From' number", "The 'From' number is not a valid phone number or sender ID."),
        _spec(21401, 400, "Invalid phone number", "The phone number is not a valid E.164 number."),
        _spec(21408, 400, "Permission to send an SMS has not been enabled for the region",
              "Sending to the country or region of the 'To' number is not enabled."),
        _spec(21421, 400, "PhoneNumber is invalid", "The PhoneNumber parameter is not a valid phone number."),
        _spec(21422, 400, "PhoneNumber is not available", "That phone number cannot be provisioned."),
        _spec(21451, 400, "Invalid area code", "The AreaCode parameter is not a valid area code."),
        _spec(21452, 400, "No phone numbers found", "No phone numbers match the request."),
        _spec(21470, 400, "Invalid AccountSid", "The path does not name a valid account SID."),
        _spec(21602, 400, "Message body is required", "A message needs a Body or at least one MediaUrl."),
        _spec(21603, 400, "'From' is required", "A message needs a 'From' number or a MessagingServiceSid."),
        _spec(21604, 400, "'To' is required", "A message needs a 'To' number."),
        _spec(21606, 400, "'From' is not a valid message-capable number for this account",
              "The 'From' number is not owned by this account or cannot send messages."),
        _spec(21610, 400, "Attempt to send to unsubscribed recipient",
              "The recipient replied STOP to this sender; they must reply START first."),
        _spec(21611, 400, "Queue full", "The 'From' number has too many queued messages."),
        _spec(21612, 400, "Unreachable 'To' number", "The 'To' number cannot be reached from this 'From' number."),
        _spec(21614, 400, "'To' is not a mobile number", "The 'To' number cannot receive SMS."),
        _spec(21617, 400, "Body too long", "The message body exceeds the 1600 character limit."),
        _spec(21620, 400, "Invalid media URL", "A MediaUrl is not a valid http(s) URL."),
        _spec(21623, 400, "Too many media", "A message can carry at most 10 MediaUrl values."),
        _spec(21910, 400, "Invalid From and To pair",
              "From and To must be on the same channel (both phone numbers, or both whatsapp:, messenger:, ...)."),
        _spec(63001, 400, "Channel could not authenticate the request",
              "The chat platform refused the configured credentials."),
        _spec(63003, 400, "Channel could not find To address", "The chat platform does not know the recipient."),
        _spec(63005, 400, "Channel did not accept given content", "The chat platform refused the message content."),
        _spec(63007, 400, "Could not find a Channel with the specified From address",
              "The From address is not a configured sender of that channel for this account."),
        _spec(63013, 400, "Channel policy violation", "The chat platform refused the message under its policies."),
        _spec(63016, 400, "Failed to send freeform message because you are outside the allowed window",
              "WhatsApp allows free-form messages only within 24 hours of the user's last message; "
              "outside that window send a template (ContentSid)."),
        _spec(63018, 400, "Rate limit exceeded for Channel", "The chat platform throttled the sender."),
        _spec(63024, 400, "Invalid message recipient", "The recipient cannot receive messages on this channel."),
        _spec(63027, 400, "Template does not exist for a language and locale",
              "The template named by the content is not approved on the channel."),
        _spec(21655, 400, "The ContentSid is Invalid", "ContentSid does not name a Content resource of this account."),
        _spec(21656, 400, "The ContentVariables Parameter is invalid",
              "ContentVariables must be a JSON object of strings."),
        _spec(21701, 400, "Invalid messaging service", "The MessagingServiceSid does not name a service of this account."),
        _spec(21703, 400, "Messaging service has no senders", "The messaging service has no phone numbers or sender IDs."),
        _spec(21710, 409, "Phone number already in the messaging service",
              "The phone number is already a sender of this messaging service."),
        _spec(21712, 409, "Phone number associated with another messaging service",
              "A phone number can be a sender of only one messaging service; remove it from the other first."),
        _spec(21715, 400, "Phone number lacks messaging capabilities",
              "A phone number needs SMS or MMS capability to be added to a messaging service."),
        _spec(30001, 400, "Queue overflow", "The message expired in the queue before it could be sent."),
        _spec(30002, 400, "Account suspended", "The account was suspended before the message was sent."),
        _spec(30003, 400, "Unreachable destination handset", "The handset is switched off or unreachable."),
        _spec(30004, 400, "Message blocked", "The destination blocked the message."),
        _spec(30005, 400, "Unknown destination handset", "The destination number is unknown or no longer in service."),
        _spec(30006, 400, "Landline or unreachable carrier", "The destination is a landline or its carrier is unreachable."),
        _spec(30007, 400, "Message filtered", "The carrier filtered the message."),
        _spec(30008, 400, "Unknown error", "The carrier failed the message for an unknown reason."),
        _spec(35111, 400, "Invalid ScheduleType", "ScheduleType must be 'fixed'."),
        _spec(35114, 400, "Scheduling does not support this timestamp",
              "SendAt must be at least 15 minutes in the future."),
        _spec(35115, 400, "SendAt is too far in the future", "SendAt must be at most 35 days in the future."),
        _spec(35118, 400, "MessagingServiceSid is required to schedule a message",
              "Scheduled messages must be sent through a messaging service."),
        # Conversations. 50433 and 50416 as Twilio's pages describe them; the status of 50416 and the
        # codes 50201 and 50353 are Programmable Chat's, which Conversations shares [UNVERIFIED].
        _spec(50107, 403, "User unauthorized for command",
              "The participant's conversation role lacks the permission this action needs."),
        _spec(50201, 409, "User already exists", "A user with that identity already exists in the conversation service."),
        _spec(50353, 409, "Conversation unique name already exists",
              "Another conversation of the service has that UniqueName."),
        _spec(50416, 409, "A binding for this participant and proxy address already exists",
              "That address is already bound to the proxy address in an active or inactive conversation."),
        _spec(50433, 409, "Participant already exists", "The conversation already has a participant with that identity or address."),
        _spec(60200, 400, "Invalid parameter", "A Verify request parameter is missing or invalid."),
        _spec(60202, 429, "Max check attempts reached", "Too many check attempts for this verification."),
        _spec(60203, 429, "Max send attempts reached", "Too many sends to this destination."),
        _spec(60204, 400, "Service does not support this feature",
              "The Verify service does not have this feature enabled (CustomCodeEnabled, custom messages)."),
        _spec(60205, 403, "SMS is not supported by landline phone number",
              "The service skips SMS to landlines (SkipSmsToLandlines) and the 'To' number is a landline."),
        _spec(60207, 400, "Max rate limits per service reached", "The Verify service has the most rate limits it may have."),
        _spec(60208, 400, "Rate limit with that UniqueName already exists",
              "Another rate limit of this Verify service has that UniqueName."),
        _spec(60210, 400, "Max Buckets per Rate limit reached", "The rate limit has the most buckets it may have."),
        _spec(60211, 400, "Bucket with the given Interval already exists",
              "The rate limit already has a bucket with that Interval; update or delete it instead."),
        _spec(60410, 429, "Verification delivery attempt blocked",
              "Too many verifications to this destination prefix or country (SMS pumping guard)."),
        _spec(90007, 400, "Invalid validity period value", "ValidityPeriod must be an integer from 1 to 36000 seconds."),
    ), key=lambda spec: spec.code)
}


class OpenlineError(Exception):
    """Root of every error Openline raises on purpose."""


class TwilioError(OpenlineError):
    """An error with its wire answer: Twilio's code and the HTTP status it travels with."""

    def __init__(self, code: int, message: str | None = None, *, status: int | None = None) -> None:
        spec = CATALOGUE.get(code)
        self.code = code
        self.status = status if status is not None else (spec.status if spec else 400)
        self.message = message or (spec.description if spec else "Error")
        super().__init__(f"{code}: {self.message}")


def lookup(code: int) -> ErrorSpec | None:
    return CATALOGUE.get(code)
