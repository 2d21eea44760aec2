"""A DNS server on loopback answering MX and A queries from a table (dnspython builds the wire)."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsStub:
    """``mx``: domain → exchange host; ``a``: host → IPv4 address. Unknown names answer NXDOMAIN."""

    def __init__(self, mx: dict[str, str], a: dict[str, str]) -> None:
        self.mx = {k.lower().rstrip("."): v for k, v in mx.items()}
        self.a = {k.lower().rstrip("."): v for k, v in a.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().lower().rstrip(".")
            kind = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((name, kind))
            if kind == "MX" and name in self.mx:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "MX", f"10 {self.mx[name]}."))
            elif kind == "A" and name in self.a:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", self.a[name]))
            elif name not in self.mx and name not in self.a:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self.sock.close()
