"""Which hosts Openline answers for when it intercepts an unchanged app, and how the app is told.

Interception (``openline serve --intercept``) is an HTTP proxy that terminates TLS for Twilio's
and SendGrid's API hosts only. The rule lives here, once: the proxy refuses everything else, and
the local CA is name-constrained to the same names (so a stolen CA key cannot sign for any other
site).

Also here: the environment an app needs to use the proxy (``openline env``), written for each
shell, since that is pure text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# RFC 5280 §4.2.1.10: a dNSName constraint "twilio.com" permits twilio.com and every name under it.
TWILIO_DOMAIN = "twilio.com"
SENDGRID_API_HOST = "api.sendgrid.com"
PERMITTED_DNS_NAMES = (TWILIO_DOMAIN, SENDGRID_API_HOST)

# RFC 1035 §2.3.4: labels of at most 63 octets, names of at most 253 characters (text form).
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_HOST_LENGTH = 253


class AuthorityError(ValueError):
    """A proxy request target that is not ``host:port`` (RFC 9110 §9.3.6 authority-form)."""


def normalise_host(host: str) -> str | None:
    """The host as a lowercase DNS name without a trailing dot, or None if it is not one."""
    name = host.lower().rstrip(".")
    if not name or len(name) > MAX_HOST_LENGTH:
        return None
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    return name


def is_intercepted(host: str) -> bool:
    """True for Twilio's API hosts (``*.twilio.com``) and SendGrid's (``api.sendgrid.com``)."""
    name = normalise_host(host)
    if name is None:
        return False
    return name.endswith("." + TWILIO_DOMAIN) or name == SENDGRID_API_HOST


def parse_authority(target: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) → (host, port). The port is required unless defaulted."""
    host, sep, port_text = target.rpartition(":")
    if not sep or "]" in port_text:
        if default_port is None:
            raise AuthorityError(f"{target!r} has no port")
        host, port_text = target, str(default_port)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise AuthorityError(f"{target!r} is not host:port")
    return host, int(port_text)


Shell = Literal["bash", "fish", "powershell", "cmd"]
SHELLS: tuple[Shell, ...] = ("bash", "fish", "powershell", "cmd")


@dataclass(frozen=True, slots=True)
class ClientEnvironment:
    proxy_host: str
    proxy_port: int
    ca_cert: str  # the Openline CA alone (for runtimes that add it to their own roots)
    ca_bundle: str  # the system's roots plus the Openline CA (for runtimes that replace their roots)

    @property
    def proxy_url(self) -> str:
        host = f"[{self.proxy_host}]" if ":" in self.proxy_host else self.proxy_host
        return f"http://{host}:{self.proxy_port}"

    def variables(self, shell: Shell) -> list[tuple[str, str]]:
        # Local addresses stay direct: the app's own callbacks and Openline's plain URL.
        no_proxy = "localhost,127.0.0.1,::1"
        names = [("HTTPS_PROXY", self.proxy_url), ("HTTP_PROXY", self.proxy_url), ("NO_PROXY", no_proxy)]
        if shell in ("bash", "fish"):
            # curl and wget read only the lowercase http_proxy; on Windows names ignore case.
            names += [("https_proxy", self.proxy_url), ("http_proxy", self.proxy_url), ("no_proxy", no_proxy)]
        return [*names,
                ("REQUESTS_CA_BUNDLE", self.ca_bundle),  # Python requests (twilio, sendgrid SDKs)
                ("SSL_CERT_FILE", self.ca_bundle),  # OpenSSL's default roots: Python ssl, Ruby, PHP
                ("CURL_CA_BUNDLE", self.ca_bundle),  # the curl tool sets its own CA file, ignoring SSL_CERT_FILE
                ("NODE_EXTRA_CA_CERTS", self.ca_cert)]  # Node adds it to its built-in roots

    def notes(self) -> list[str]:
        return [
            f".NET: trust the CA once: Linux `sudo cp {self.ca_cert} /usr/local/share/ca-certificates/openline.crt"
            " && sudo update-ca-certificates`; Windows `certutil -user -addstore Root <path>`; "
            ".NET's HttpClient reads HTTPS_PROXY itself.",
            f"Java: `keytool -importcert -cacerts -alias openline -file {self.ca_cert} -storepass changeit -noprompt`"
            f" and run with -Dhttps.proxyHost={self.proxy_host} -Dhttps.proxyPort={self.proxy_port}"
            f" -Dhttp.proxyHost={self.proxy_host} -Dhttp.proxyPort={self.proxy_port} (Java ignores HTTPS_PROXY).",
        ]

    def render(self, shell: Shell) -> str:
        lines: list[str] = []
        comment = {"bash": "#", "fish": "#", "powershell": "#", "cmd": "REM"}[shell]
        for name, value in self.variables(shell):
            lines.append(_assignment(shell, name, value))
        lines += [f"{comment} {note}" for note in self.notes()]
        return "\n".join(lines) + "\n"


def _assignment(shell: Shell, name: str, value: str) -> str:
    if shell == "bash":
        return f"export {name}={_posix_quote(value)}"
    if shell == "fish":
        return f"set -gx {name} {_posix_quote(value)}"
    if shell == "powershell":
        return f"$env:{name} = '{value.replace(chr(39), chr(39) * 2)}'"
    return f'set "{name}={value}"'


def _posix_quote(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def format_fingerprint(digest: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in digest)

