"""Verify v2 through the official twilio SDK against a real `openline serve`: codes arrive on the
sandbox handset, checks approve them, and Twilio's limits (60202, 60203) hold."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials, validate_exchanges
from tests.integration.test_sms_basic import inbox, wait_for
from tests.integration.test_sms_lifecycle import advance
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, prefix_style_client, rest_error

PUMPED_PREFIX = "+1555800"  # the module server guards this prefix: 2 verifications an hour


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
           "OPENLINE_VERIFY__PREFIX_LIMITS": f'{{"{PUMPED_PREFIX}": {{"max": 2, "interval_seconds": 3600}}}}'}
    srv = OpenlineServer(tmp_path_factory.mktemp("verify") / "data", args=["--sandbox-clock"], env=env)
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


_handsets = itertools.count(1)


def handset() -> str:
    """A fresh sandbox phone for each use, so no test sees another's messages or limits."""
    return f"+1555867{next(_handsets):04d}"


def codes_received(server: OpenlineServer, to: str, count: int = 1) -> list[str]:
    """The codes the handset received, oldest first, once it has at least ``count`` messages."""
    messages = wait_for(lambda: m if len(m := inbox(server, to)) >= count else None)
    return [re.findall(r"\b(\d{4,10})\b", m["body"])[-1] for m in reversed(messages)]  # type: ignore[union-attr]


def last_body(server: OpenlineServer, to: str) -> str:
    return str(wait_for(lambda: inbox(server, to))[0]["body"])  # type: ignore[index]


@pytest.fixture
def service(client: Client) -> str:
    return str(client.verify.v2.services.create(friendly_name="Acme").sid)


def test_service_crud_and_defaults(client: Client, server: OpenlineServer) -> None:
    svc = client.verify.v2.services.create(friendly_name="Acme Login", code_length=8, do_not_share_warning_enabled=True)
    assert svc.sid.startswith("VA") and len(svc.sid) == 34
    assert (svc.friendly_name, svc.code_length, svc.do_not_share_warning_enabled) == ("Acme Login", 8, True)
    assert (svc.lookup_enabled, svc.skip_sms_to_landlines, svc.custom_code_enabled, svc.psd2_enabled) == (
        False, False, False, False)
    base = f"https://verify.twilio.com/v2/Services/{svc.sid}"
    assert svc.url == base and svc.links["verifications"] == f"{base}/Verifications"
    assert svc.links["verification_checks"] == f"{base}/VerificationCheck"
    assert svc.date_created is not None and svc.date_updated is not None  # ISO 8601 parsed by the SDK

    fetched = client.verify.v2.services(svc.sid).fetch()
    assert (fetched.sid, fetched.code_length) == (svc.sid, 8)
    updated = client.verify.v2.services(svc.sid).update(friendly_name="Acme", code_length=4, lookup_enabled=True,
                                                        custom_code_enabled=True)
    assert (updated.friendly_name, updated.code_length, updated.lookup_enabled, updated.custom_code_enabled) == (
        "Acme", 4, True, True)
    assert svc.sid in [s.sid for s in client.verify.v2.services.list()]
    client.verify.v2.services.create(friendly_name="Second")
    paged = client.verify.v2.services.list(page_size=1, limit=2)  # follows meta.next_page_url
    assert len(paged) == 2 and paged[0].sid != paged[1].sid
    # The prefix style (client.verify.base_url = ".../verify") lists the same services.
    prefixed = prefix_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    assert svc.sid in [s.sid for s in prefixed.verify.v2.services.list(limit=100)]
    assert validate_exchanges(prefixed) > 0

    assert client.verify.v2.services(svc.sid).delete() is True
    assert rest_error(lambda: client.verify.v2.services(svc.sid).fetch()) == (404, 20404)


def test_service_validation(client: Client) -> None:
    services = client.verify.v2.services
    assert rest_error(lambda: services.create(friendly_name="x", code_length=3)) == (400, 60200)
    assert rest_error(lambda: services.create(friendly_name="x", code_length=11)) == (400, 60200)
    assert rest_error(lambda: services.create(friendly_name="A" * 33)) == (400, 60200)
    assert rest_error(lambda: services.create(friendly_name="Call 555-1234")) == (400, 60200)
    assert rest_error(lambda: services.create(friendly_name="www.acme.com")) == (400, 60200)
    assert rest_error(lambda: services("VA" + "0" * 32).update(friendly_name="x")) == (404, 20404)


def test_full_flow_code_from_the_handset(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    assert verification.sid.startswith("VE") and verification.status == "pending" and verification.valid is False
    assert (verification.to, verification.channel, verification.service_sid) == (to, "sms", service)
    assert [a["channel"] for a in verification.send_code_attempts] == ["sms"]
    assert verification.send_code_attempts[0]["attempt_sid"].startswith("VL")
    (code,) = codes_received(server, to)
    assert len(code) == 6
    assert last_body(server, to) == f"Your Acme verification code is: {code}"

    wrong = "000000" if code != "000000" else "111111"
    check = client.verify.v2.services(service).verification_checks.create(to=to, code=wrong)
    assert (check.sid, check.status, check.valid) == (verification.sid, "pending", False)
    check = client.verify.v2.services(service).verification_checks.create(to=to, code=code)
    assert (check.sid, check.status, check.valid) == (verification.sid, "approved", True)
    fetched = client.verify.v2.services(service).verifications(verification.sid).fetch()
    assert (fetched.status, fetched.valid) == ("approved", True)

    # An approved verification cannot be checked again, by To or by its SID.
    checks = client.verify.v2.services(service).verification_checks
    assert rest_error(lambda: checks.create(to=to, code=code)) == (404, 20404)
    assert rest_error(lambda: checks.create(verification_sid=verification.sid, code=code)) == (404, 20404)
    # The SMS that carried the code is not readable through the Messages API either.
    assert [m.sid for m in client.messages.list(to=to)] == []
    # Nothing the API answered carries the code.
    for _method, _product, path, response in client.http_client.exchanges:  # type: ignore[attr-defined]
        assert code not in response.text, path
    log = server.log_path.read_text()
    assert code not in log


def test_check_by_verification_sid(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    (code,) = codes_received(server, to)
    check = client.verify.v2.services(service).verification_checks.create(verification_sid=verification.sid,
                                                                            code=code)
    assert (check.status, check.valid, check.to) == ("approved", True, to)


def test_sixth_check_is_60202(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    (code,) = codes_received(server, to)
    wrong = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 6)]
    checks = client.verify.v2.services(service).verification_checks
    for guess in wrong:
        assert checks.create(to=to, code=guess).status == "pending"
    # The sixth check fails even with the right code, and ends the verification.
    assert rest_error(lambda: checks.create(to=to, code=code)) == (429, 60202)
    fetched = client.verify.v2.services(service).verifications(verification.sid).fetch()
    assert (fetched.status, fetched.valid) == ("max_attempts_reached", False)
    assert rest_error(lambda: checks.create(verification_sid=verification.sid, code=code)) == (429, 60202)
    # No new code until it expires.
    assert rest_error(lambda: client.verify.v2.services(service).verifications.create(to=to, channel="sms")) == (
        429, 60202)


def test_resend_is_the_same_code_and_sixth_send_is_60203(client: Client, server: OpenlineServer,
                                                          service: str) -> None:
    to = handset()
    verifications = client.verify.v2.services(service).verifications
    sids = {verifications.create(to=to, channel="sms").sid for _ in range(5)}
    assert len(sids) == 1  # a second create within the lifetime is the same verification
    codes = codes_received(server, to, 5)
    assert len(codes) == 5 and len(set(codes)) == 1  # …and the same code, sent again
    fetched = client.verify.v2.services(service).verifications(sids.pop()).fetch()
    assert len(fetched.send_code_attempts) == 5
    assert rest_error(lambda: verifications.create(to=to, channel="sms")) == (429, 60203)
    # Completing the lifecycle (here: cancel) frees the destination, as on Twilio.
    assert client.verify.v2.services(service).verifications(fetched.sid).update(status="canceled").status == "canceled"
    again = verifications.create(to=to, channel="sms")
    assert again.sid != fetched.sid and again.status == "pending"


def test_expiry_follows_the_sandbox_clock(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    (code,) = codes_received(server, to)
    advance(server, 599)
    assert client.verify.v2.services(service).verifications(verification.sid).fetch().status == "pending"
    advance(server, 2)
    assert client.verify.v2.services(service).verifications(verification.sid).fetch().status == "expired"
    checks = client.verify.v2.services(service).verification_checks
    assert rest_error(lambda: checks.create(to=to, code=code)) == (404, 20404)
    assert rest_error(lambda: checks.create(verification_sid=verification.sid, code=code)) == (404, 20404)
    fresh = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    assert fresh.sid != verification.sid
    new_code = codes_received(server, to, 2)[-1]
    assert checks.create(to=to, code=new_code).status == "approved"


def test_cancel(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    (code,) = codes_received(server, to)
    canceled = client.verify.v2.services(service).verifications(verification.sid).update(status="canceled")
    assert (canceled.status, canceled.valid) == ("canceled", False)
    checks = client.verify.v2.services(service).verification_checks
    assert rest_error(lambda: checks.create(to=to, code=code)) == (404, 20404)
    assert rest_error(lambda: client.verify.v2.services(service).verifications(verification.sid).update(
        status="canceled")) == (404, 20404)
    assert client.verify.v2.services(service).verifications(verification.sid).fetch().status == "canceled"


def heard_on_calls(server: OpenlineServer, to: str) -> list[str]:
    """What the handset heard on its finished calls (<Say> texts), oldest call first."""
    def finished() -> list[dict] | None:  # type: ignore[type-arg]
        calls = httpx.get(f"{server.url}/sandbox/v1/Handsets/{to}/Calls",
                          auth=(server.account_sid, server.auth_token)).json()["calls"]  # type: ignore[attr-defined]
        return calls if calls and all(c["status"] == "completed" and c["recording_url"] for c in calls) else None
    calls = wait_for(finished, timeout=60)
    return [text for call in reversed(calls) for text in call["heard"]]  # type: ignore[union-attr]


def test_call_channel_speaks_the_code_digit_by_digit(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="call")
    assert verification.channel == "call" and verification.status == "pending"
    heard = heard_on_calls(server, to)
    assert len(heard) == 3 and len(set(heard)) == 1  # said three times
    spoken = re.fullmatch(r"Your Acme verification code is: ((?:\d, )+\d)", heard[0])
    assert spoken, heard[0]
    code = spoken.group(1).replace(", ", "")
    assert len(code) == 6
    check = client.verify.v2.services(service).verification_checks.create(to=to, code=code)
    assert check.status == "approved"
    assert verification.send_code_attempts[0]["channel"] == "call"


def test_call_channel_is_localized(client: Client, server: OpenlineServer, service: str) -> None:
    to = handset()
    client.verify.v2.services(service).verifications.create(to=to, channel="call", locale="fr")
    heard = heard_on_calls(server, to)
    assert heard[0].startswith("Votre code de vérification Acme est : ") and len(heard) == 3


def test_approve_by_update(client: Client, service: str) -> None:
    to = handset()
    verification = client.verify.v2.services(service).verifications.create(to=to, channel="sms")
    approved = client.verify.v2.services(service).verifications(verification.sid).update(status="approved")
    assert (approved.status, approved.valid) == ("approved", True)


def test_verification_validation(client: Client, server: OpenlineServer, service: str) -> None:
    verifications = client.verify.v2.services(service).verifications
    to = handset()
    assert rest_error(lambda: verifications.create(to=to, channel="pigeon")) == (400, 60200)
    assert rest_error(lambda: verifications.create(to=to, channel="whatsapp")) == (400, 60200)
    assert rest_error(lambda: verifications.create(to=to, channel="email")) == (400, 60200)
    assert rest_error(lambda: verifications.create(to="not a number", channel="sms")) == (400, 60200)
    assert rest_error(lambda: verifications.create(to=to, channel="sms", custom_code="1234")) == (400, 60204)
    assert rest_error(lambda: verifications.create(to=to, channel="sms", custom_message="Code {{code}}")) == (
        400, 60204)
    assert rest_error(lambda: verifications.create(to=to, channel="sms", locale="not a locale!")) == (400, 60200)
    assert rest_error(lambda: client.verify.v2.services("VA" + "f" * 32).verifications.create(
        to=to, channel="sms")) == (404, 20404)
    assert rest_error(lambda: client.verify.v2.services(service).verifications("VE" + "f" * 32).fetch()) == (
        404, 20404)
    auth = (server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    url = f"{server.url}/verify/v2/Services/{service}/VerificationCheck"
    response = httpx.post(url, data={"To": to}, auth=auth)
    assert response.status_code == 400 and response.json()["code"] == 60200  # no Code
    response = httpx.post(url, data={"Code": "123456"}, auth=auth)
    assert response.status_code == 400 and response.json()["code"] == 60200  # neither To nor VerificationSid
    # The check never reveals whether a destination has a verification: unknown answers 404.
    assert rest_error(lambda: client.verify.v2.services(service).verification_checks.create(
        to=handset(), code="123456")) == (404, 20404)


def test_code_length_custom_code_locale_and_warning(client: Client, server: OpenlineServer) -> None:
    svc = client.verify.v2.services.create(friendly_name="Acme", code_length=8, do_not_share_warning_enabled=True,
                                           custom_code_enabled=True)
    verifications = client.verify.v2.services(svc.sid).verifications
    to = handset()
    verifications.create(to=to, channel="sms", locale="es")
    (code,) = codes_received(server, to)
    assert len(code) == 8
    assert last_body(server, to) == (f"Tu código de verificación de Acme es: {code}\nNo compartas este código con "
                                     "nadie; nuestros empleados nunca te lo pedirán.")
    for locale, words in (("fr", "Votre code de vérification"), ("de", "Bestätigungscode"), ("pt-BR", "código"),
                          ("zh", "验证码"), ("ja", "認証コード"), ("ar", "رمز التحقق"), ("en-GB", "Your Acme")):
        other = handset()
        verifications.create(to=other, channel="sms", locale=locale, custom_friendly_name="Shop")
        body = last_body(server, other)
        assert words.replace("Acme", "Shop") in body and "Shop" in body, (locale, body)
    # The destination's country picks the language when Locale is absent.
    french = "+33612340000"
    verifications.create(to=french, channel="sms")
    assert last_body(server, french).startswith("Votre code de vérification Acme est")
    # A custom code is what the handset receives, and what approves.
    custom_to = handset()
    verifications.create(to=custom_to, channel="sms", custom_code="AB12CD")
    assert "AB12CD" in last_body(server, custom_to)
    assert client.verify.v2.services(svc.sid).verification_checks.create(to=custom_to, code="AB12CD").status == \
        "approved"


def test_lookup_and_skip_sms_to_landlines(client: Client, server: OpenlineServer) -> None:
    svc = client.verify.v2.services.create(friendly_name="Acme", lookup_enabled=True, skip_sms_to_landlines=True)
    verifications = client.verify.v2.services(svc.sid).verifications
    # Twilio's test number for "not a mobile number" is a landline to Lookup, so Verify skips it.
    assert rest_error(lambda: verifications.create(to="+15005550009", channel="sms")) == (403, 60205)
    assert rest_error(lambda: verifications.create(to="+442071838750", channel="sms")) == (403, 60205)
    mobile = verifications.create(to="+33612345678", channel="sms")
    assert mobile.lookup["carrier"]["type"] == "mobile" and mobile.lookup["carrier"]["name"] == "SFR"
    plain = client.verify.v2.services.create(friendly_name="Plain")
    assert client.verify.v2.services(plain.sid).verifications.create(to=handset(), channel="sms").lookup == {}


def test_rate_limits_and_buckets(client: Client, server: OpenlineServer, service: str) -> None:
    limits = client.verify.v2.services(service).rate_limits
    limit = limits.create(unique_name="end_user_ip", description="per client IP")
    assert limit.sid.startswith("RK") and limit.unique_name == "end_user_ip"
    assert limit.links["buckets"].endswith(f"/RateLimits/{limit.sid}/Buckets")
    assert rest_error(lambda: limits.create(unique_name="end_user_ip")) == (400, 60208)
    assert rest_error(lambda: limits.create(unique_name="bad name!")) == (400, 60200)
    assert limits(limit.sid).update(description="client IP").description == "client IP"
    assert [x.sid for x in limits.list()] == [limit.sid]

    buckets = limits(limit.sid).buckets
    bucket = buckets.create(max=2, interval=60)
    assert bucket.sid.startswith("BL") and (bucket.max, bucket.interval) == (2, 60)
    assert rest_error(lambda: buckets.create(max=5, interval=60)) == (400, 60211)
    hourly = buckets.create(max=10, interval=3600)
    assert buckets(hourly.sid).update(max=9).max == 9
    assert {b.sid for b in buckets.list()} == {bucket.sid, hourly.sid}
    assert buckets(bucket.sid).fetch().interval == 60

    verifications = client.verify.v2.services(service).verifications
    for _ in range(2):
        verifications.create(to=handset(), channel="sms", rate_limits={"end_user_ip": "203.0.113.7"})
    assert rest_error(lambda: verifications.create(to=handset(), channel="sms",
                                                   rate_limits={"end_user_ip": "203.0.113.7"})) == (429, 60203)
    # Another key has its own bucket; the window slides with the sandbox clock.
    verifications.create(to=handset(), channel="sms", rate_limits={"end_user_ip": "198.51.100.1"})
    advance(server, 61)
    verifications.create(to=handset(), channel="sms", rate_limits={"end_user_ip": "203.0.113.7"})
    assert rest_error(lambda: verifications.create(to=handset(), channel="sms",
                                                   rate_limits={"no_such_limit": "x"})) == (400, 60200)

    assert buckets(bucket.sid).delete() is True
    assert rest_error(lambda: buckets(bucket.sid).fetch()) == (404, 20404)
    assert limits(limit.sid).delete() is True
    assert rest_error(lambda: limits(limit.sid).fetch()) == (404, 20404)


def test_sms_pumping_guard(client: Client, service: str) -> None:
    verifications = client.verify.v2.services(service).verifications
    for i in range(2):
        verifications.create(to=f"{PUMPED_PREFIX}{i:04d}", channel="sms")
    assert rest_error(lambda: verifications.create(to=f"{PUMPED_PREFIX}0099", channel="sms")) == (429, 60410)
    verifications.create(to=handset(), channel="sms")  # other destinations are not affected


def test_services_are_private_to_their_account(client: Client, server: OpenlineServer, service: str) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="other tenant")
    other = host_style_client(server.url, sub.sid, sub.auth_token)
    assert rest_error(lambda: other.verify.v2.services(service).fetch()) == (404, 20404)
    assert rest_error(lambda: other.verify.v2.services(service).verifications.create(
        to=handset(), channel="sms")) == (404, 20404)
    assert service not in [s.sid for s in other.verify.v2.services.list()]
    validate_exchanges(other)
