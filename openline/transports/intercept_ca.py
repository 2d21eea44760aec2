"""The installation's local certificate authority, for ``openline serve --intercept``.

Created on first use in ``<data_dir>/ca/`` and kept: apps trust it once. The private key is
written owner-only (0600) in one step, inside an owner-only directory. The CA is
name-constrained (RFC 5280 §4.2.1.10, critical) to ``twilio.com`` and ``api.sendgrid.com`` with
every IP address excluded, so even a leaked key cannot sign a certificate that a verifying
client accepts for any other site. Leaf certificates are minted on demand for the host a client
asks for, cached per process, short-lived (30 days) and re-minted before they expire.

``bundle.pem`` is the system's root certificates plus this CA, for the clients whose
CA-file setting *replaces* their roots (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``) rather
than adding to them (``NODE_EXTRA_CA_CERTS``): an app then still reaches other HTTPS sites.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
import stat
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from openline.core.intercept import PERMITTED_DNS_NAMES, format_fingerprint, normalise_host

log = logging.getLogger("openline.intercept")

CA_DIR = "ca"
CA_CERT_FILE = "openline-ca.pem"
CA_KEY_FILE = "openline-ca-key.pem"
BUNDLE_FILE = "bundle.pem"
CA_LIFETIME = dt.timedelta(days=3650)
LEAF_LIFETIME = dt.timedelta(days=30)
LEAF_RENEW_BEFORE = dt.timedelta(days=1)
# Clock skew between this host and a client's: certificates start to be valid a bit earlier.
BACKDATE = dt.timedelta(hours=1)
MAX_CACHED_LEAVES = 256  # *.twilio.com names in use are a handful; bound a client asking for many
_PUBLISH_WAIT_SECONDS = 5.0  # another process creating the CA at the same moment

# Where Debian, Fedora/RHEL, Alpine/macOS keep the system's roots (OpenSSL's compiled-in default first).
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


class CertificateAuthorityError(RuntimeError):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalCA:
    """One installation's CA: its files, its fingerprint and leaf certificates on demand."""

    def __init__(self, directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.directory = directory
        self.cert = cert
        self._key = key
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())  # one per process, for every leaf
        self._contexts: dict[str, tuple[ssl.SSLContext, dt.datetime]] = {}

    @property
    def cert_path(self) -> Path:
        return self.directory / CA_CERT_FILE

    @property
    def key_path(self) -> Path:
        return self.directory / CA_KEY_FILE

    @property
    def bundle_path(self) -> Path:
        return self.directory / BUNDLE_FILE

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, as browsers and ``openssl x509 -fingerprint`` show it."""
        return format_fingerprint(self.cert.fingerprint(hashes.SHA256()))

    @classmethod
    def open(cls, data_dir: Path) -> LocalCA:
        """The installation's CA, created now if this is its first use."""
        directory = data_dir / CA_DIR
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
        if not key_path.exists():
            _create(directory)
        ca = cls(directory, _wait_for_cert(cert_path), _load_key(key_path))
        if not ca.bundle_path.exists():
            ca.write_bundle()
        return ca

    def write_bundle(self) -> Path:
        """(Re)write bundle.pem: the system roots as they are now, then this CA."""
        roots = _system_roots(self.bundle_path)
        if not roots:
            log.warning("no system CA bundle found: %s holds only the Openline CA", self.bundle_path)
        pem = self.cert.public_bytes(serialization.Encoding.PEM)
        _write_atomically(self.bundle_path, roots.rstrip(b"\n") + b"\n" + pem if roots else pem, 0o644)
        return self.bundle_path

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for ``host`` (minted now or cached)."""
        name = normalise_host(host)
        if name is None:
            raise CertificateAuthorityError(f"not a DNS name: {host!r}")
        cached = self._contexts.get(name)
        if cached is not None and cached[1] - LEAF_RENEW_BEFORE > _now():
            return cached[0]
        context, not_after = self._mint(name)
        if len(self._contexts) >= MAX_CACHED_LEAVES:
            self._contexts.pop(next(iter(self._contexts)))
        self._contexts[name] = (context, not_after)
        return context

    def _mint(self, name: str) -> tuple[ssl.SSLContext, dt.datetime]:
        now = _now()
        not_after = min(now + LEAF_LIFETIME, self.cert.not_valid_after_utc)
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])  # the API is served over HTTP/1.1
        # The ssl module loads certificates only from files: a private temporary one, gone at once.
        fd, path = tempfile.mkstemp(prefix="leaf-", suffix=".pem", dir=self.directory)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(leaf.public_bytes(serialization.Encoding.PEM))
                handle.write(self._leaf_key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        return context, not_after


def _key_usage(*, digital_signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


def _create(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Openline"),
        # Names the machine, so that a trust-store entry says where it came from.
        x509.NameAttribute(NameOID.COMMON_NAME, f"Openline local CA ({socket.gethostname()[:40]})"),
    ])
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(name) for name in PERMITTED_DNS_NAMES],
        excluded_subtrees=[x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")),
                           x509.IPAddress(ipaddress.ip_network("::/0"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(constraints, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # Publish the key with link(): atomic and exclusive, so two processes starting together agree
    # on one CA; the certificate follows, and a loser waits for it (_wait_for_cert).
    fd, tmp_key = tempfile.mkstemp(prefix="key-", dir=directory)  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp_key, directory / CA_KEY_FILE)
        except FileExistsError:
            return
    finally:
        os.unlink(tmp_key)
    _write_atomically(directory / CA_CERT_FILE, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("created the Openline CA in %s", directory)


def _wait_for_cert(path: Path) -> x509.Certificate:
    deadline = time.monotonic() + _PUBLISH_WAIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise CertificateAuthorityError(f"{path} is missing (remove {path.parent} to create a new CA)")
        time.sleep(0.05)
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise CertificateAuthorityError(f"{path}: {exc}") from None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Owner-only, whatever happened to the file since (a copy, a restore from backup).
        log.warning("%s was readable by others (mode %o): now 0600", path, mode)
        path.chmod(0o600)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise CertificateAuthorityError(f"{path}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateAuthorityError(f"{path}: not an EC private key")
    return key


def _system_roots(own_bundle: Path) -> bytes:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, *_SYSTEM_BUNDLES, paths.cafile):
        if not candidate:
            continue
        path = Path(candidate)
        with contextlib.suppress(OSError):
            if path.is_file() and path.resolve() != own_bundle.resolve():
                return path.read_bytes()
    try:
        import certifi  # present wherever requests is; not a dependency of Openline
    except ImportError:
        return b""
    return Path(certifi.where()).read_bytes()


def _write_atomically(path: Path, content: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
