"""Programmable Voice end to end with the official SDK: an IVR served by the test drives a call to
a sandbox handset that presses digits; status callbacks are signed and in order; a live call is
redirected; the handset's view of the call (heard text, digits, audio) is checked."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable, Iterator

import httpx
import pytest
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from tests.conftest import new_credentials
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, rest_error
from tests.support.webhook_receiver import Received, WebhookReceiver, twiml


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("voice") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                              "OPENLINE_VOICE__CALLS_PER_SECOND": "20"})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def app(server: OpenlineServer) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def number(server: OpenlineServer) -> str:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    return client.incoming_phone_numbers.create(phone_number="+15555550170").phone_number  # type: ignore[no-any-return]


def sandbox(server: OpenlineServer, method: str, path: str, **form: str) -> httpx.Response:
    return httpx.request(method, f"{server.url}/sandbox/v1{path}", data=form or None,
                         auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def handset_calls(server: OpenlineServer, handset: str) -> list[dict]:  # type: ignore[type-arg]
    response = sandbox(server, "GET", f"/Handsets/{handset}/Calls")
    assert response.status_code == 200, response.text
    return response.json()["calls"]  # type: ignore[no-any-return]


def test_ivr_gathers_digits_and_redirects(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                         number: str) -> None:
    handset = "+15558670001"
    assert sandbox(server, "POST", f"/Handsets/{handset}/Behavior", Answer="answer", AnswerAfter="1",
                   Digits="ww42#").status_code == 200
    menu = VoiceResponse()
    gather = Gather(num_digits=3, finish_on_key="#", action="/voice/choice", timeout=5)
    gather.say("Press your code.")
    menu.append(gather)
    menu.say("We did not hear you.")
    app.on("/voice/menu", twiml(str(menu)))

    def choice(r: Received) -> tuple[int, str, bytes]:
        answer = VoiceResponse()
        answer.say(f"You chose {r.get('Digits')}.")
        answer.redirect("/voice/bye")
        return twiml(str(answer))

    app.on("/voice/choice", choice)
    bye = VoiceResponse()
    bye.say("Goodbye.")
    bye.hangup()
    app.on("/voice/bye", twiml(str(bye)))
    app.on("/voice/status", (204, "text/plain", b""))

    call = client.calls.create(to=handset, from_=number, url=app.url("/voice/menu"),
                               status_callback=app.url("/voice/status"),
                               status_callback_event=["initiated", "ringing", "answered", "completed"])
    assert call.sid.startswith("CA") and call.status == "queued" and call.direction == "outbound-api"
    done = wait_for(lambda: (c := client.calls(call.sid).fetch()).status == "completed" and c, timeout=30)
    assert int(done.duration) >= 1 and done.start_time is not None and done.end_time is not None  # type: ignore[attr-defined]

    menu_hit = app.wait("/voice/menu")[0]
    assert menu_hit.signature_valid
    assert menu_hit.get("CallSid") == call.sid and menu_hit.get("CallStatus") == "in-progress"
    assert menu_hit.get("Direction") == "outbound-api" and menu_hit.get("To") == handset
    assert menu_hit.get("Called") == handset and menu_hit.get("Caller") == number
    chosen = app.wait("/voice/choice")[0]
    assert chosen.signature_valid and chosen.get("Digits") == "42" and chosen.get("FinishedOnKey") == "#"
    assert app.wait("/voice/bye")[0].signature_valid

    statuses = app.wait("/voice/status", 4)
    assert all(s.signature_valid for s in statuses)
    assert [s.get("CallStatus") for s in statuses] == ["initiated", "ringing", "in-progress", "completed"]
    assert [s.get("SequenceNumber") for s in statuses] == ["0", "1", "2", "3"]
    assert statuses[-1].get("CallDuration") == done.duration  # type: ignore[attr-defined]

    seen = wait_for(lambda: [c for c in handset_calls(server, handset) if c["sid"] == call.sid
                             and c["recording_url"]])
    item = seen[0]  # type: ignore[index]
    assert item["heard"] == ["Press your code.", "You chose 42.", "Goodbye."]
    assert item["digits_sent"] == "42#" and item["status"] == "completed" and item["from"] == number
    audio = httpx.get(item["recording_url"], auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 8000
        frames = w.readframes(w.getnframes())
    assert max(abs(int.from_bytes(frames[i:i + 2], "little", signed=True)) for i in range(0, len(frames), 2)) > 1000

    assert call.sid in [c.sid for c in client.calls.list(to=handset, status="completed")]
    assert call.sid not in [c.sid for c in client.calls.list(status="busy")]


def test_live_redirect_with_twiml(client: Client, server: OpenlineServer, app: WebhookReceiver, number: str) -> None:
    handset = "+15558670002"
    sandbox(server, "POST", f"/Handsets/{handset}/Behavior", Answer="answer")
    hold = VoiceResponse()
    hold.pause(length=60)
    app.on("/voice/hold", twiml(str(hold)))
    call = client.calls.create(to=handset, from_=number, url=app.url("/voice/hold"))
    wait_for(lambda: client.calls(call.sid).fetch().status == "in-progress")
    app.wait("/voice/hold")
    updated = client.calls(call.sid).update(twiml="<Response><Say>Redirected.</Say><Hangup/></Response>")
    assert updated.sid == call.sid
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed")
    seen = wait_for(lambda: [c for c in handset_calls(server, handset) if c["sid"] == call.sid and c["heard"]])
    assert seen[0]["heard"] == ["Redirected."]  # type: ignore[index]
    # A call that has ended cannot be redirected.
    assert rest_error(lambda: client.calls(call.sid).update(twiml="<Response/>")) == (400, 21220)


def test_end_a_live_call_and_busy_handset(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                          number: str) -> None:
    hold = VoiceResponse()
    hold.pause(length=60)
    app.on("/voice/hold2", twiml(str(hold)))
    call = client.calls.create(to="+15558670003", from_=number, url=app.url("/voice/hold2"))
    wait_for(lambda: client.calls(call.sid).fetch().status == "in-progress")
    ended = client.calls(call.sid).update(status="completed")
    assert ended.status == "completed"

    sandbox(server, "POST", "/Handsets/+15558670004/Behavior", Answer="busy", AnswerAfter="1")
    busy = client.calls.create(to="+15558670004", from_=number, url=app.url("/voice/hold2"))
    assert wait_for(lambda: client.calls(busy.sid).fetch().status == "busy")
    client.calls(busy.sid).delete()
    assert rest_error(lambda: client.calls(busy.sid).fetch()) == (404, 20404)


def test_inbound_sandbox_call_runs_the_numbers_voice_url(client: Client, server: OpenlineServer,
                                                        app: WebhookReceiver, number: str) -> None:
    welcome = VoiceResponse()
    gather = Gather(num_digits=1, action="/voice/in-choice")
    gather.say("Welcome.")
    welcome.append(gather)
    app.on("/voice/in", twiml(str(welcome)))
    app.on("/voice/in-choice", lambda r: twiml(f"<Response><Say>Option {r.get('Digits')}.</Say></Response>"))
    client.incoming_phone_numbers.list(phone_number=number)[0].update(voice_url=app.url("/voice/in"))
    response = sandbox(server, "POST", "/Calls", From="+15558670005", To=number, Digits="w7")
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["direction"] == "inbound" and placed["to"] == number and placed["from"] == "+15558670005"
    hit = app.wait("/voice/in")[0]
    assert hit.signature_valid and hit.get("Direction") == "inbound" and hit.get("CallStatus") == "ringing"
    assert app.wait("/voice/in-choice")[0].get("Digits") == "7"
    wait_for(lambda: client.calls(placed["sid"]).fetch().status == "completed")
    seen = wait_for(lambda: [c for c in handset_calls(server, "+15558670005") if c["sid"] == placed["sid"]
                             and c["recording_url"]])
    assert seen[0]["heard"] == ["Welcome.", "Option 7."] and seen[0]["digits_sent"] == "7"  # type: ignore[index]


def test_calls_api_errors(client: Client, number: str, app: WebhookReceiver) -> None:
    url = app.url("/voice/menu")
    cases = [
        (dict(to="", from_=number, url=url), 21201),
        (dict(to="+15558670009", from_="", url=url), 21213),
        (dict(to="+15558670009", from_=number), 21205),
        (dict(to="+15558670009", from_=number, url="not a url"), 21205),
        (dict(to="+15558670009", from_="+15555550999", url=url), 21210),
        (dict(to="nonsense", from_=number, url=url), 21217),
        (dict(to="+15005550004", from_=number, url=url), 21216),
        (dict(to="+15558670009", from_=number, twiml="<Response><Dance/></Response>"), 21205),
        (dict(to="+15558670009", from_=number, url=url, send_digits="12x"), 21236),
        (dict(to="+15558670009", from_=number, url=url, status_callback=url, status_callback_event=["dialing"]),
         21626),
        (dict(to="+15558670009", from_=number, url=url, application_sid="AP" + "0" * 32), 21218),
    ]
    for kwargs, code in cases:
        assert rest_error(lambda kwargs=kwargs: client.calls.create(**kwargs)) == (400, code), kwargs
    assert rest_error(lambda: client.calls("CA" + "0" * 32).fetch()) == (404, 20404)
    assert client.calls.list(to="+15558670009") == []


def tone_wav(seconds: float, rate: int = 16000) -> bytes:
    import math
    import struct
    samples = b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * 440 * i / rate)))
                       for i in range(int(seconds * rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return out.getvalue()


def peak(wav_bytes: bytes) -> int:
    with wave.open(io.BytesIO(wav_bytes)) as w:
        frames = w.readframes(w.getnframes())
    return max((abs(int.from_bytes(frames[i:i + 2], "little", signed=True)) for i in range(0, len(frames), 2)),
               default=0)


def test_record_verb_recordings_resource_and_media(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                                   number: str) -> None:
    handset = "+15558670006"
    app.on("/audio/hello.wav", (200, "audio/wav", tone_wav(1.5)))
    # The handset waits 3 s (past the prompt and the beep), then speaks 1.5 s of tone, then is silent.
    sandbox(server, "POST", f"/Handsets/{handset}/Behavior", Answer="answer", Digits="w" * 6,
            PlayUrl=app.url("/audio/hello.wav"))
    prompt = VoiceResponse()
    prompt.say("Leave a message.")
    prompt.record(max_length=20, timeout=2, action="/voice/recorded",
                  recording_status_callback="/voice/recording-status")
    app.on("/voice/record", twiml(str(prompt)))
    app.on("/voice/recorded", twiml("<Response><Say>Thanks.</Say><Hangup/></Response>"))
    app.on("/voice/recording-status", (204, "text/plain", b""))
    call = client.calls.create(to=handset, from_=number, url=app.url("/voice/record"))
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed", timeout=40)

    action = app.wait("/voice/recorded")[0]
    assert action.signature_valid and action.get("CallSid") == call.sid
    recording_sid = action.get("RecordingSid") or ""
    assert recording_sid.startswith("RE") and int(action.get("RecordingDuration") or 0) >= 1
    recording_url = action.get("RecordingUrl") or ""
    assert recording_url.endswith(f"/Recordings/{recording_sid}")
    status = app.wait("/voice/recording-status")[0]
    assert status.signature_valid and status.get("RecordingStatus") == "completed"
    assert status.get("RecordingSid") == recording_sid and status.get("RecordingSource") == "RecordVerb"

    listed = client.recordings.list(call_sid=call.sid)
    assert [r.sid for r in listed] == [recording_sid] and listed[0].source == "RecordVerb"
    assert [r.sid for r in client.calls(call.sid).recordings.list()] == [recording_sid]
    assert client.calls(call.sid).recordings(recording_sid).fetch().call_sid == call.sid
    fetched = client.recordings(recording_sid).fetch()
    assert int(fetched.duration) >= 1 and fetched.status == "completed"

    wav = httpx.get(recording_url + ".wav")  # no credentials: the account does not ask for them
    assert wav.status_code == 200 and wav.content.startswith(b"RIFF") and peak(wav.content) > 3000
    assert httpx.get(recording_url).content == wav.content  # the bare URL is the WAV too, as on Twilio
    mp3 = httpx.get(recording_url + ".mp3")
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg" and len(mp3.content) > 500
    assert mp3.content[:3] == b"ID3" or mp3.content[0] == 0xFF

    client.recordings(recording_sid).delete()
    assert httpx.get(recording_url + ".wav").status_code == 404
    assert rest_error(lambda: client.recordings(recording_sid).fetch()) == (404, 20404)


def test_caller_hanging_up_during_record_still_posts_the_recording(client: Client, server: OpenlineServer,
                                                                    app: WebhookReceiver, number: str) -> None:
    handset = "+15558670016"
    app.on("/audio/message.wav", (200, "audio/wav", tone_wav(1.5)))
    # Speaks 1.5 s of tone after 3 s, then hangs up at 5 s, long before <Record> would end by itself.
    sandbox(server, "POST", f"/Handsets/{handset}/Behavior", Answer="answer", Digits="w" * 6,
            PlayUrl=app.url("/audio/message.wav"), HangupAfter="5")
    prompt = VoiceResponse()
    prompt.say("Leave a message.")
    prompt.record(max_length=30, timeout=15, action="/voice/after-hangup")
    app.on("/voice/record-hangup", twiml(str(prompt)))
    app.on("/voice/after-hangup", twiml("<Response><Say>Never heard.</Say></Response>"))
    call = client.calls.create(to=handset, from_=number, url=app.url("/voice/record-hangup"))
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed", timeout=40)
    action = app.wait("/voice/after-hangup")[0]
    assert action.signature_valid and action.get("CallSid") == call.sid and action.get("Digits") == "hangup"
    recording_sid = action.get("RecordingSid") or ""
    assert recording_sid.startswith("RE") and int(action.get("RecordingDuration") or 0) >= 1
    assert [r.sid for r in client.recordings.list(call_sid=call.sid)] == [recording_sid]


def test_record_true_records_the_whole_call(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                            number: str) -> None:
    app.on("/voice/short", twiml("<Response><Say>This call is recorded.</Say></Response>"))
    call = client.calls.create(to="+15558670007", from_=number, url=app.url("/voice/short"), record=True)
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed", timeout=30)
    listed = wait_for(lambda: client.recordings.list(call_sid=call.sid))
    assert listed[0].source == "OutboundAPI"  # type: ignore[index]
    media = httpx.get(f"{server.url}/2010-04-01/Accounts/{call.account_sid}/Recordings/"
                      f"{listed[0].sid}.wav")  # type: ignore[index]
    assert media.status_code == 200 and peak(media.content) > 1000


def test_dial_bridges_two_handsets_and_records(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                              number: str) -> None:
    caller, callee = "+15558670010", "+15558670011"
    app.on("/audio/tone.wav", (200, "audio/wav", tone_wav(1.0)))
    # The callee answers after a second, sends a tone, and hangs up three seconds after answering.
    sandbox(server, "POST", f"/Handsets/{callee}/Behavior", Answer="answer", AnswerAfter="1",
            PlayUrl=app.url("/audio/tone.wav"), HangupAfter="3")
    forward = VoiceResponse()
    dial = forward.dial(record="record-from-answer", action="/voice/dialed", timeout=10)
    dial.number(callee, status_callback="/voice/child-status",
                status_callback_event="initiated ringing answered completed")
    app.on("/voice/child-status", (204, "text/plain", b""))
    app.on("/voice/forward", twiml(str(forward)))
    app.on("/voice/dialed", twiml("<Response><Say>The call has ended.</Say><Hangup/></Response>"))
    client.incoming_phone_numbers.list(phone_number=number)[0].update(voice_url=app.url("/voice/forward"))
    response = sandbox(server, "POST", "/Calls", From=caller, To=number, Digits="wwww",
                       PlayUrl=app.url("/audio/tone.wav"))
    assert response.status_code == 201, response.text
    parent = response.json()["sid"]

    dialed = app.wait("/voice/dialed", timeout=30)[0]
    assert dialed.signature_valid and dialed.get("DialCallStatus") == "completed"
    assert int(dialed.get("DialCallDuration") or 0) >= 2
    children = client.calls.list(parent_call_sid=parent)
    assert len(children) == 1 and children[0].sid == dialed.get("DialCallSid")
    child = children[0]
    assert child.direction == "outbound-dial" and child.to == callee and child._from == caller
    assert child.status == "completed" and int(child.duration) >= 2
    child_statuses = app.wait("/voice/child-status", 4)
    assert [s.get("CallStatus") for s in child_statuses] == ["initiated", "ringing", "in-progress", "completed"]
    assert all(s.signature_valid and s.get("ParentCallSid") == parent and s.get("Direction") == "outbound-dial"
               for s in child_statuses)
    wait_for(lambda: client.calls(parent).fetch().status == "completed")

    # Audio flowed both ways: each handset heard the other's tone.
    heard_by_caller = wait_for(lambda: [c for c in handset_calls(server, caller) if c["sid"] == parent
                                        and c["recording_url"]])
    assert heard_by_caller[0]["heard"] == ["The call has ended."]  # type: ignore[index]
    auth = (server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    assert peak(httpx.get(heard_by_caller[0]["recording_url"], auth=auth).content) > 3000  # type: ignore[index]
    heard_by_callee = wait_for(lambda: [c for c in handset_calls(server, callee) if c["sid"] == child.sid
                                        and c["recording_url"]])
    assert peak(httpx.get(heard_by_callee[0]["recording_url"], auth=auth).content) > 3000  # type: ignore[index]
    # The bridge was recorded (record-from-answer) and its URL reached the action.
    recording = client.recordings(dialed.get("RecordingSid") or "").fetch()
    assert recording.source == "DialVerb" and recording.call_sid == parent
    assert peak(httpx.get(f"{dialed.get('RecordingUrl')}.wav").content) > 3000


def test_dial_to_a_busy_handset_reports_busy(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                             number: str) -> None:
    sandbox(server, "POST", "/Handsets/+15558670012/Behavior", Answer="busy")
    app.on("/voice/forward-busy", twiml('<Response><Dial action="/voice/dialed-busy">+15558670012</Dial></Response>'))
    app.on("/voice/dialed-busy", twiml("<Response><Hangup/></Response>"))
    call = client.calls.create(to="+15558670013", from_=number, url=app.url("/voice/forward-busy"))
    dialed = app.wait("/voice/dialed-busy", timeout=20)[0]
    assert dialed.get("DialCallStatus") == "busy" and dialed.get("DialCallDuration") == "0"
    assert client.calls(dialed.get("DialCallSid") or "").fetch().parent_call_sid == call.sid


def test_unknown_verb_is_an_alert_a_spoken_error_and_a_hangup(client: Client, server: OpenlineServer,
                                                              app: WebhookReceiver, number: str) -> None:
    handset = "+15558670020"
    app.on("/voice/broken", twiml("<Response><Say>Hello</Say><Dance/></Response>"))
    call = client.calls.create(to=handset, from_=number, url=app.url("/voice/broken"))
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed")
    seen = wait_for(lambda: [c for c in handset_calls(server, handset) if c["sid"] == call.sid and c["heard"]])
    assert seen[0]["heard"] == ["We are sorry, an application error has occurred. Goodbye."]  # type: ignore[index]
    alerts = [a for a in client.monitor.v1.alerts.list() if a.resource_sid == call.sid]
    assert [a.error_code for a in alerts] == ["12200"]


def test_fallback_url_takes_over_when_the_url_fails(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                                    number: str) -> None:
    handset = "+15558670021"
    app.on("/voice/fails", (500, "text/plain", b"down"))
    app.on("/voice/fallback", twiml("<Response><Say>Backup line.</Say></Response>"))
    call = client.calls.create(to=handset, from_=number, url=app.url("/voice/fails"),
                               fallback_url=app.url("/voice/fallback"))
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed")
    fallback = app.wait("/voice/fallback")[0]
    assert fallback.signature_valid and fallback.get("CallSid") == call.sid
    seen = wait_for(lambda: [c for c in handset_calls(server, handset) if c["sid"] == call.sid and c["heard"]])
    assert seen[0]["heard"] == ["Backup line."]  # type: ignore[index]
    assert "11200" in [a.error_code for a in client.monitor.v1.alerts.list() if a.resource_sid == call.sid]


def test_handset_behaviour_outcomes_and_validation(client: Client, server: OpenlineServer, app: WebhookReceiver,
                                                   number: str) -> None:
    app.on("/voice/never", twiml("<Response><Say>unheard</Say></Response>"))
    outcomes = {"+15558670022": ("no-answer", "no-answer"), "+15558670023": ("fail", "failed")}
    sids = {}
    for handset, (answer, _) in outcomes.items():
        assert sandbox(server, "POST", f"/Handsets/{handset}/Behavior", Answer=answer).status_code == 200
        sids[handset] = client.calls.create(to=handset, from_=number, url=app.url("/voice/never"), timeout=2).sid
    for handset, (_, status) in outcomes.items():
        assert wait_for(lambda sid=sids[handset], status=status: client.calls(sid).fetch().status == status), handset
    assert not [r for r in app.received if r.path == "/voice/never"]
    for form in ({"Answer": "maybe"}, {"AnswerAfter": "-1"}, {"Digits": "12x"}, {"PlayUrl": "ftp://x"},
                 {"HangupAfter": "soon"}):
        refused = sandbox(server, "POST", "/Handsets/+15558670024/Behavior", **form)
        assert refused.status_code == 400 and refused.json()["code"] in (20001, 21205), (form, refused.text)
    assert sandbox(server, "POST", "/Calls", From="+15558670024", To="+15555550999").json()["code"] == 21211
    assert sandbox(server, "POST", "/Calls", To=number).json()["code"] == 21213
    assert sandbox(server, "GET", "/Handsets/+15558670024/Calls").json() == {
        "calls": [], "meta": {"page": 0, "page_size": 50, "key": "calls", "next_page_url": None}}


def test_outbound_calls_wait_for_the_accounts_calls_per_second(tmp_path_factory: pytest.TempPathFactory) -> None:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("cps") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    receiver = WebhookReceiver(token).start()
    try:
        client = host_style_client(srv.url, sid, token)
        number = client.incoming_phone_numbers.create(phone_number="+15555550171").phone_number
        hits: list[float] = []

        def answer(_r: Received) -> tuple[int, str, bytes]:
            hits.append(time.monotonic())
            return twiml("<Response><Hangup/></Response>")

        receiver.on("/voice/cps", answer)
        calls = [client.calls.create(to=f"+1555867003{i}", from_=number, url=receiver.url("/voice/cps"))
                 for i in range(3)]
        assert all(c.status == "queued" for c in calls)  # accepted at once, dialed in turn
        wait_for(lambda: len(hits) == 3, timeout=20)
        # Twilio's default: one call per second per account.
        assert hits[1] - hits[0] >= 0.9 and hits[2] - hits[1] >= 0.9, hits
    finally:
        receiver.stop()
        srv.stop()
