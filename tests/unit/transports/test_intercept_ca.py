"""The local CA for interception: created once, owner-only, leaves that verify strictly."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest

from openline.transports.intercept_ca import LocalCA


def test_ca_is_created_once_owner_only(tmp_path: Path) -> None:
    first = LocalCA.open(tmp_path)
    again = LocalCA.open(tmp_path)
    assert first.fingerprint == again.fingerprint and len(first.fingerprint) == 95
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    first.key_path.chmod(0o644)  # e.g. restored from a backup
    LocalCA.open(tmp_path)
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, name: str) -> None:
    """A TLS handshake in memory (no sockets) between the two contexts."""
    s_in, s_out, c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    cli = client.wrap_bio(c_in, c_out, server_hostname=name)
    done = {"client": False, "server": False}
    for _ in range(10):
        for key, side in (("client", cli), ("server", srv)):
            if not done[key]:
                try:
                    side.do_handshake()
                    done[key] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done["client"]:
            return
    raise AssertionError("handshake did not finish")


def test_leaves_verify_strictly(tmp_path: Path) -> None:
    ca = LocalCA.open(tmp_path)
    client = ssl.create_default_context(cafile=str(ca.cert_path))
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python 3.13 does by default
    _handshake(ca.server_context("verify.twilio.com"), client, "verify.twilio.com")
    assert ca.server_context("verify.twilio.com") is ca.server_context("VERIFY.twilio.com")  # cached
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.server_context("api.twilio.com"), client, "verify.twilio.com")  # wrong name


def test_bundle_has_system_roots_and_the_ca(tmp_path: Path) -> None:
    ca = LocalCA.open(tmp_path)
    bundle = ca.bundle_path.read_text()
    assert bundle.count("BEGIN CERTIFICATE") > 1
    assert bundle.rstrip().endswith(ca.cert_path.read_text().rstrip())
