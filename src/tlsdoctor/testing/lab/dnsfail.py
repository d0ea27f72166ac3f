"""A broken upstream for dnsmasq: answers every query with SERVFAIL (RFC 1035 §4.1.1, RCODE 2).

dnsmasq has no directive to answer SERVFAIL itself; forwarding ``servfail.lab.test`` to this loopback
responder (inside the server namespace) makes dnsmasq relay a genuine SERVFAIL to the client promptly.

    python -m tlsdoctor.testing.lab.dnsfail --listen 127.0.0.1:5399
"""

from __future__ import annotations

import argparse
import socket
import struct


def servfail(query: bytes) -> bytes | None:
    """Echo the header id and question with QR=1, RD copied, RA=1, RCODE=2; no answer records."""
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack_from("!HHH", query)
    if flags & 0x8000:  # a response, not a query
        return None
    out_flags = 0x8000 | (flags & 0x7900) | 0x0080 | 2
    return struct.pack("!HHHHHH", qid, out_flags, qdcount, 0, 0, 0) + query[12:]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", default="127.0.0.1:5399")
    args = p.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    while True:
        data, peer = sock.recvfrom(4096)
        reply = servfail(data)
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
