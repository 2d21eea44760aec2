"""Programmable Voice over real SIP peers through a real `openline serve` with `[sip]` configured.

The call engine (TwiML, Calls API, callbacks, recordings) and the SIP user agent meet here:

* SIPp as a carrier's UAC calls a trunk number whose VoiceUrl (served by the test, built with
  ``twilio.twiml.voice_response``) gathers RFC 2833 digits and redirects; Openline hangs up.
* The SDK's ``calls.create`` to a number a route sends to a trunk whose proxy is a SIPp UAS:
  ringing/answered/completed callbacks, the TwiML runs (Say, Hangup), the BYE reaches SIPp.
* baresip registers as alice (digest) and receives a ``<Dial record="record-from-answer">``ed
  call from a SIPp caller that streams a tone; baresip answers with another tone. The call's
  recording (downloaded through the Recordings API) holds both tones, and baresip's own
  recording of what it heard holds the caller's.
* SIPp as the SIP user alice (digest-authenticated INVITE) calls an outside number: declined while
  no account owns her number; once bought, its VoiceUrl <Dial>s the number through a trunk to a
  SIPp UAS, which answers.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import signal
import subprocess
import time
import wave
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from openline.codecs.media import g711, tone, write_wav
from tests.conftest import new_credentials
from tests.integration.test_sip_baresip import baresip_config, baresip_port
from tests.integration.test_sip_sipp_peer import _free_port
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import Received, WebhookReceiver, twiml

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parents[1] / "peers" / "sipp"
IVR_NUMBER = "+14155550200"  # trunk numbers: SIPp calls them from an allowed source
DIAL_NUMBER = "+14155550201"
ALICE_NUMBER = "+14155550300"  # the SIP user baresip registers as
FAR_NUMBER = "+14155550777"  # a route sends it to the trunk whose proxy is the SIPp UAS
needs_root = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() != 0,
                                reason="SIPp's play_pcap_audio needs a raw socket (root)")


class Stack:
    """One `openline serve` with `[sip]`, its SDK client and the test's TwiML app."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sip_port = _free_port()
        self.uas_port = _free_port()
        sid, token = new_credentials()
        self.sid, self.token = sid, token
        config = tmp / "openline.toml"
        config.write_text(f"""
[sip]
listen = "127.0.0.1:{self.sip_port}"
rtp_ports = "23000-23999"

[[sip.trunks]]
name = "carrier-a"
proxy = "127.0.0.1:{self.uas_port}"
inbound_from = ["127.0.0.1"]
numbers = ["{IVR_NUMBER}", "{DIAL_NUMBER}"]

[[sip.users]]
username = "alice"
password = "secret"
number = "{ALICE_NUMBER}"

[[routes]]
match = "{FAR_NUMBER}"
carriers = ["carrier-a"]
""")
        self.server = OpenlineServer(tmp / "data", env={
            "OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token, "OPENLINE_VOICE__CALLS_PER_SECOND": "20",
        }, args=["--config", str(config)])
        self.app = WebhookReceiver(token)
        self.client: Client

    def start(self) -> Stack:
        self.server.start()
        self.app.start()
        self.client = host_style_client(self.server.url, self.sid, self.token)
        return self

    def stop(self) -> None:
        self.app.stop()
        self.server.stop()

    def buy(self, number: str, **params: str) -> None:
        self.client.incoming_phone_numbers.create(phone_number=number, **params)

    def sipp(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            return subprocess.Popen(["sipp", *args, "-nostdin", "-m", "1", "-trace_err"], stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.tmp)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("voice-sip")).start()
    yield running
    running.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def finish(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def level_at(pcm: bytes, frequency: float) -> float:
    """Goertzel magnitude of ``frequency`` over 8 kHz linear16, per sample (0 for silence)."""
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * frequency / 8000)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return math.sqrt(max(0.0, s1 * s1 + s2 * s2 - coeff * s1 * s2)) / len(samples)


@needs_root
def test_sipp_calls_an_ivr_that_gathers_digits_and_redirects(stack: Stack) -> None:
    app = stack.app
    menu = VoiceResponse()
    gather = Gather(input="dtmf", finish_on_key="#", timeout=8, action="/ivr/choice")
    gather.say("Enter your code, then press pound.")
    menu.append(gather)
    menu.say("We did not hear you.")
    app.on("/ivr/menu", twiml(str(menu)))

    def choice(r: Received) -> tuple[int, str, bytes]:
        answer = VoiceResponse()
        answer.say(f"You entered {r.get('Digits')}.")
        answer.redirect("/ivr/bye")
        return twiml(str(answer))

    app.on("/ivr/choice", choice)
    bye = VoiceResponse()
    bye.say("Goodbye.")
    bye.hangup()
    app.on("/ivr/bye", twiml(str(bye)))
    app.on("/ivr/status", (204, "text/plain", b""))
    stack.buy(IVR_NUMBER, voice_url=app.url("/ivr/menu"), status_callback=app.url("/ivr/status"))

    sipp = stack.sipp(f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / "uac_ivr.xml"), "-s", IVR_NUMBER,
                      "-i", "127.0.0.1", "-p", str(_free_port()), "-mi", "127.0.0.1",
                      "-mp", str(_free_port(even=True)), name="sipp-ivr")
    assert finish(sipp) == 0, stack.log("sipp-ivr")  # it got Openline's BYE after the redirect

    hit = app.wait("/ivr/menu")[0]
    assert hit.signature_valid
    assert hit.get("Direction") == "inbound" and hit.get("To") == IVR_NUMBER and hit.get("Called") == IVR_NUMBER
    assert hit.get("CallStatus") == "ringing" and hit.get("AccountSid") == stack.sid
    call_sid = hit.get("CallSid")
    chosen = app.wait("/ivr/choice")[0]
    assert chosen.signature_valid and chosen.get("CallSid") == call_sid
    assert chosen.get("Digits") == "12" and chosen.get("FinishedOnKey") == "#"
    redirected = app.wait("/ivr/bye")[0]
    assert redirected.signature_valid and redirected.get("CallSid") == call_sid

    call = wait_for(lambda: (c := stack.client.calls(call_sid).fetch()).status == "completed" and c)
    assert call.direction == "inbound" and call.to == IVR_NUMBER  # type: ignore[attr-defined]
    assert int(call.duration) >= 2 and call.start_time and call.end_time  # type: ignore[attr-defined]
    statuses = app.wait("/ivr/status")
    assert all(s.signature_valid for s in statuses)
    assert [s.get("CallStatus") for s in statuses] == ["completed"]
    assert statuses[0].get("CallSid") == call_sid and statuses[0].get("CallDuration") == call.duration  # type: ignore[attr-defined]


def test_calls_create_to_a_trunk_reaches_sipp_uas(stack: Stack) -> None:
    app = stack.app
    script = VoiceResponse()
    script.say("Hello from Openline.")
    script.hangup()
    app.on("/out/answer", twiml(str(script)))
    app.on("/out/status", (204, "text/plain", b""))
    if not stack.client.incoming_phone_numbers.list(phone_number=DIAL_NUMBER):
        stack.buy(DIAL_NUMBER)
    uas = stack.sipp("-sf", str(SCENARIOS / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(stack.uas_port),
                     "-mi", "127.0.0.1", "-mp", str(_free_port(even=True)), name="sipp-uas")
    try:
        time.sleep(0.3)  # SIPp binds its port
        call = stack.client.calls.create(to=FAR_NUMBER, from_=DIAL_NUMBER, url=app.url("/out/answer"),
                                         status_callback=app.url("/out/status"),
                                         status_callback_event=["initiated", "ringing", "answered", "completed"])
        assert call.direction == "outbound-api"
        assert finish(uas) == 0, stack.log("sipp-uas")  # SIPp got and answered our BYE
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait()
    done = wait_for(lambda: (c := stack.client.calls(call.sid).fetch()).status == "completed" and c)
    assert int(done.duration) >= 1  # type: ignore[attr-defined]
    assert app.wait("/out/answer")[0].get("CallStatus") == "in-progress"
    statuses = app.wait("/out/status", 4)
    assert all(s.signature_valid for s in statuses)
    assert [s.get("CallStatus") for s in statuses] == ["initiated", "ringing", "in-progress", "completed"]
    assert [s.get("SequenceNumber") for s in statuses] == ["0", "1", "2", "3"]

    # the legs' pacing statistics: on /health (sums over ended legs too) and on /metrics
    media = httpx.get(f"{stack.server.url}/health").json()["sip"]["media"]
    assert media["calls"] == 0 and media["peak_calls"] >= 1
    assert media["packets_sent"] >= 50 and 0 <= media["packets_late"] <= media["packets_sent"]
    assert media["rtcp_sent"] >= 1  # at least the BYE report when the leg ended
    scrape = httpx.get(f"{stack.server.url}/metrics").text
    assert f"openline_rtp_packets_sent {float(media['packets_sent'])}" in scrape
    assert "openline_rtp_packets_late " in scrape


@pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed; scripts/test installs it")
def test_dial_to_a_registered_baresip_with_recording(stack: Stack) -> None:
    tmp, app = stack.tmp, stack.app
    # the caller streams 1 kHz, baresip answers with 660 Hz: each direction is told apart by pitch
    caller_tone = tmp / "caller.ulaw"
    caller_tone.write_bytes(g711.encode(tone((1000.0,), 12000, amplitude=0.4), "PCMU"))
    callee_wav = tmp / "baresip-says.wav"
    callee_wav.write_bytes(write_wav(tone((660.0,), 4000, amplitude=0.4)))  # baresip hangs up at its end
    records = tmp / "baresip-records"
    baresip_config(tmp / "baresip", registrar_port=stack.sip_port, sip_port=baresip_port(), rtp_low=24000,
                   source=callee_wav, records=records)
    dial = VoiceResponse()
    number = Dial(record="record-from-answer", timeout=10, action="/dial/done")
    number.number(ALICE_NUMBER)
    dial.append(number)
    app.on("/dial/in", twiml(str(dial)))
    app.on("/dial/done", twiml("<Response><Hangup/></Response>"))
    existing = stack.client.incoming_phone_numbers.list(phone_number=DIAL_NUMBER)
    if existing:
        existing[0].update(voice_url=app.url("/dial/in"))
    else:
        stack.buy(DIAL_NUMBER, voice_url=app.url("/dial/in"))

    with (tmp / "baresip.log").open("wb") as log:
        phone = subprocess.Popen(["baresip", "-4", "-f", str(tmp / "baresip")], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
    try:
        wait_for(lambda: httpx.get(f"{stack.server.url}/health").json()["sip"]["registrar"].get("registered"),
                 timeout=10)
        scenario = tmp / "uac_stream_until_bye.xml"
        scenario.write_text((SCENARIOS / "uac_stream_until_bye.xml").read_text().replace("@STREAM@", str(caller_tone)))
        caller = stack.sipp(f"127.0.0.1:{stack.sip_port}", "-sf", str(scenario), "-s", DIAL_NUMBER,
                            "-i", "127.0.0.1", "-p", str(_free_port()), "-mi", "127.0.0.1",
                            "-mp", str(_free_port(even=True)), name="sipp-caller")
        assert finish(caller, 60) == 0, stack.log("sipp-caller")  # baresip hung up, the action hung up on it
        done = app.wait("/dial/done", timeout=20)[0]
    finally:
        phone.send_signal(signal.SIGTERM)
        try:
            phone.wait(5)
        except subprocess.TimeoutExpired:
            phone.kill()
            phone.wait()
    assert done.signature_valid and done.get("DialCallStatus") == "completed", done.form
    recording_url = done.get("RecordingUrl")
    assert recording_url and int(done.get("RecordingDuration") or 0) >= 2
    parent_sid = done.get("CallSid")
    recordings = stack.client.recordings.list(call_sid=parent_sid)
    assert [r.sid for r in recordings] == [done.get("RecordingSid")]
    media = httpx.get(f"{stack.server.url}/2010-04-01/Accounts/{stack.sid}/Recordings/{recordings[0].sid}.wav",
                      auth=(stack.sid, stack.token))
    assert media.status_code == 200 and media.headers["content-type"] == "audio/x-wav"
    with wave.open(io.BytesIO(media.content)) as w:
        assert w.getframerate() == 8000
        pcm = w.readframes(w.getnframes())
    # both directions are in the (mono, mixed) recording: the caller's 1 kHz and baresip's 660 Hz
    assert level_at(pcm, 1000.0) > 500, level_at(pcm, 1000.0)
    assert level_at(pcm, 660.0) > 500, level_at(pcm, 660.0)
    assert level_at(pcm, 1300.0) < 100  # a pitch nobody sent stays low: the check can fail
    heard = sorted(records.glob("*-dec.wav"))
    assert heard, list(records.iterdir())
    with wave.open(str(heard[-1])) as w:
        decoded = w.readframes(w.getnframes())
    assert level_at(decoded, 1000.0) > 500  # baresip heard the caller through the bridge


def test_sandbox_calls_share_the_media_clock_with_sip_legs(stack: Stack) -> None:
    """One pacing task per process: a sandbox handset's call ticks on the clock the SIP legs use."""
    handset = "+15558670044"  # no route sends it to a trunk: the sandbox takes it
    httpx.post(f"{stack.server.url}/sandbox/v1/Handsets/{handset}/Behavior", data={"Answer": "answer"},
               auth=(stack.sid, stack.token)).raise_for_status()
    hold = VoiceResponse()
    hold.pause(length=30)
    stack.app.on("/hold", twiml(str(hold)))
    if not stack.client.incoming_phone_numbers.list(phone_number=DIAL_NUMBER):
        stack.buy(DIAL_NUMBER)
    call = stack.client.calls.create(to=handset, from_=DIAL_NUMBER, url=stack.app.url("/hold"))
    wait_for(lambda: stack.client.calls(call.sid).fetch().status == "in-progress")
    media = httpx.get(f"{stack.server.url}/health").json()["sip"]["media"]
    assert media["calls"] == 0 and media["clock_legs"] == 1  # no SIP leg, one handset on the clock
    stack.client.calls(call.sid).update(status="completed")
    wait_for(lambda: httpx.get(f"{stack.server.url}/health").json()["sip"]["media"]["clock_legs"] == 0)


def test_a_sip_user_calls_an_outside_number_through_its_numbers_twiml(stack: Stack) -> None:
    """SIPp as the SIP user alice (digest, 407) calls FAR_NUMBER, which is not an Openline number:
    the VoiceUrl of alice's own number (bought from the inventory) answers with a <Dial> to it,
    which a route sends to the trunk whose proxy is a SIPp UAS; the UAS answers."""
    app = stack.app

    def alice_calls(scenario: str, name: str) -> subprocess.Popen[bytes]:
        return stack.sipp(f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / scenario), "-s", FAR_NUMBER,
                          "-au", "alice", "-ap", "secret", "-i", "127.0.0.1", "-p", str(_free_port()),
                          "-mi", "127.0.0.1", "-mp", str(_free_port(even=True)), name=name)

    # while no account owns alice's number her outside calls have no TwiML to run: declined
    assert not stack.client.incoming_phone_numbers.list(phone_number=ALICE_NUMBER)
    assert finish(alice_calls("uac_user_auth_refused.xml", "sipp-alice-refused")) == 0, \
        stack.log("sipp-alice-refused")

    offered = stack.client.available_phone_numbers("US").local.list(contains="4155550300")
    assert ALICE_NUMBER in [n.phone_number for n in offered]  # a SIP user's number is inventory
    out = VoiceResponse()
    dial = Dial(caller_id=ALICE_NUMBER, time_limit=2, action="/user/done")
    dial.number(FAR_NUMBER)
    out.append(dial)
    app.on("/user/out", twiml(str(out)))
    app.on("/user/done", twiml("<Response><Hangup/></Response>"))
    existing = stack.client.incoming_phone_numbers.list(phone_number=ALICE_NUMBER)
    if existing:
        existing[0].update(voice_url=app.url("/user/out"))
    else:
        stack.buy(ALICE_NUMBER, voice_url=app.url("/user/out"))
    owned = stack.client.incoming_phone_numbers.list(phone_number=ALICE_NUMBER)[0]
    assert owned.origin == "sip-user"  # type: ignore[attr-defined]

    uas = stack.sipp("-sf", str(SCENARIOS / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(stack.uas_port),
                     "-mi", "127.0.0.1", "-mp", str(_free_port(even=True)), name="sipp-far")
    try:
        time.sleep(0.3)  # SIPp binds its port
        alice = alice_calls("uac_user_auth_call.xml", "sipp-alice")
        assert finish(alice, 40) == 0, stack.log("sipp-alice")  # answered, then Openline's BYE
        assert finish(uas) == 0, stack.log("sipp-far")  # the callee answered and got the BYE
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait()
    hit = app.wait("/user/out")[0]
    assert hit.signature_valid
    assert hit.get("From") == ALICE_NUMBER and hit.get("To") == FAR_NUMBER
    assert hit.get("Direction") == "inbound" and hit.get("AccountSid") == stack.sid
    done = app.wait("/user/done", timeout=20)[0]
    assert done.get("DialCallStatus") == "completed", done.form
    parent_sid, child_sid = done.get("CallSid"), done.get("DialCallSid")
    assert parent_sid == hit.get("CallSid") and child_sid
    parent = wait_for(lambda: (c := stack.client.calls(parent_sid).fetch()).status == "completed" and c)
    assert parent.direction == "inbound" and parent._from == ALICE_NUMBER  # type: ignore[attr-defined]
    assert parent.to == FAR_NUMBER and parent.phone_number_sid == owned.sid  # type: ignore[attr-defined]
    child = stack.client.calls(child_sid).fetch()
    assert child.parent_call_sid == parent_sid and child.direction == "outbound-dial"
    assert child._from == ALICE_NUMBER and child.to == FAR_NUMBER and child.status == "completed"
    assert int(child.duration) >= 1
