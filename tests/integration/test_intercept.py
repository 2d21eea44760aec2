"""`openline serve --intercept`: unchanged apps (Python and Node SDKs, curl), configured only by
the environment `openline env` prints, reach Openline as if it were Twilio; nothing else gets
through; the CA is private and name-constrained."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import inbox, wait_for
from tests.integration.test_sms_webhooks import handset_sends
from tests.support.intercept import PEERS, app_environment, intercepting_server, proxy_exchange
from tests.support.server import OpenlineServer, free_port
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import WebhookReceiver

MAGIC_SENDER = "+15005550006"  # Twilio's test sender: any account may send from it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    with intercepting_server(tmp_path_factory.mktemp("intercept") / "data",
                             env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}) as srv:
        srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="module")
def app_env(server: OpenlineServer) -> dict[str, str]:
    return app_environment(server, TWILIO_ACCOUNT_SID=server.account_sid,  # type: ignore[attr-defined]
                           TWILIO_AUTH_TOKEN=server.auth_token)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def direct(server: OpenlineServer) -> Client:
    """Openline's API reached directly (not through the proxy), to see what the apps did."""
    return host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]


def proxy_port(server: OpenlineServer) -> int:
    return int(server.proxy_port)  # type: ignore[attr-defined]


def test_python_twilio_sdk_unchanged(server: OpenlineServer, app_env: dict[str, str], direct: Client) -> None:
    to = "+15558671001"
    app = subprocess.Popen([sys.executable, str(PEERS / "twilio_app.py"), MAGIC_SENDER, to], env=app_env,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None and app.stdin is not None
        sent = json.loads(app.stdout.readline() or "null") or pytest.fail(app.stderr.read())  # type: ignore[union-attr]
        assert sent["message_sid"].startswith("SM") and sent["status"] == "queued"
        started = json.loads(app.stdout.readline() or "null") or pytest.fail(app.stderr.read())  # type: ignore[union-attr]
        assert started["verification_status"] == "pending"
        # Two pages of one item each: the SDK followed next_page_uri / meta.next_page_url, which
        # name Twilio's hosts, back through the proxy.
        assert len(started["paged_services"]) == 2 and len(set(started["paged_services"])) == 2
        assert started["paged_messages"][0] == sent["message_sid"]
        # The user reads the code on their phone (the sandbox handset) and types it in.
        messages = wait_for(lambda: m if len(m := inbox(server, to)) >= 2 else None)
        code = re.findall(r"\b(\d{4,10})\b", messages[0]["body"])[-1]  # type: ignore[index]
        out, err = app.communicate(code + "\n", timeout=60)
    finally:
        app.kill() if app.poll() is None else None
    assert app.returncode == 0, err
    assert json.loads(out)["check_status"] == "approved"
    # Everything the app did is in Openline, seen through its API directly.
    message = direct.messages(sent["message_sid"]).fetch()
    assert (message.to, message.from_, message.body) == (to, MAGIC_SENDER, "Hello from an unchanged app")
    verification = direct.verify.v2.services(started["service_sid"]).verifications(
        started["verification_sid"]).fetch()
    assert verification.status == "approved"
    assert [m["body"] for m in inbox(server, to)][-1] == "Hello from an unchanged app"


def test_node_twilio_package_unchanged(server: OpenlineServer, app_env: dict[str, str], direct: Client) -> None:
    to = "+15558671002"
    done = subprocess.run(["node", str(PEERS / "twilio_send_sms.js"), MAGIC_SENDER, to, "Hello from Node"],
                          env=app_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    sid = json.loads(done.stdout)["sid"]
    message = direct.messages(sid).fetch()
    assert (message.to, message.body) == (to, "Hello from Node")
    delivered = wait_for(lambda: inbox(server, to))
    assert [(m["sid"], m["body"]) for m in delivered] == [(sid, "Hello from Node")]  # type: ignore[union-attr]


def curl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", *args], env=env, capture_output=True, text=True, timeout=60)


def test_curl_lists_messages(server: OpenlineServer, app_env: dict[str, str], direct: Client) -> None:
    sid = server.account_sid  # type: ignore[attr-defined]
    sent = direct.messages.create(body="seen by curl", from_=MAGIC_SENDER, to="+15558671003")
    auth = f"{sid}:{server.auth_token}"  # type: ignore[attr-defined]
    done = curl(app_env, "-u", auth, f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert sent.sid in [m["sid"] for m in listing["messages"]]
    assert listing["uri"].startswith(f"/2010-04-01/Accounts/{sid}/Messages.json")
    assert [m["sid"] for m in listing["messages"]] == [m.sid for m in direct.messages.list(page_size=50, limit=50)]
    # Plain http through HTTP_PROXY (absolute-form request) reaches the same API.
    plain = curl(app_env, "-u", auth, f"http://api.twilio.com/2010-04-01/Accounts/{sid}/Messages/{sent.sid}.json")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["body"] == "seen by curl"
    # Wrong credentials are Openline's answer, not the proxy's.
    denied = curl(app_env, "-u", f"{sid}:{'0' * 32}", "-w", "%{http_code}", "-o", os.devnull,
                  f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json")
    assert denied.stdout == "401"


def test_tls_needs_the_openline_ca(server: OpenlineServer, app_env: dict[str, str]) -> None:
    """The interception is real TLS: a client that does not trust the Openline CA refuses it."""
    system_roots = {k: v for k, v in app_env.items() if k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE")}
    done = curl({**system_roots, "CURL_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"},
                "https://api.twilio.com/2010-04-01/Accounts.json")
    assert done.returncode == 60, (done.returncode, done.stderr)  # CURLE_PEER_FAILED_VERIFICATION


def test_webhook_media_urls_are_twilios_and_fetchable(server: OpenlineServer, app_env: dict[str, str],
                                                      direct: Client) -> None:
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    try:
        number = direct.incoming_phone_numbers.create(phone_number="+15555551101", sms_url=receiver.url("/sms"))
        receiver.on("/cat.png", (200, "image/png", b"\x89PNG intercepted"))
        inbound = handset_sends(server, "+15558671004", number.phone_number, "look", [receiver.url("/cat.png")])
        (hook,) = receiver.wait("/sms")
        assert hook.signature_valid, "X-Twilio-Signature must validate with RequestValidator"
        media_url = hook.get("MediaUrl0") or ""
        sid = server.account_sid  # type: ignore[attr-defined]
        assert re.fullmatch(rf"https://api\.twilio\.com/2010-04-01/Accounts/{sid}/Messages/{inbound['sid']}"
                            r"/Media/ME[0-9a-f]{32}", media_url), media_url
        # The app fetches it as it would from Twilio (following the redirect to where the
        # handset's media lives, as Twilio redirects to its storage), through the proxy.
        done = subprocess.run(["curl", "-sSL", media_url], env=app_env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"\x89PNG intercepted"
    finally:
        receiver.stop()


def test_other_hosts_are_refused(server: OpenlineServer, app_env: dict[str, str]) -> None:
    port = proxy_port(server)
    answer = proxy_exchange(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 "), answer
    assert b"not an open proxy" in answer and b"example.com:443" in answer
    # Not even Openline's own port, or a look-alike name.
    for target in (f"127.0.0.1:{server.url.rsplit(':', 1)[1]}", "api.twilio.com.evil.example:443",
                   "twilio.com:443", "sendgrid.com:443", "eviltwilio.com:443"):
        answer = proxy_exchange(port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 403 "), (target, answer)
    answer = proxy_exchange(port, b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 "), answer
    # What a user sees with curl.
    done = curl(app_env, "https://example.com/")
    assert done.returncode != 0 and "403" in done.stderr


def test_malformed_proxy_requests(server: OpenlineServer) -> None:
    port = proxy_port(server)
    assert proxy_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    no_port = proxy_exchange(port, b"CONNECT api.twilio.com HTTP/1.1\r\nHost: api.twilio.com\r\n\r\n")
    assert no_port.startswith(b"HTTP/1.1 400 ") and b"host:port" in no_port, no_port
    # A client speaking before the tunnel is answered.
    early = proxy_exchange(port, b"CONNECT api.twilio.com:443 HTTP/1.1\r\nHost: api.twilio.com:443\r\n\r\n\x16\x03")
    assert early.startswith(b"HTTP/1.1 400 "), early
    assert proxy_exchange(port, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    huge = b"GET http://api.twilio.com/ HTTP/1.1\r\nHost: api.twilio.com\r\nX: " + b"a" * 20_000 + b"\r\n\r\n"
    assert proxy_exchange(port, huge).startswith(b"HTTP/1.1 431 ")
    # The same, arriving in pieces.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for start in range(0, len(huge), 1000):
            try:
                sock.sendall(huge[start:start + 1000])
            except OSError:
                break
        assert sock.recv(100).startswith(b"HTTP/1.1 431 ")


def non_loopback_addresses() -> list[str]:
    found: set[str] = set()
    for probe in ("192.0.2.1", "10.255.255.255", "8.8.8.8"):  # UDP connect sends nothing; it picks a route
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
            except OSError:
                continue
            found.add(sock.getsockname()[0])
    with contextlib.suppress(OSError):
        found.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    return sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")


def test_proxy_listens_on_loopback_only(server: OpenlineServer) -> None:
    port = proxy_port(server)
    addresses = non_loopback_addresses()
    assert addresses, "this machine has no non-loopback IPv4 address to try"
    for address in addresses:
        with pytest.raises(ConnectionRefusedError), socket.create_connection((address, port), timeout=5):
            pass
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # while loopback answers


class EchoServer:
    """A plain TCP server on loopback: what a passthrough tunnel should reach, byte for byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(b"echo:" + data)

    def close(self) -> None:
        self.sock.close()


def test_passthrough_tunnels_other_hosts(tmp_path: Path) -> None:
    echo = EchoServer()
    try:
        with intercepting_server(tmp_path / "data", "--intercept-passthrough") as srv:
            port = proxy_port(srv)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(f"CONNECT 127.0.0.1:{echo.port} HTTP/1.1\r\nHost: 127.0.0.1:{echo.port}\r\n\r\n".encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += sock.recv(1)
                assert head.startswith(b"HTTP/1.1 200 "), head
                sock.sendall(b"ping \x00\xff")
                assert sock.recv(100) == b"echo:ping \x00\xff"
            # Twilio's hosts are still Openline's, not tunnelled.
            env = app_environment(srv)
            done = subprocess.run(["curl", "-sS", "https://api.twilio.com/2010-04-01/Accounts.json"], env=env,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and json.loads(done.stdout)["code"] == 20003, done.stdout + done.stderr
            # A tunnel to a port nobody listens on: a clear 502.
            closed = free_port()
            answer = proxy_exchange(port, f"CONNECT 127.0.0.1:{closed} HTTP/1.1\r\nHost: 127.0.0.1:{closed}\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 502 "), answer
    finally:
        echo.close()


def test_ca_files_and_commands(server: OpenlineServer) -> None:
    ca_dir = server.data_dir / "ca"
    key_file, cert_file = ca_dir / "openline-ca-key.pem", ca_dir / "openline-ca.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca_dir.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    printed = server.cli("ca")
    fingerprint = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    assert f"certificate: {cert_file.resolve()}" in printed and f"SHA-256:     {fingerprint}" in printed
    assert fingerprint in " ".join(server.banner)
    # One CA per installation: asking again changes nothing.
    assert server.cli("ca") == printed and cert_file.read_bytes() == cert.public_bytes(serialization.Encoding.PEM)


def test_ca_can_sign_only_twilio_and_sendgrid_names(server: OpenlineServer, tmp_path: Path) -> None:
    """Even with the CA's key, a certificate for any other name does not verify."""
    ca_dir = server.data_dir / "ca"
    ca_key = serialization.load_pem_private_key((ca_dir / "openline-ca-key.pem").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "openline-ca.pem").read_bytes())
    constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert [n.value for n in constraints.value.permitted_subtrees or []] == ["twilio.com", "api.sendgrid.com"]

    def verifies(name: str) -> bool:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
        path = tmp_path / f"{name}.pem"
        path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        done = subprocess.run(["openssl", "verify", "-CAfile", str(ca_dir / "openline-ca.pem"), str(path)],
                              capture_output=True, text=True)
        assert done.returncode == 0 or "permitted subtree violation" in done.stdout + done.stderr, done
        return done.returncode == 0

    assert verifies("api.twilio.com") and verifies("verify.twilio.com") and verifies("api.sendgrid.com")
    assert not verifies("example.com") and not verifies("sendgrid.com") and not verifies("eviltwilio.com")


def test_env_for_each_shell(server: OpenlineServer) -> None:
    port = proxy_port(server)
    bundle = str((server.data_dir / "ca" / "bundle.pem").resolve())
    cert = str((server.data_dir / "ca" / "openline-ca.pem").resolve())
    expected = {"HTTPS_PROXY": f"http://127.0.0.1:{port}", "HTTP_PROXY": f"http://127.0.0.1:{port}",
                "NO_PROXY": "localhost,127.0.0.1,::1", "REQUESTS_CA_BUNDLE": bundle, "SSL_CERT_FILE": bundle,
                "NODE_EXTRA_CA_CERTS": cert}
    outputs = {shell: server.cli("env", "--shell", shell, "--intercept-port", str(port))
               for shell in ("bash", "fish", "powershell", "cmd")}
    for name, value in expected.items():
        assert f"export {name}={value}\n" in outputs["bash"]
        assert f"set -gx {name} {value}\n" in outputs["fish"]
        assert f"$env:{name} = '{value}'\n" in outputs["powershell"]
        assert f'set "{name}={value}"\n' in outputs["cmd"]
    assert "# .NET:" in outputs["bash"] and "# Java:" in outputs["bash"] and "REM Java:" in outputs["cmd"]
    assert f"-Dhttps.proxyPort={port}" in outputs["powershell"]
    # The bundle keeps the system's roots (so other HTTPS sites still verify) and adds the CA.
    pem = Path(bundle).read_text()
    assert pem.count("BEGIN CERTIFICATE") > 1 and pem.rstrip().endswith(Path(cert).read_text().rstrip())
