"""The intercept host rule and the client environment per shell."""

from __future__ import annotations

import pytest

from openline.core.intercept import AuthorityError, ClientEnvironment, is_intercepted, parse_authority


@pytest.mark.parametrize("host", ["api.twilio.com", "verify.twilio.com", "API.Twilio.COM", "api.twilio.com.",
                                  "lookups.twilio.com", "api.sendgrid.com", "a.b.twilio.com"])
def test_intercepted_hosts(host: str) -> None:
    assert is_intercepted(host)


@pytest.mark.parametrize("host", ["twilio.com", "eviltwilio.com", "api.twilio.com.evil.example", "sendgrid.com",
                                  "x.api.sendgrid.com", "example.com", "127.0.0.1", "::1", "", "api..twilio.com",
                                  "-x.twilio.com", "a_b.twilio.com", "x" * 250 + ".twilio.com"])
def test_other_hosts(host: str) -> None:
    assert not is_intercepted(host)


def test_parse_authority() -> None:
    assert parse_authority("api.twilio.com:443") == ("api.twilio.com", 443)
    assert parse_authority("[::1]:8443") == ("::1", 8443)
    assert parse_authority("example.com", default_port=80) == ("example.com", 80)
    assert parse_authority("[::1]", default_port=80) == ("::1", 80)
    for bad in ("api.twilio.com", ":443", "host:0", "host:65536", "host:x", "[::1]"):
        with pytest.raises(AuthorityError):
            parse_authority(bad)


def test_environment_quoting() -> None:
    env = ClientEnvironment("127.0.0.1", 8081, "/home/o'neil/ca.pem", "/home/a b/bundle.pem")
    bash = env.render("bash")
    assert "export NODE_EXTRA_CA_CERTS='/home/o'\\''neil/ca.pem'" in bash
    assert "export SSL_CERT_FILE='/home/a b/bundle.pem'" in bash
    assert "$env:NODE_EXTRA_CA_CERTS = '/home/o''neil/ca.pem'" in env.render("powershell")
    assert "https_proxy" not in env.render("cmd") and "https_proxy" in env.render("fish")
    v6 = ClientEnvironment("::1", 9000, "c", "b")
    assert v6.proxy_url == "http://[::1]:9000"
