"""The client session against scripted server bytes: greeting, EHLO/HELO, PIPELINING groups
(RFC 2920), the step-by-step fallback, STARTTLS (RFC 3207), AUTH (RFC 4954), failures."""

from __future__ import annotations

import base64

import pytest

from openline.codecs.smtp import (
    Authenticated,
    ClientSession,
    Closed,
    MailOutcome,
    NeedData,
    Phase,
    Ready,
    Refused,
    SessionError,
    SmtpParseError,
    TlsReady,
)

EHLO_PIPELINING = b"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
EHLO_PLAIN = b"250-mx.test\r\n250 8BITMIME\r\n"
MSG = b"Subject: hi\r\n\r\n.dot\r\n"
FRAMED = b"Subject: hi\r\n\r\n..dot\r\n.\r\n"


def events(session: ClientSession) -> list[object]:
    out = []
    while not isinstance(event := session.next_event(), NeedData):
        out.append(event)
    return out


def ready(ehlo: bytes = EHLO_PIPELINING) -> ClientSession:
    session = ClientSession("out.example.com")
    assert session.data_to_send() == b""
    session.receive_data(b"220 mx.test ESMTP\r\n")
    assert session.data_to_send() == b"EHLO out.example.com\r\n"
    session.receive_data(ehlo)
    [event] = events(session)
    assert isinstance(event, Ready) and event.extended
    assert session.idle
    return session


def test_pipelined_group_then_content_with_the_next_envelope() -> None:
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test", "y@mx.test"], MSG)
    session.send_mail(2, "a@example.com", ["z@mx.test"], b"second\r\n")
    # One write: MAIL, every RCPT and DATA (DATA ends the group).
    assert session.data_to_send() == (b"MAIL FROM:<a@example.com> SIZE=21\r\nRCPT TO:<x@mx.test>\r\n"
                                      b"RCPT TO:<y@mx.test>\r\nDATA\r\n")
    session.receive_data(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n354 go\r\n")
    # The content and the second envelope share a write.
    assert session.data_to_send() == FRAMED + b"MAIL FROM:<a@example.com> SIZE=8\r\nRCPT TO:<z@mx.test>\r\nDATA\r\n"
    session.receive_data(b"250 2.0.0 queued as A\r\n250 Ok\r\n250 Ok\r\n354 go\r\n")
    assert session.data_to_send() == b"second\r\n.\r\n"
    first = events(session)
    assert len(first) == 1 and isinstance(first[0], MailOutcome) and first[0].tag == 1 and first[0].content_sent
    assert {r: (a.code, a.text) for r, a in first[0].replies.items()} == {
        "x@mx.test": (250, "2.0.0 queued as A"), "y@mx.test": (550, "5.1.1 no such user")}
    assert not session.idle
    session.receive_data(b"250 2.0.0 queued as B\r\n")
    [second] = events(session)
    assert isinstance(second, MailOutcome) and second.tag == 2 and second.replies["z@mx.test"].code == 250
    assert session.idle


def test_mail_refused_gives_its_reply_to_every_recipient_and_resets() -> None:
    session = ready()
    session.send_mail("t", "bad@example.com", ["x@mx.test", "y@mx.test"], MSG)
    session.data_to_send()
    session.receive_data(b"553 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n"
                         b"503 5.5.1 need MAIL\r\n")
    assert session.data_to_send() == b"RSET\r\n"
    [outcome] = events(session)
    assert isinstance(outcome, MailOutcome) and not outcome.content_sent
    assert {a.code for a in outcome.replies.values()} == {553}
    session.receive_data(b"250 Ok\r\n")
    assert session.idle


def test_data_accepted_without_valid_recipients_gets_a_lone_dot() -> None:
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    session.data_to_send()
    session.receive_data(b"250 Ok\r\n451 4.2.0 later\r\n354 go\r\n")
    assert session.data_to_send() == b".\r\n"  # RFC 2920 §3.1
    session.receive_data(b"554 no valid recipients\r\n")
    [outcome] = events(session)
    assert isinstance(outcome, MailOutcome) and outcome.replies["x@mx.test"].code == 451
    assert not outcome.content_sent


def test_data_refused_answers_the_accepted_recipients() -> None:
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    session.data_to_send()
    session.receive_data(b"250 Ok\r\n250 Ok\r\n452 4.3.1 insufficient storage\r\n")
    assert session.data_to_send() == b"RSET\r\n"
    [outcome] = events(session)
    assert isinstance(outcome, MailOutcome) and outcome.replies["x@mx.test"].code == 452


def test_without_pipelining_each_command_waits_for_its_reply() -> None:
    session = ready(EHLO_PLAIN)
    session.send_mail(1, "a@example.com", ["x@mx.test", "y@mx.test"], "é\r\n".encode())
    session.send_mail(2, "a@example.com", ["z@mx.test"], b"two\r\n")
    assert session.data_to_send() == b"MAIL FROM:<a@example.com> BODY=8BITMIME\r\n"
    session.receive_data(b"250 Ok\r\n")
    assert session.data_to_send() == b"RCPT TO:<x@mx.test>\r\n"
    session.receive_data(b"550 no\r\n")
    assert session.data_to_send() == b"RCPT TO:<y@mx.test>\r\n"
    session.receive_data(b"250 Ok\r\n")
    assert session.data_to_send() == b"DATA\r\n"
    session.receive_data(b"354 go\r\n")
    assert session.data_to_send() == "é\r\n.\r\n".encode()
    session.receive_data(b"250 queued\r\n")
    assert session.data_to_send() == b"MAIL FROM:<a@example.com>\r\n"
    [outcome] = events(session)
    assert isinstance(outcome, MailOutcome) and outcome.tag == 1
    assert outcome.replies["x@mx.test"].code == 550 and outcome.replies["y@mx.test"].code == 250
    session.receive_data(b"250 Ok\r\n")
    assert session.data_to_send() == b"RCPT TO:<z@mx.test>\r\n"
    session.receive_data(b"550 no\r\n")
    assert session.data_to_send() == b"RSET\r\n"  # no recipient left: no DATA
    [outcome] = events(session)
    assert isinstance(outcome, MailOutcome) and outcome.replies == {"z@mx.test": outcome.replies["z@mx.test"]}
    session.receive_data(b"250 Ok\r\n")
    assert session.idle


def test_without_pipelining_the_next_message_follows_a_reset() -> None:
    session = ready(EHLO_PLAIN)
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    session.send_mail(2, "a@example.com", ["y@mx.test"], MSG)
    assert session.data_to_send() == b"MAIL FROM:<a@example.com>\r\n"
    session.receive_data(b"250 Ok\r\n")
    assert session.data_to_send() == b"RCPT TO:<x@mx.test>\r\n"
    session.receive_data(b"550 no\r\n")
    assert session.data_to_send() == b"RSET\r\n"
    session.receive_data(b"250 Ok\r\n")
    assert session.data_to_send() == b"MAIL FROM:<a@example.com>\r\n"


def test_helo_fallback_for_old_servers() -> None:
    session = ClientSession("out.example.com")
    session.receive_data(b"220 old\r\n")
    session.data_to_send()
    session.receive_data(b"502 5.5.2 what\r\n")
    assert session.data_to_send() == b"HELO out.example.com\r\n"
    session.receive_data(b"250 old.test\r\n")
    [event] = events(session)
    assert isinstance(event, Ready) and not event.extended and not event.capabilities.pipelining


def test_greeting_refused_quits_and_queued_mail_is_not_sent() -> None:
    session = ClientSession("out.example.com")
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    session.receive_data(b"554 5.7.1 no service for you\r\n")
    assert session.data_to_send() == b"QUIT\r\n"
    session.receive_data(b"221 bye\r\n")
    refused, outcome, closed = events(session)
    assert isinstance(refused, Refused) and refused.step == "greeting"
    assert isinstance(outcome, MailOutcome) and not outcome.content_sent
    assert outcome.replies["x@mx.test"].code == 451 and "greeting refused: 554" in outcome.replies["x@mx.test"].text
    assert isinstance(closed, Closed) and session.closed


def test_starttls_then_ehlo_again_with_fresh_capabilities() -> None:
    session = ready()
    session.start_tls()
    assert session.data_to_send() == b"STARTTLS\r\n"
    session.receive_data(b"220 2.0.0 go ahead\r\n")
    assert events(session) == [TlsReady()] and session.phase is Phase.TLS_PENDING
    session.tls_started()
    assert session.capabilities.pipelining is False  # forgotten until the new EHLO (RFC 3207 §4.2)
    assert session.data_to_send() == b"EHLO out.example.com\r\n"
    session.receive_data(b"250-mx.test\r\n250 AUTH LOGIN\r\n")
    [event] = events(session)
    assert isinstance(event, Ready) and event.capabilities.auth == {"LOGIN"} and not event.capabilities.starttls


def test_plain_text_after_the_starttls_220_is_refused() -> None:
    session = ready()
    session.start_tls()
    session.data_to_send()
    with pytest.raises(SmtpParseError):
        session.receive_data(b"220 go ahead\r\n250 injected\r\n")
    assert session.closed


def test_starttls_refused_keeps_the_plain_session() -> None:
    session = ready()
    session.start_tls()
    session.data_to_send()
    session.receive_data(b"454 4.7.0 TLS not available\r\n")
    [event] = events(session)
    assert isinstance(event, Refused) and event.step == "STARTTLS" and session.idle


def test_auth_plain_and_login() -> None:
    session = ready(b"250-relay\r\n250 AUTH PLAIN LOGIN\r\n")
    session.authenticate("user", "secret")
    assert session.data_to_send() == b"AUTH PLAIN " + base64.b64encode(b"\0user\0secret") + b"\r\n"
    session.receive_data(b"235 2.7.0 ok\r\n")
    [event] = events(session)
    assert isinstance(event, Authenticated)

    session = ready(b"250-relay\r\n250 AUTH LOGIN\r\n")
    session.authenticate("user", "secret")
    assert session.data_to_send() == b"AUTH LOGIN\r\n"
    session.receive_data(b"334 VXNlcm5hbWU6\r\n")
    assert session.data_to_send() == b"dXNlcg==\r\n"
    session.receive_data(b"334 UGFzc3dvcmQ6\r\n")
    assert session.data_to_send() == b"c2VjcmV0\r\n"
    session.receive_data(b"535 5.7.8 bad credentials\r\n")
    [event] = events(session)
    assert isinstance(event, Refused) and event.step == "AUTH" and event.reply.code == 535

    session = ready(b"250-relay\r\n250 AUTH CRAM-MD5\r\n")
    with pytest.raises(SessionError):
        session.authenticate("user", "secret")


def test_421_mid_group_answers_every_unfinished_message() -> None:
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    session.send_mail(2, "a@example.com", ["y@mx.test"], MSG)
    session.data_to_send()
    session.receive_data(b"421 4.3.2 shutting down\r\n")
    one, two, closed = events(session)
    assert isinstance(one, MailOutcome) and isinstance(two, MailOutcome) and isinstance(closed, Closed)
    assert {one.tag, two.tag} == {1, 2} and one.replies["x@mx.test"].code == 421 and not one.content_sent


def test_connection_lost_after_content_says_so() -> None:
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    session.data_to_send()
    session.receive_data(b"250 Ok\r\n250 Ok\r\n354 go\r\n")
    session.data_to_send()
    session.connection_lost()
    outcome, closed = events(session)
    assert isinstance(outcome, MailOutcome) and outcome.content_sent and outcome.replies["x@mx.test"].code == 451
    assert isinstance(closed, Closed) and closed.reply is None
    with pytest.raises(SessionError):
        session.send_mail(2, "a@example.com", ["x@mx.test"], MSG)


def test_local_refusals_never_reach_the_wire() -> None:
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test>\r\nRCPT TO:<evil@x.test"], MSG)
    session.send_mail(2, "a@example.com", ["x@mx.test"], b"x" * 2000)  # SIZE 1000
    session.send_mail(3, "jürgen@example.com", ["x@mx.test"], MSG)  # no SMTPUTF8
    assert session.data_to_send() == b""
    codes = [(e.tag, next(iter(e.replies.values())).code) for e in events(session) if isinstance(e, MailOutcome)]
    assert codes == [(1, 553), (2, 552), (3, 553)]
    with pytest.raises(SessionError):
        session.send_mail(4, "a@example.com", [], MSG)


def test_garbage_and_unasked_replies_close_the_session() -> None:
    session = ready()
    with pytest.raises(SmtpParseError):
        session.receive_data(b"250 nobody asked\r\n")
    assert session.closed
    session = ready()
    session.receive_data(b"421 idle too long\r\n")
    [closed] = events(session)
    assert isinstance(closed, Closed) and closed.reply is not None and closed.reply.code == 421
    session = ready()
    session.send_mail(1, "a@example.com", ["x@mx.test"], MSG)
    with pytest.raises(SmtpParseError):
        session.receive_data(b"HTTP/1.1 400 Bad Request\r\n")
    outcome, _ = events(session)
    assert isinstance(outcome, MailOutcome) and outcome.replies["x@mx.test"].code == 451


def test_quit() -> None:
    session = ready()
    session.quit()
    assert session.data_to_send() == b"QUIT\r\n"
    session.receive_data(b"221 2.0.0 bye\r\n")
    [closed] = events(session)
    assert isinstance(closed, Closed) and closed.reply is not None and closed.reply.code == 221
