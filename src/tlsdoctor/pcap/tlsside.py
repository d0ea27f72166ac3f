"""The TLS records one side of a flow sent, parsed with the project's own sans-IO codec (wire/).

Each side keeps its records (content type, bytes, time) for a key-log decrypter (pcap/decrypt.py) and
notes what the handshake shows: the client's ClientHello and plaintext alerts; the server's messages as
wire/conversation.py's ClientConversation reads them (ServerHello, HelloRetryRequest, Certificate,
CertificateRequest, alerts, another protocol's bytes, SSLv2). Plaintext ends at a ChangeCipherSpec
(TLS <= 1.2) or at the ServerHello (TLS 1.3, RFC 8446 §2); after that only record types and sizes show.

Bounded: each side keeps at most ``RECORD_BUDGET`` bytes of records and ``APP_RECORDS`` application
records, then tells its stream to stop delivering: the rest of a long transfer is never copied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.conversation import (
    DONE,
    NEED_DATA,
    AlertEvent,
    CertificateRequestEvent,
    CertificatesEvent,
    ClientConversation,
    EncryptedEvent,
    HelloRetryEvent,
    NotTlsEvent,
    ProtocolErrorEvent,
    ServerHelloDoneEvent,
    ServerHelloEvent,
    ServerKeyExchangeEvent,
    SSLv2Event,
)
from tlsdoctor.wire.handshake import ClientHello, HandshakeReassembler, ServerHello, parse_client_hello
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import Alert, RecordBuffer, parse_alert
from tlsdoctor.wire.registry import group_info, group_name, suite_name, version_name

ENCRYPTED_ALERT_LEN = 19  # a TLS 1.3 alert sealed with a 16-byte AEAD tag (RFC 8446 §5.2)
RECORD_BUDGET = 64 * 1024
APP_RECORDS = 8  # encrypted records kept whole; after them only record headers are read
MAX_RECORDS = 256  # records listed per side (their count goes on)
NOT_TLS_SAMPLE = 64
MAX_HISTORY = 64

Note = Callable[[float, str, str], None]  # (time, side, what)


class TlsRecord(NamedTuple):
    """One record as it crossed the wire: the unit a key-log decrypter works on."""

    content_type: int
    payload: bytes  # the record's fragment (ciphertext once encrypted)
    ts: float  # when the segment that completed it was captured
    length: int  # the fragment's length on the wire


class SideAlert(NamedTuple):
    ts: float
    alert: Alert | None  # None: encrypted (its level and description are hidden)
    length: int


class TlsSide:
    """The records and handshake messages of one direction."""

    def __init__(self, role: str, note: Note) -> None:
        self.role = role  # "client" | "server"
        self._note = note
        self._records = RecordBuffer()
        self._handshake = HandshakeReassembler()
        self._conversation = ClientConversation() if role == "server" else None
        self.records: list[TlsRecord] = []
        self._kept = 0
        self._skipping = False  # past the kept records: headers only (see _skim)
        self._header = b""
        self._body_left = 0
        self._last_length = 0
        self.skipped_records = 0  # records read past the kept ones (headers only)
        self.app_records = 0
        self.first_ts: float | None = None
        self.first_bytes = b""
        self.not_tls = False  # the first bytes are not a TLS record
        self.sslv2 = False
        self.error = ""  # framing or parse error, after which nothing more is read
        self.done = False  # nothing more will be parsed (the stream may stop delivering)
        self.encrypted_ts: float | None = None  # the first record that cannot be read in clear
        self.ccs_ts: float | None = None
        self.alerts: list[SideAlert] = []
        self.client_hello: ClientHello | None = None
        self.client_hello_size = 0
        self.client_hello_ts: float | None = None
        self.server_hello: ServerHello | None = None
        self.server_hello_ts: float | None = None
        self.hello_retry: ServerHello | None = None
        self.certificates: tuple[bytes, ...] = ()
        self.certificates_ts: float | None = None
        self.cert_request = False
        self.client_certificates: int | None = None  # the client's Certificate message: how many it sent
        self.last_message = ""  # the last handshake message or record kind seen, for "after which"
        self.last_message_ts: float | None = None
        self.history: list[tuple[float, str]] = []  # (time, message) in order, bounded
        self.tls13 = False  # set by the flow when the server's hello selects TLS 1.3
        self.decrypted = False  # a key log opened this side's encrypted records (pcap/unseal.py)
        self.first_app_bytes = b""  # ... and its first application bytes, decrypted

    # -- input ------------------------------------------------------------------------------------
    def feed(self, data: bytes, ts: float) -> None:
        if self._skipping:
            self._skim(data, ts)
            return
        if self.done:
            return
        if self.first_ts is None:
            self.first_ts = ts
        if len(self.first_bytes) < NOT_TLS_SAMPLE:
            self.first_bytes += data[: NOT_TLS_SAMPLE - len(self.first_bytes)]
        if self._conversation is not None and not self._conversation.done:
            self._conversation.receive_data(data)
            self._converse(ts)
        if self.not_tls or self.sslv2:
            self.done = True
            return
        self._records.feed(data)
        try:
            while (record := self._records.next_record()) is not None:
                self._record(record.content_type, record.fragment, ts)
                if self.done:
                    break
        except DecodeError as exc:
            if not self.records and self._conversation is None:
                self.not_tls = True  # the client's first bytes: another protocol (or not a client)
            else:
                self.error = str(exc)
                self._note(ts, self.role, f"unreadable TLS bytes: {exc}")
            self.done = True
        if self._records.buffered > RECORD_BUDGET:
            self.done = True

    def partial(self) -> tuple[int, int] | None:
        """(bytes that arrived, bytes announced) of a record cut off at the end, if the side stopped
        mid-record: what a flight lost on the path leaves behind."""
        if self._skipping:
            if self._body_left:
                return self._last_length - self._body_left, self._last_length
            return None
        head = self._records.peek(5)
        if len(head) < 5 or self.error or self.not_tls:
            return None
        length = int.from_bytes(head[3:5], "big")
        have = self._records.buffered - 5
        return (have, length) if have < length else None

    def _keep(self, ctype: int, fragment: bytes, ts: float) -> None:
        """Keep a record whole (a key-log decrypter needs its bytes) while within the budget; past it
        the record is only counted."""
        if self._kept + len(fragment) <= RECORD_BUDGET and len(self.records) < MAX_RECORDS:
            self.records.append(TlsRecord(ctype, fragment, ts, len(fragment)))
            self._kept += len(fragment)
        else:
            self.skipped_records += 1

    def _skim(self, data: bytes, ts: float) -> None:
        """Encrypted records past the kept ones: only their headers are read, the bodies skipped without a
        copy, so a long transfer costs a few operations per segment and its alerts still show."""
        pos, n = 0, len(data)
        while pos < n:
            if self._body_left:
                step = min(self._body_left, n - pos)
                self._body_left -= step
                pos += step
                continue
            need = 5 - len(self._header)
            self._header += data[pos : pos + need]
            pos += need
            if len(self._header) < 5:
                return
            ctype, major, length = self._header[0], self._header[1], int.from_bytes(self._header[3:5], "big")
            self._header = b""
            if not 20 <= ctype <= 26 or major != 3:
                self._skipping, self.done = False, True  # lost the framing: stop reading this side
                return
            self._body_left = length
            self.skipped_records += 1
            self._last_length = length
            if ctype == ContentType.ALERT:
                self.alerts.append(SideAlert(ts, None, length))
                self._note(ts, self.role, f"encrypted alert ({length} bytes)")
                self._seen("encrypted alert", ts)
            else:
                self.app_records += 1

    def _record(self, ctype: int, fragment: bytes, ts: float) -> None:
        self._keep(ctype, fragment, ts)
        clear = self.encrypted_ts is None
        if ctype == ContentType.ALERT:
            self._alert(fragment, ts, clear)
        elif ctype == ContentType.CHANGE_CIPHER_SPEC:
            if self.ccs_ts is None:
                self.ccs_ts = ts
                self._note(ts, self.role, "ChangeCipherSpec")
            if not self.tls13 and self.encrypted_ts is None:
                self.encrypted_ts = ts  # TLS <= 1.2: what follows is encrypted (RFC 5246 §7.1)
                self._seen("ChangeCipherSpec", ts)
        elif ctype == ContentType.HANDSHAKE and clear:
            if self.role == "client":
                self._client_handshake(fragment, ts)
        elif ctype == ContentType.APPLICATION_DATA or ctype == ContentType.HANDSHAKE:
            self.app_records += 1
            if self.encrypted_ts is None:
                self.encrypted_ts = ts
            if self.tls13 and len(fragment) == ENCRYPTED_ALERT_LEN:
                # RFC 8446 §5.2: 2 bytes of alert, the inner type, a 16-byte tag; no handshake message
                # is this short, so this is an alert (which one, only a key log tells)
                self._note(ts, self.role, f"encrypted record of {len(fragment)} bytes: an alert's size")
                self._seen("encrypted alert", ts)
            elif self.app_records == 1:
                what = (
                    "encrypted handshake"
                    if self.tls13 or ctype == ContentType.HANDSHAKE
                    else "application data"
                )
                self._note(ts, self.role, f"{what} ({len(fragment)}-byte record; encrypted from here on)")
                self._seen("encrypted records", ts)
            if self.app_records >= APP_RECORDS:
                self.done = self._skipping = True
                rest = self._records.take_buffered()
                if rest:
                    self._skim(rest, ts)

    def _alert(self, fragment: bytes, ts: float, clear: bool) -> None:
        if clear and len(fragment) == 2:
            try:
                alert = parse_alert(fragment)
            except DecodeError:
                alert = None
        else:
            alert = None
        self.alerts.append(SideAlert(ts, alert, len(fragment)))
        if alert is not None:
            self._note(
                ts,
                self.role,
                f"alert {alert.level.name.lower()} {alert.description.name.lower()} "
                f"({int(alert.description)})",
            )
            self._seen(f"alert {alert.description.name.lower()}", ts)
        else:
            self._note(ts, self.role, f"encrypted alert ({len(fragment)} bytes)")
            self._seen("encrypted alert", ts)

    def _seen(self, what: str, ts: float) -> None:
        self.last_message, self.last_message_ts = what, ts
        if len(self.history) < MAX_HISTORY:
            self.history.append((ts, what))

    def before(self, ts: float) -> tuple[float, str] | None:
        """The last message this side sent at or before ``ts``."""
        return next(((t, w) for t, w in reversed(self.history) if t <= ts), None)

    # -- the client's handshake messages ----------------------------------------------------------
    def _client_handshake(self, fragment: bytes, ts: float) -> None:
        self._handshake.feed(fragment)
        while (msg := self._handshake.next_message()) is not None:
            if msg.msg_type == HandshakeType.CLIENT_HELLO and self.client_hello is None:
                self.client_hello = parse_client_hello(msg.body, msg.offset + 4)
                self.client_hello_size = len(msg.body) + 4
                self.client_hello_ts = ts
                self._note(ts, "client", describe_client_hello(self.client_hello, self.client_hello_size))
                self._seen("ClientHello", ts)
            elif msg.msg_type == HandshakeType.CLIENT_HELLO:
                self._note(ts, "client", "second ClientHello (after a HelloRetryRequest)")
                self._seen("second ClientHello", ts)
            elif msg.msg_type == HandshakeType.CERTIFICATE:
                count = _certificate_count(msg.body)
                self.client_certificates = count
                self._note(ts, "client", f"Certificate ({count} certificate(s): the client's own)")
                self._seen("client Certificate", ts)
            else:
                name = _message_name(msg.msg_type)
                self._note(ts, "client", name)
                self._seen(name, ts)

    # -- the server's, through ClientConversation -------------------------------------------------
    def _converse(self, ts: float) -> None:
        conv = self._conversation
        assert conv is not None
        while True:
            event = conv.next_event()
            if event is NEED_DATA or event is DONE:
                return
            match event:
                case ServerHelloEvent(hello=hello):
                    self.server_hello, self.server_hello_ts = hello, ts
                    self.tls13 = hello.selected_version >= ProtocolVersion.TLS1_3
                    self._note(ts, "server", describe_server_hello(hello))
                    self._seen("ServerHello", ts)
                case HelloRetryEvent(hello=hello):
                    self.hello_retry = hello
                    group = hello.key_share_group
                    asked = group_name(group) if group is not None else "none"
                    self._note(ts, "server", f"HelloRetryRequest (asks for group {asked})")
                    self._seen("HelloRetryRequest", ts)
                case CertificatesEvent(certificates=certs):
                    self.certificates, self.certificates_ts = certs, ts
                    self._note(ts, "server", describe_certificates(certs))
                    self._seen("Certificate", ts)
                case CertificateRequestEvent():
                    self.cert_request = True
                    self._note(ts, "server", "CertificateRequest (asks the client for a certificate)")
                    self._seen("CertificateRequest", ts)
                case ServerKeyExchangeEvent():
                    self._note(ts, "server", "ServerKeyExchange")
                    self._seen("ServerKeyExchange", ts)
                case ServerHelloDoneEvent():
                    self._note(ts, "server", "ServerHelloDone")
                    self._seen("ServerHelloDone", ts)
                case NotTlsEvent(first_bytes=first):
                    self.not_tls = True
                    self.first_bytes = first
                    from tlsdoctor.observations.tls import preview

                    self._note(ts, "server", f"answered in another protocol: {preview(first)}")
                    self._seen("non-TLS answer", ts)
                case SSLv2Event():
                    self.sslv2 = True
                    self._note(ts, "server", "answered in SSL 2.0")
                    self._seen("SSLv2 answer", ts)
                case ProtocolErrorEvent(error=err):
                    self.error = str(err)
                case AlertEvent() | EncryptedEvent():
                    pass  # read from the records, where encrypted ones show too
                case _:
                    pass


def _certificate_count(body: bytes) -> int:
    from tlsdoctor.wire.server_messages import parse_certificate

    try:
        return len(parse_certificate(body, False).certificates)
    except DecodeError:
        return -1


def _message_name(msg_type: int) -> str:
    try:
        return HandshakeType(msg_type).name.replace("_", " ").title().replace(" ", "")
    except ValueError:
        return f"handshake message {msg_type}"


def is_post_quantum(code: int) -> bool:
    """An ML-KEM group, alone or hybrid (draft-ietf-tls-mlkem, draft-ietf-tls-ecdhe-mlkem), or the
    pre-standard Kyber drafts."""
    info = group_info(code)
    return info is not None and (info.kind in ("mlkem", "hybrid") or "KYBER" in info.name.upper())


def describe_client_hello(ch: ClientHello, size: int) -> str:
    from tlsdoctor.wire.codepoints import is_grease

    versions = [version_name(v) for v in ch.supported_versions if not is_grease(v)] or [
        version_name(ch.legacy_version)
    ]
    groups = [int(g) for g in ch.supported_groups if not is_grease(g)]
    shares = [int(g) for g in ch.key_share_groups if not is_grease(g)]
    pq = [group_name(g) for g in groups if is_post_quantum(g)]
    suites = [s for s in ch.cipher_suites if not is_grease(s)]
    sni = f"SNI {ch.server_name}" if ch.server_name else "no SNI"
    parts = [sni, f"{size} bytes", "versions " + " ".join(versions), f"{len(suites)} suites"]
    if groups:
        parts.append(
            "groups " + " ".join(group_name(g) for g in groups[:6]) + (" ..." if len(groups) > 6 else "")
        )
    if shares:
        parts.append("key shares " + " ".join(group_name(g) for g in shares))
    if pq:
        parts.append("post-quantum " + " ".join(pq))
    return "ClientHello (" + ", ".join(parts) + ")"


def describe_server_hello(sh: ServerHello) -> str:
    return f"ServerHello ({version_name(sh.selected_version)}, {suite_name(sh.cipher_suite)})"


def describe_certificates(certs: tuple[bytes, ...]) -> str:
    """The chain as sent, with the leaf's subject, issuer and validity when it decodes."""
    head = f"Certificate ({len(certs)} certificate(s)"
    if not certs:
        return head + ": empty)"
    try:
        from tlsdoctor.certs.info import load_der, name_text

        leaf = load_der(certs[0])
    except (ValueError, ImportError):
        return head + "; the leaf does not decode)"
    return (
        f"{head}; leaf {name_text(leaf.subject)}, issuer {name_text(leaf.issuer)}, valid "
        f"{leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d})"
    )
