"""Decrypt one captured TLS connection with its key-log secrets (pure: records in, events out).

Feed :class:`FlowDecryptor` every TLS record of a connection, both directions in capture order
(the ClientHello and ServerHello are read as they pass, for the client random, the version,
the suite and, in TLS 1.2, the server random). Each call returns what the record revealed:
the TLS 1.3 handshake messages the capture otherwise hides (EncryptedExtensions, Certificate,
CertificateRequest, CertificateVerify, Finished), encrypted alerts, and the first application
bytes. The decrypted bytes are parsed by the project's own wire codec.

Which key opens a record is not guessed from the message flow but proved by the AEAD tag: each
direction holds its keys in order (early, handshake, application) and a record that fails
with the current one is tried with the later ones at sequence number 0. So a capture that
misses a Finished, a client that sends 0-RTT data, or a key log that lacks some secrets still
decrypts what it can, and a record no key opens is reported, never misread.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from tlsdoctor.pcap.keylog import KeyLog, SessionSecrets
from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.handshake import HandshakeReassembler, parse_client_hello, parse_server_hello
from tlsdoctor.wire.keyschedule import (
    Cipher,
    InvalidTag,
    RecordKey,
    cipher_for,
    next_traffic_secret,
    tls12_keys,
    tls13_key,
)
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import Alert, Record, parse_alert
from tlsdoctor.wire.server_messages import CertificateRequest, parse_certificate, parse_certificate_request

__all__ = [
    "MAX_APP_BYTES",
    "MAX_EARLY_RECORDS",
    "AppData",
    "CertificateRequested",
    "Certificates",
    "DecryptState",
    "DecryptedAlert",
    "Event",
    "FlowDecryptor",
    "HandshakeSeen",
    "Side",
    "Undecryptable",
]

MAX_APP_BYTES = 1024  # the first application bytes kept per direction: enough for an HTTP head
MAX_EARLY_RECORDS = 16  # 0-RTT records held until the ServerHello names the suite


class Side(enum.StrEnum):
    CLIENT = "client"
    SERVER = "server"


class HandshakeSeen(NamedTuple):
    """A decrypted handshake message (its type and size; the ones with content have events of their own)."""

    side: Side
    msg_type: HandshakeType
    length: int


class Certificates(NamedTuple):
    """The chain a side sent, DER, leaf first, as sent (empty: a client that has no certificate)."""

    side: Side
    chain: tuple[bytes, ...]


class CertificateRequested(NamedTuple):
    request: CertificateRequest


class DecryptedAlert(NamedTuple):
    side: Side
    alert: Alert


class AppData(NamedTuple):
    """The first application bytes of a record, while the direction's MAX_APP_BYTES last."""

    side: Side
    data: bytes
    record_length: int


class Undecryptable(NamedTuple):
    """Why a direction stopped decrypting (said once per direction), or a message that did not parse."""

    side: Side
    reason: str


Event = HandshakeSeen | Certificates | CertificateRequested | DecryptedAlert | AppData | Undecryptable


class DecryptState(enum.Enum):
    WAITING = "waiting for the hellos"
    DECRYPTING = "decrypting"
    NO_SECRETS = "no secrets in the key log"
    UNSUPPORTED = "not decryptable"


class _Direction:
    """One direction's keys in the order they come into use, and what it has decrypted."""

    __slots__ = ("app_left", "early", "early_seen", "failed", "index", "keys", "reassembler", "seq", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.keys: list[tuple[str, RecordKey | None]] = []  # (label, key); None: secret missing
        self.index = 0
        self.seq = 0
        self.failed = False
        self.early_seen = 0  # 0-RTT records seen before the ServerHello (they advance the early seq)
        self.early: list[
            Record
        ] = []  # ... the first MAX_EARLY_RECORDS of them, decrypted once the suite is known
        self.reassembler = HandshakeReassembler()
        self.app_left = MAX_APP_BYTES

    def open(self, record: Record, tls13: bool) -> tuple[int, bytes] | None:
        """(content type, content) of ``record``, trying the current key then the later ones."""
        for i in range(self.index, len(self.keys)):
            key = self.keys[i][1]
            if key is None:
                continue
            seq = self.seq if i == self.index else 0
            try:
                if tls13:
                    header = bytes([record.content_type]) + record.version.to_bytes(2, "big")
                    inner = key.open13(seq, header + len(record.fragment).to_bytes(2, "big"), record.fragment)
                else:
                    inner = key.open12(seq, record.content_type, record.version, record.fragment)
            except InvalidTag:
                continue
            self.index, self.seq = i, seq + 1
            if not tls13:
                return record.content_type, inner
            content = inner.rstrip(b"\0")  # RFC 8446 §5.4: zero padding after the type
            return (content[-1], content[:-1]) if content else (0, b"")
        return None

    def missing(self) -> str:
        """Why no key opened a record: the secrets the key log lacks, or a wrong key log."""
        absent = [label for label, key in self.keys[self.index :] if key is None]
        if absent:
            return f"the key log has no {' or '.join(absent)} for this connection"
        return (
            "no key-log secret decrypts it (a key log from another run, or records missing from the capture)"
        )

    def key_update(self) -> None:
        """RFC 8446 §4.6.3: the sender's next records use the next traffic secret, from seq 0."""
        key = self.keys[self.index][1]
        if key is not None and key.secret:
            nxt = tls13_key(key.cipher, next_traffic_secret(key.cipher, key.secret))
            self.keys[self.index + 1 : self.index + 1] = [("next traffic secret", nxt)]
            self.index, self.seq = self.index + 1, 0


class FlowDecryptor:
    """Decrypts one TCP flow's TLS records; ``feed`` never raises on peer data."""

    def __init__(self, keylog: KeyLog) -> None:
        self._keylog = keylog
        self.state = DecryptState.WAITING
        self.detail = ""
        self.version: ProtocolVersion | None = None
        self.cipher: Cipher | None = None
        self.secrets: SessionSecrets | None = None
        self._client_random: bytes | None = None
        self._plain = {Side.CLIENT: HandshakeReassembler(), Side.SERVER: HandshakeReassembler()}
        self._dirs = {Side.CLIENT: _Direction(Side.CLIENT), Side.SERVER: _Direction(Side.SERVER)}
        self._tls12_active: set[Side] = set()  # TLS 1.2: sides that sent ChangeCipherSpec

    def describe(self) -> str:
        return f"{self.state.value}: {self.detail}" if self.detail else self.state.value

    # -- the hellos, in plaintext ------------------------------------------------------------
    def _hello(self, side: Side, record: Record) -> list[Event]:
        plain = self._plain[side]
        plain.feed(record.fragment)
        try:
            while (msg := plain.next_message()) is not None:
                if side is Side.CLIENT and msg.msg_type == HandshakeType.CLIENT_HELLO:
                    self._client_random = parse_client_hello(msg.body).random
                elif side is Side.SERVER and msg.msg_type == HandshakeType.SERVER_HELLO:
                    hello = parse_server_hello(msg.body)
                    if not hello.is_hrr:
                        self._plain.clear()
                        self._start(hello.selected_version, hello.cipher_suite, hello.random)
                        return self._early_data()
        except DecodeError as exc:
            self._give_up(DecryptState.UNSUPPORTED, f"a hello does not parse ({exc})")
        return []

    def _early_data(self) -> list[Event]:
        """The 0-RTT records sent before the ServerHello named the suite (RFC 8446 §4.2.10), now."""
        client = self._dirs[Side.CLIENT]
        early, client.early = client.early, []
        if self.state is not DecryptState.DECRYPTING or not early or self.secrets is None:
            return []
        if self.secrets.client_early is None:
            client.seq = 0  # no early key: those records are not ours to open, the handshake key starts at 0
            return []
        events: list[Event] = []
        client.seq = 0
        for record in early:
            opened = client.open(record, tls13=True)
            if opened is None:
                return [*events, Undecryptable(Side.CLIENT, f"0-RTT data: {client.missing()}")]
            events += self._content(client, opened[0], opened[1], len(record.fragment))
        client.seq = client.early_seen
        return events

    def begin(
        self,
        client_random: bytes,
        version: ProtocolVersion,
        suite: int,
        server_random: bytes,
        early: Sequence[Record] = (),
    ) -> list[Event]:
        """Start from hellos the caller has already parsed (a capture's flow has), instead of reading
        them from the records again; ``early``: the client's 0-RTT records sent before the ServerHello.
        Feed only the records after the ServerHello then."""
        self._plain.clear()
        self._client_random = client_random
        client = self._dirs[Side.CLIENT]
        client.early_seen = len(early)
        client.early = list(early[:MAX_EARLY_RECORDS])
        self._start(version, suite, server_random)
        return self._early_data()

    def _give_up(self, state: DecryptState, detail: str) -> None:
        self.state, self.detail = state, detail
        self._plain.clear()

    def _start(self, version: ProtocolVersion, suite: int, server_random: bytes) -> None:
        self.version = version
        if self._client_random is None:
            self._give_up(DecryptState.UNSUPPORTED, "the capture has no ClientHello for this connection")
            return
        secrets = self.secrets = self._keylog.get(self._client_random)
        if secrets is None:
            self._give_up(
                DecryptState.NO_SECRETS, f"no line for client random {self._client_random.hex()[:16]}..."
            )
            return
        cipher = self.cipher = cipher_for(suite)
        if cipher is None:
            self._give_up(
                DecryptState.UNSUPPORTED, f"cipher suite {suite:#06x} is not an AEAD suite we decrypt"
            )
            return
        client, server = self._dirs[Side.CLIENT], self._dirs[Side.SERVER]
        if version == ProtocolVersion.TLS1_3:

            def key(secret: bytes | None) -> RecordKey | None:
                return tls13_key(cipher, secret) if secret is not None else None

            if secrets.client_early is not None:
                client.keys.append(("CLIENT_EARLY_TRAFFIC_SECRET", key(secrets.client_early)))
                client.seq = client.early_seen
            client.keys += [
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", key(secrets.client_handshake)),
                ("CLIENT_TRAFFIC_SECRET_0", key(secrets.client_traffic_0)),
            ]
            server.keys += [
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", key(secrets.server_handshake)),
                ("SERVER_TRAFFIC_SECRET_0", key(secrets.server_traffic_0)),
            ]
        elif version == ProtocolVersion.TLS1_2:
            if secrets.master_secret is None:
                self._give_up(
                    DecryptState.NO_SECRETS,
                    "the key log has no CLIENT_RANDOM line for this TLS 1.2 connection",
                )
                return
            ck, sk = tls12_keys(cipher, secrets.master_secret, self._client_random, server_random)
            client.keys.append(("CLIENT_RANDOM", ck))
            server.keys.append(("CLIENT_RANDOM", sk))
        else:
            self._give_up(DecryptState.UNSUPPORTED, f"{version} is not decrypted (TLS 1.2 and 1.3 are)")
            return
        self.state, self.detail = DecryptState.DECRYPTING, f"{version} {cipher.name}"

    # -- records -------------------------------------------------------------------------------
    def feed(self, side: Side, record: Record) -> list[Event]:
        """The events one record reveals (usually none for plaintext records)."""
        ctype = record.content_type
        if self.state is DecryptState.WAITING:
            if ctype == ContentType.HANDSHAKE:
                return self._hello(side, record)
            if ctype == ContentType.APPLICATION_DATA and side is Side.CLIENT:
                client = self._dirs[side]  # 0-RTT data before the ServerHello
                client.early_seen += 1
                if len(client.early) < MAX_EARLY_RECORDS:
                    client.early.append(record)
            return []
        if self.state is not DecryptState.DECRYPTING:
            return []
        d = self._dirs[side]
        tls13 = self.version == ProtocolVersion.TLS1_3
        if tls13 and ctype != ContentType.APPLICATION_DATA:
            return []  # RFC 8446 §5: only application_data records are protected (CCS is compat)
        if not tls13:
            if ctype == ContentType.CHANGE_CIPHER_SPEC:
                self._tls12_active.add(side)  # RFC 5246 §7.1: the next record is the first protected one
                return []
            if side not in self._tls12_active:
                return []
        if d.failed:
            return []
        opened = d.open(record, tls13)
        if opened is None:
            d.failed = True
            return [Undecryptable(side, f"a {len(record.fragment)}-byte record: {d.missing()}")]
        return list(self._content(d, opened[0], opened[1], len(record.fragment)))

    def _content(self, d: _Direction, ctype: int, data: bytes, length: int) -> Iterator[Event]:
        if ctype == ContentType.ALERT:
            try:
                yield DecryptedAlert(d.side, parse_alert(data))
            except DecodeError as exc:
                yield Undecryptable(d.side, f"decrypted alert does not parse: {exc}")
        elif ctype == ContentType.APPLICATION_DATA:
            if d.app_left > 0 and data:
                yield AppData(d.side, data[: d.app_left], length)
                d.app_left -= min(len(data), d.app_left)
        elif ctype == ContentType.HANDSHAKE:
            d.reassembler.feed(data)
            try:
                while (msg := d.reassembler.next_message()) is not None:
                    yield from self._message(d, msg.msg_type, msg.body)
            except DecodeError as exc:
                d.failed = True
                yield Undecryptable(d.side, f"decrypted handshake does not parse: {exc}")

    def _message(self, d: _Direction, msg_type: HandshakeType, body: bytes) -> Iterator[Event]:
        yield HandshakeSeen(d.side, msg_type, len(body))
        tls13 = self.version == ProtocolVersion.TLS1_3
        if msg_type == HandshakeType.CERTIFICATE:
            yield Certificates(d.side, parse_certificate(body, tls13=tls13).certificates)
        elif msg_type == HandshakeType.CERTIFICATE_REQUEST and tls13:
            yield CertificateRequested(parse_certificate_request(body, ProtocolVersion.TLS1_3))
        elif msg_type == HandshakeType.FINISHED and tls13 and d.index + 1 < len(d.keys):
            d.index, d.seq = d.index + 1, 0  # RFC 8446 §7.3: application keys after Finished
        elif msg_type == HandshakeType.END_OF_EARLY_DATA and d.index + 1 < len(d.keys):
            d.index, d.seq = d.index + 1, 0
        elif msg_type == HandshakeType.KEY_UPDATE and tls13:
            d.key_update()
