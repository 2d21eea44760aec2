"""Digest vectors (RFC 2617 §3.5, RFC 7616 §3.9.1) and the server side's nonce handling."""

from __future__ import annotations

import pytest

from openline.codecs.sip import SipParseError
from openline.codecs.sip.digest import (
    DigestChallenge,
    DigestCredentials,
    DigestServer,
    Verdict,
    answer_challenge,
    compute_ha1,
    compute_response,
)


def test_rfc2617_md5_example() -> None:
    challenge = DigestChallenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    creds = answer_challenge(
        challenge, method="GET", uri="/dir/index.html", username="Mufasa", password="Circle Of Life", cnonce="0a4f113b"
    )
    assert creds.response == "6629fae49393a05397450978507c4ef1"
    assert creds.qop == "auth" and creds.nc == "00000001" and creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert DigestCredentials.parse(str(creds)) == creds


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples(algorithm: str, expected: str) -> None:
    challenge = DigestChallenge(
        realm="http-auth@example.org",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        algorithm=algorithm,
        qop=("auth", "auth-int"),
        opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    )
    creds = answer_challenge(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert creds.response == expected


def test_rfc2069_form_without_qop() -> None:
    challenge = DigestChallenge(realm="r", nonce="n", qop=())
    creds = answer_challenge(challenge, method="REGISTER", uri="sip:r", username="u", password="p", cnonce="c")
    assert creds.qop is None and creds.nc is None and creds.cnonce is None
    ha1 = compute_ha1("MD5", "u", "r", "p")
    assert creds.response == compute_response(algorithm="MD5", ha1=ha1, nonce="n", method="REGISTER", uri="sip:r")


def test_challenge_round_trip_and_sip_example() -> None:
    value = (
        'Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", '
        'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5'
    )
    challenge = DigestChallenge.parse(value)
    assert challenge.realm == "atlanta.com" and challenge.qop == ("auth",) and not challenge.stale
    assert DigestChallenge.parse(str(challenge)) == challenge


@pytest.mark.parametrize(
    "value",
    [
        "Basic realm=x",
        "Digest",
        'Digest realm="x"',
        'Digest realm="x", realm="y", nonce="n"',
        'Digest realm="unterminated, nonce="n"',
        "Digest realm",
    ],
)
def test_bad_challenges(value: str) -> None:
    with pytest.raises(SipParseError):
        DigestChallenge.parse(value)


@pytest.mark.parametrize(
    "value",
    [
        'Digest username="u", realm="r", nonce="n", uri="sip:x"',
        'Digest username="u", realm="r", nonce="n", uri="sip:x", response="abc", qop=auth',
        'Digest username="u", realm="r", nonce="n", uri="sip:x", response="abc", qop=auth, nc=1, cnonce="c"',
    ],
)
def test_bad_credentials(value: str) -> None:
    with pytest.raises(SipParseError):
        DigestCredentials.parse(value)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
def test_server_challenges_and_verifies(algorithm: str) -> None:
    server = DigestServer("openline", b"0123456789abcdef0123", nonce_lifetime=60)
    challenge = DigestChallenge.parse(str(server.challenge(1000.0, algorithm=algorithm)))
    creds = answer_challenge(challenge, method="REGISTER", uri="sip:openline", username="alice", password="secret", cnonce="x1")
    parsed = DigestCredentials.parse(str(creds))
    assert server.verify(parsed, method="REGISTER", password="secret", now=1010.0) is Verdict.OK
    # replayed nonce-count is refused, the next count is fine
    assert server.verify(parsed, method="REGISTER", password="secret", now=1010.0) is Verdict.INVALID
    creds2 = answer_challenge(challenge, method="REGISTER", uri="sip:openline", username="alice", password="secret", cnonce="x1", nc=2)
    assert server.verify(creds2, method="REGISTER", password="secret", now=1011.0) is Verdict.OK
    # wrong password, wrong method
    creds3 = answer_challenge(challenge, method="REGISTER", uri="sip:openline", username="alice", password="nope", cnonce="x", nc=3)
    assert server.verify(creds3, method="REGISTER", password="secret", now=1012.0) is Verdict.INVALID
    creds4 = answer_challenge(challenge, method="INVITE", uri="sip:openline", username="alice", password="secret", cnonce="x", nc=4)
    assert server.verify(creds4, method="REGISTER", password="secret", now=1012.0) is Verdict.INVALID


def test_server_stale_and_forged_nonces() -> None:
    server = DigestServer("openline", b"0123456789abcdef0123", nonce_lifetime=60)
    challenge = server.challenge(1000.0)
    creds = answer_challenge(challenge, method="INVITE", uri="sip:b@x", username="alice", password="pw", cnonce="c")
    assert server.verify(creds, method="INVITE", password="pw", now=2000.0) is Verdict.STALE
    other = DigestServer("openline", b"another-secret-of-16+bytes")
    assert other.verify(creds, method="INVITE", password="pw", now=1001.0) is Verdict.INVALID
    forged = DigestChallenge(realm="openline", nonce="bm90IGEgbm9uY2U=")
    creds = answer_challenge(forged, method="INVITE", uri="sip:b@x", username="alice", password="pw", cnonce="c")
    assert server.verify(creds, method="INVITE", password="pw", now=1001.0) is Verdict.INVALID
    wrong_realm = DigestChallenge(realm="elsewhere", nonce=server.make_nonce(1000.0))
    creds = answer_challenge(wrong_realm, method="INVITE", uri="sip:b@x", username="alice", password="pw", cnonce="c")
    assert server.verify(creds, method="INVITE", password="pw", now=1001.0) is Verdict.INVALID
    assert [c.algorithm for c in server.challenges(1.0)] == ["SHA-256", "MD5"]
    with pytest.raises(ValueError):
        DigestServer("r", b"short")


def test_authorization_for_401_and_407_prefers_sha256() -> None:
    from openline.codecs.sip.digest import authorization_for

    server = DigestServer("openline", b"0123456789abcdef0123")
    values = ['Basic realm="x"', *[str(c) for c in reversed(server.challenges(5.0))]]  # MD5 listed first here
    name, value = authorization_for(401, values, method="INVITE", uri="sip:b@x", username="u", password="p", cnonce="c")
    creds = DigestCredentials.parse(value)
    assert name == "Authorization" and creds.algorithm == "SHA-256"
    assert server.verify(creds, method="INVITE", password="p", now=6.0) is Verdict.OK
    name, _ = authorization_for(407, values[2:], method="INVITE", uri="sip:b@x", username="u", password="p", cnonce="c")
    assert name == "Proxy-Authorization"
    with pytest.raises(SipParseError):
        authorization_for(401, ['Digest realm="r", nonce="n", algorithm=SHA-512-256'], method="INVITE", uri="u", username="u", password="p", cnonce="c")
    with pytest.raises(ValueError):
        authorization_for(403, [], method="INVITE", uri="u", username="u", password="p", cnonce="c")
