"""First-bytes classifier: which protocol does a port speak?

A TLS client that gets an SMTP banner or an HTTP 400 back sees only "wrong version
number"; naming the protocol turns that into a diagnosis (server-not-tls) and a fix
(use --starttls smtp, or http://). Pure: bytes in, a verdict out.
"""

from __future__ import annotations

import dataclasses
import re

_HTTP = re.compile(rb"^HTTP/\d(\.\d)? \d{3}")
_TLS_TYPES = {20, 21, 22, 23, 24}


@dataclasses.dataclass(frozen=True, slots=True)
class Sniffed:
    """What the first bytes look like: a short protocol id and a human label."""

    # "tls", "sslv2", "http", "ssh", "smtp", "ftp", "pop3", "imap", "xmpp", "mysql", "postgres",
    # "redis", "empty" or "unknown"
    protocol: str
    label: str
    starttls: str | None = None  # the --starttls value that would upgrade this port, if any


def looks_like_tls(data: bytes) -> bool:
    """A TLS record header: known content type, major version 3 (RFC 8446 §5.1)."""
    return len(data) >= 3 and data[0] in _TLS_TYPES and data[1] == 3 and data[2] <= 4


def sniff(data: bytes) -> Sniffed:
    """Classify what a server sent first."""
    if not data:
        return Sniffed("empty", "nothing")
    if looks_like_tls(data):
        return Sniffed("tls", "TLS records")
    if len(data) >= 3 and data[0] & 0x80 and data[2] in (4, 5):
        return Sniffed("sslv2", "an SSLv2 record")
    head = data[:512]
    text = head.decode("latin-1")
    first_line = text.split("\n", 1)[0].strip()
    upper = text.upper()
    if _HTTP.match(head):
        return Sniffed("http", f"plain HTTP ({first_line[:60]})")
    if head.startswith(b"SSH-"):
        return Sniffed("ssh", f"SSH ({first_line[:60]})")
    if re.match(r"^220[ -]", text):
        if "SMTP" in upper or "MAIL" in upper or "POSTFIX" in upper or "EXIM" in upper:
            return Sniffed("smtp", f"SMTP ({first_line[:60]})", "smtp")
        if "FTP" in upper or "FILEZILLA" in upper:
            return Sniffed("ftp", f"FTP ({first_line[:60]})", "ftp")
        return Sniffed("smtp", f"an SMTP or FTP banner ({first_line[:60]})", "smtp")
    if text.startswith("+OK"):
        return Sniffed("pop3", f"POP3 ({first_line[:60]})", "pop3")
    if text.startswith("* OK") or text.startswith("* PREAUTH"):
        return Sniffed("imap", f"IMAP ({first_line[:60]})", "imap")
    if text.startswith("<?xml") or text.startswith("<stream:"):
        return Sniffed("xmpp", "XMPP", "xmpp")
    if text.startswith("-ERR") or text.startswith("+PONG"):
        return Sniffed("redis", f"Redis ({first_line[:60]})")
    if len(data) >= 5 and data[3] == 0 and data[4] == 10 and int.from_bytes(data[:3], "little") < 1024:
        return Sniffed("mysql", "a MySQL server greeting", "mysql")
    if text.startswith("<!DOCTYPE") or text.lower().startswith("<html"):
        return Sniffed("http", "an HTML page without HTTP headers")
    if data[:1] == b"E" and len(data) >= 5 and int.from_bytes(data[1:5], "big") < 4096:
        return Sniffed("postgres", "a PostgreSQL error message", "postgres")
    return Sniffed("unknown", "bytes that are not TLS")
