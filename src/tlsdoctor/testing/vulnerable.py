"""A crafted TLS server that answers as the vulnerable servers of the CVE write-ups did, one
flaw at a time, so every vulnerability probe of ``scan`` can be shown to fire (old OpenSSL
builds, F5 BIG-IP or SSLv2 stacks cannot be installed here). Built on the ``wire/`` codec and,
for finished handshakes, on ``scan/vulns/tls12.py`` from the server's end.

What each flaw does, after its write-up:
- heartbleed (CVE-2014-0160, OpenSSL 1.0.1-1.0.1f): a heartbeat response as long as the request
  *claims*, padded out of "memory".
- ccs (CVE-2014-0224, Kikuchi): an early ChangeCipherSpec is taken; the next record then fails
  its MAC (bad_record_mac), as OpenSSL's null-key state does.
- robot (Böck et al. 2017): PKCS #1 v1.5 padding errors get decrypt_error at once; good padding
  waits for Finished, then bad_record_mac: two answers, an oracle.
- ticketbleed (CVE-2016-9244, F5): a ticket offered with a short session ID gets a 32-byte ID back.
- renegotiation: a ClientHello inside the session gets a ServerHello (client-initiated).
- insecure_renegotiation: no renegotiation_info in the ServerHello (RFC 5746 unknown).
- compression: DEFLATE chosen when offered (CRIME). sslv2: an SSLv2 SERVER-HELLO (DROWN).
- ignore_fallback / no sentinel: TLS_FALLBACK_SCSV is ignored (RFC 7507).
- tls_poodle (CVE-2014-8730, F5/A10): CBC padding bytes are not checked, only their length.
The rest (SSLv3 CBC, export RSA and DH, 3DES, RC4, TLS 1.0 CBC, small DH primes) is a matter of
``versions``, ``suites`` and ``dh_prime``. With no flaw set the same server behaves as a patched
one, which is the near miss every probe is tested against.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tlsdoctor.scan.vulns import tls12
from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.certs import LeafSpec, Pki, shared_pki
from tlsdoctor.testing.hostile_hello import best_version, read_first_hello
from tlsdoctor.wire.codepoints import (
    AlertDescription,
    CompressionMethod,
    ContentType,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
)
from tlsdoctor.wire.extensions import Extension, RawExtension, RenegotiationInfo
from tlsdoctor.wire.handshake import (
    ClientHello,
    ServerHello,
    build_handshake,
    encode_server_hello,
    parse_client_hello,
)
from tlsdoctor.wire.hello import FALLBACK_SCSV
from tlsdoctor.wire.reader import DecodeError
from tlsdoctor.wire.records import RecordBuffer, build_alert, build_records
from tlsdoctor.wire.registry import SUITES, CipherSuite, SuiteFlag
from tlsdoctor.wire.server_messages import CertificateMessage, encode_certificate
from tlsdoctor.wire.writer import Writer

V = ProtocolVersion
MEMORY = b"-----BEGIN RSA PRIVATE KEY----- server memory "  # what the leaks "leak"
MAX_RECORDS = 64  # records read from one client
HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Flaws:
    versions: tuple[ProtocolVersion, ...] = (V.TLS1_2,)
    suites: tuple[int, ...] = (0xC02F, 0xC030, 0x009C)  # the server's preference
    dh_prime: int | None = None  # DHE suites use this prime (generator 2)
    heartbleed: bool = False
    ccs: bool = False
    robot: bool = False
    ticketbleed: bool = False
    renegotiation: bool = False
    insecure_renegotiation: bool = False
    compression: bool = False
    sslv2: bool = False
    ignore_fallback: bool = False
    tls_poodle: bool = False


@dataclasses.dataclass(slots=True)
class _Conn:
    sock: socket.socket
    hello: ClientHello
    version: ProtocolVersion
    suite: int
    server_random: bytes
    transcript: bytearray
    records: RecordBuffer = dataclasses.field(default_factory=RecordBuffer)
    ecdh: tls12.KeyShare | None = None
    renegotiated: bytes = b""  # RFC 5746 §3.7: the Finished values a renegotiation ServerHello echoes


class VulnerableServer(FaultServer):
    """One loopback TLS endpoint with the ``flaws`` given (see the module docstring)."""

    io_timeout = 30.0  # testssl.sh waits 5 s between its two CCS records: outlast other clients' pacing

    def __init__(self, flaws: Flaws, *, servername: str = "localhost", pki: Pki | None = None) -> None:
        super().__init__(servername=servername)
        self.flaws = flaws
        self.pki = pki
        self.chain: tuple[bytes, ...] = ()
        self.key: rsa.RSAPrivateKey | None = None

    def setup(self) -> None:
        pki = self.pki or shared_pki()
        files = pki.issue(f"{self.name}-{self.port}", LeafSpec(key_type="rsa2048"))
        self.ca_file = pki.ca_file
        certs = x509.load_pem_x509_certificates(files.chain_file.read_bytes())
        self.chain = tuple(c.public_bytes(serialization.Encoding.DER) for c in certs)
        key = serialization.load_pem_private_key(files.key_file.read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self.key = key

    # -- the first flight -------------------------------------------------------------------
    def handle(self, conn: socket.socket) -> None:
        first = read_first_hello(conn, self.io_timeout)
        if first.is_sslv2:
            if self.flaws.sslv2:
                conn.sendall(self._sslv2_server_hello(first.sslv2_kinds))
            return
        hello = first.tls
        if hello is None:
            return
        f = self.flaws
        version = best_version(hello, f.versions)
        if version is None or version >= V.TLS1_3:
            conn.sendall(build_alert(AlertDescription.PROTOCOL_VERSION, version=V.TLS1_0))
            return
        if FALLBACK_SCSV in hello.cipher_suites and version < max(f.versions) and not f.ignore_fallback:
            conn.sendall(build_alert(AlertDescription.INAPPROPRIATE_FALLBACK, version=version))
            return
        offered = {int(s) for s in hello.cipher_suites}
        suite = next((s for s in f.suites if s in offered and _usable(s, version)), None)
        if suite is None:
            conn.sendall(build_alert(AlertDescription.HANDSHAKE_FAILURE, version=version))
            return
        ticket = hello.extension(ExtensionType.SESSION_TICKET)
        if ticket is not None and ticket.body() and hello.session_id:
            self._resume(conn, hello, version, suite)
            return
        c = _Conn(conn, hello, version, suite, os.urandom(32), bytearray(_first_message(first.raw)))
        c.records.feed(first.raw[len(_first_message(first.raw)) + 5 :])  # what came with the hello
        conn.sendall(build_records(ContentType.HANDSHAKE, version, self._flight(c)))
        self._converse(c)

    def _flight(self, c: _Conn) -> bytes:
        """ServerHello to ServerHelloDone, added to the transcript."""
        f, hello = self.flaws, c.hello
        exts: list[Extension] = []
        signalled = (
            hello.extension(ExtensionType.RENEGOTIATION_INFO) is not None or 0x00FF in hello.cipher_suites
        )
        if signalled and not f.insecure_renegotiation:
            exts.append(RenegotiationInfo(c.renegotiated))
        if f.heartbleed and hello.extension(ExtensionType.HEARTBEAT) is not None:
            exts.append(RawExtension(ExtensionType.HEARTBEAT, b"\x01"))
        if hello.extension(ExtensionType.SESSION_TICKET) is not None:  # RFC 5077 §3.2
            exts.append(RawExtension(ExtensionType.SESSION_TICKET, b""))
        deflate = CompressionMethod(1)
        method = deflate if f.compression and deflate in hello.compression_methods else CompressionMethod.NULL
        sh = ServerHello(c.version, c.server_random, os.urandom(32), CipherSuite(c.suite), method,
                         tuple(exts) if c.version > V.SSL3 or exts else None)  # fmt: skip
        messages = [build_handshake(HandshakeType.SERVER_HELLO, encode_server_hello(sh))]
        info = SUITES[c.suite]
        if info.auth != "anon":
            body = encode_certificate(CertificateMessage(self.chain))
            messages.append(build_handshake(HandshakeType.CERTIFICATE, body))
        ske = self._key_exchange(c)
        if ske is not None:
            messages.append(build_handshake(HandshakeType.SERVER_KEY_EXCHANGE, ske))
        messages.append(build_handshake(HandshakeType.SERVER_HELLO_DONE, b""))
        for m in messages:
            c.transcript += m
        return b"".join(messages)

    def _key_exchange(self, c: _Conn) -> bytes | None:
        """ServerKeyExchange params with a signature of the right shape (probes do not verify it)."""
        info = SUITES[c.suite]
        w = Writer()
        if info.kx == "ECDHE":
            c.ecdh = tls12.key_share(_curve(c.hello))
            w.bytes(tls12.ecdhe_params(c.ecdh.group, c.ecdh.public))
        elif info.kx == "DHE":
            export = SuiteFlag.EXPORT in info.flags  # RFC 2246 §7.4.3: at most 512 bits
            p = self.flaws.dh_prime or (_export_prime() if export else _FFDHE2048)
            size = (p.bit_length() + 7) // 8
            w.opaque(2, p.to_bytes(size, "big")).opaque(2, b"\x02").opaque(
                2, pow(2, 12345, p).to_bytes(size, "big")
            )
        elif info.kx == "RSA" and "EXPORT" in info.iana_name:  # RFC 2246 §7.4.3: a 512-bit key
            w.opaque(2, b"\xc1" + os.urandom(63)).opaque(2, b"\x01\x00\x01")
        else:
            return None
        if info.auth != "anon":
            params = w.getvalue()
            if c.version >= V.TLS1_2 and info.auth == "RSA":  # RFC 5246 §7.4.3: a real signature,
                assert self.key is not None  # so real clients (OpenSSL, testssl.sh) can finish
                signed = c.hello.random + c.server_random + params
                w.u16(0x0401).opaque(2, self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256()))
            elif info.auth == "RSA":  # RFC 2246 §7.4.3: MD5 and SHA-1 side by side, no DigestInfo
                w.opaque(2, self._sign_md5_sha1(c.hello.random + c.server_random + params))
            else:
                w.opaque(2, os.urandom(256))
        return w.getvalue()

    def _sign_md5_sha1(self, data: bytes) -> bytes:
        """RSA PKCS #1 v1.5 type 1 over MD5(data) || SHA-1(data) (RFC 2246 §4.7), by hand:
        cryptography signs only with a DigestInfo."""
        assert self.key is not None
        numbers = self.key.private_numbers()
        n = numbers.public_numbers.n
        size = (n.bit_length() + 7) // 8
        digest = hashlib.md5(data).digest() + hashlib.sha1(data).digest()  # the protocol's hashes
        block = b"\x00\x01" + b"\xff" * (size - 3 - len(digest)) + b"\x00" + digest
        return pow(int.from_bytes(block, "big"), numbers.d, n).to_bytes(size, "big")

    def _sslv2_server_hello(self, kinds: tuple[int, ...]) -> bytes:
        """SSLv2 SERVER-HELLO (draft-hickman-netscape-ssl-00 §2.6): the kinds it shares with us."""
        cert = self.chain[0]
        specs = b"".join(k.to_bytes(3, "big") for k in kinds[:3])
        body = (Writer().u8(4).u8(0).u8(1).u16(0x0002).u16(len(cert)).u16(len(specs)).u16(16)
                .bytes(cert).bytes(specs).bytes(os.urandom(16)).getvalue())  # fmt: skip
        return (0x8000 | len(body)).to_bytes(2, "big") + body

    def _resume(self, conn: socket.socket, hello: ClientHello, version: ProtocolVersion, suite: int) -> None:
        """A ticket offered: resume it (RFC 5077 §3.4 echoes the session ID), or, with the
        Ticketbleed flaw, echo 32 bytes whatever the client's ID length was."""
        sid = hello.session_id
        if self.flaws.ticketbleed and len(sid) < 32:
            sid = sid + (MEMORY * 2)[: 32 - len(sid)]
        sh = ServerHello(
            version, os.urandom(32), sid, CipherSuite(suite), CompressionMethod.NULL, (RenegotiationInfo(),)
        )
        flight = build_records(
            ContentType.HANDSHAKE,
            version,
            build_handshake(HandshakeType.SERVER_HELLO, encode_server_hello(sh)),
        )
        conn.sendall(flight + build_records(ContentType.CHANGE_CIPHER_SPEC, version, b"\x01"))
        self.hold(conn, 2.0, 1 << 16)

    # -- after ServerHelloDone -------------------------------------------------------------
    def _converse(self, c: _Conn) -> None:
        keys_changed = False  # an early ChangeCipherSpec was taken (the CCS injection flaw)
        robot_verdict: bytes | None = None  # the alert the ROBOT oracle will send after Finished
        for _ in range(MAX_RECORDS):
            record = self._record(c)
            if record is None:
                return
            ctype, body = record
            if keys_changed:  # the next record is decrypted under keys from an empty master secret
                c.sock.sendall(build_alert(self._null_key_alert(c, body), version=c.version))
                return
            if ctype == ContentType.HEARTBEAT:
                self._heartbeat(c, body)
            elif ctype == ContentType.CHANGE_CIPHER_SPEC and robot_verdict is None:  # before any key exchange
                if not self.flaws.ccs:
                    c.sock.sendall(build_alert(AlertDescription.UNEXPECTED_MESSAGE, version=c.version))
                    return
                keys_changed = True
            elif ctype == ContentType.HANDSHAKE and body[:1] == bytes([HandshakeType.CLIENT_KEY_EXCHANGE]):
                if c.ecdh is not None:
                    self._finish(c, body)
                    return
                robot_verdict = self._rsa_key_exchange(c, body)
                if robot_verdict is None:
                    return
            elif ctype == ContentType.HANDSHAKE and robot_verdict is not None:  # the client's Finished
                c.sock.sendall(robot_verdict)
                return
            elif ctype == ContentType.ALERT:
                return
            elif ctype != ContentType.CHANGE_CIPHER_SPEC:
                c.sock.sendall(build_alert(AlertDescription.UNEXPECTED_MESSAGE, version=c.version))
                return

    def _record(self, c: _Conn) -> tuple[int, bytes] | None:
        while True:
            try:
                record = c.records.next_record()
            except DecodeError:
                return None
            if record is not None:
                return int(record.content_type), record.fragment
            data = c.sock.recv(65536)
            if not data:
                return None
            c.records.feed(data)

    @staticmethod
    def _null_key_alert(c: _Conn, body: bytes) -> int:
        """What OpenSSL 1.0.1 (ssl3_get_record) answers a record it cannot decrypt: a CBC record
        that is no whole number of blocks fails decryption (decryption_failed, which testssl.sh
        looks for); anything else fails its MAC (bad_record_mac, which sslyze looks for)."""
        cbc = "CBC" in SUITES[c.suite].cipher
        return (
            AlertDescription.DECRYPTION_FAILED if cbc and len(body) % 16 else AlertDescription.BAD_RECORD_MAC
        )

    def _heartbeat(self, c: _Conn, body: bytes) -> None:
        """RFC 6520 §4 says discard a request whose payload_length exceeds the record; the flaw
        answers with payload_length bytes anyway."""
        if not self.flaws.heartbleed or len(body) < 3 or body[0] != 1:
            return
        claimed = min(int.from_bytes(body[1:3], "big"), 16000)
        payload = (body[3:] + MEMORY * (claimed // len(MEMORY) + 1))[:claimed]
        c.sock.sendall(
            build_records(
                ContentType.HEARTBEAT, c.version, b"\x02" + claimed.to_bytes(2, "big") + payload + bytes(16)
            )
        )

    def _rsa_key_exchange(self, c: _Conn, message: bytes) -> bytes | None:
        """RSA key transport; the alert to send after Finished, or None when answered already
        (the oracle's early alert, or a handshake finished for real)."""
        assert self.key is not None
        body = message[4:]
        enc = body if c.version == V.SSL3 else body[2:]
        numbers = self.key.private_numbers()
        m = pow(int.from_bytes(enc, "big"), numbers.d, numbers.public_numbers.n)
        size = (numbers.public_numbers.n.bit_length() + 7) // 8
        plain = m.to_bytes(size, "big")
        sep = plain.find(b"\x00", 2)
        conforming = plain[:2] == b"\x00\x02" and sep >= 10 and size - sep - 1 == 48
        late = build_alert(AlertDescription.BAD_RECORD_MAC, version=c.version)
        if self.flaws.robot and not conforming:
            c.sock.sendall(build_alert(AlertDescription.DECRYPT_ERROR, version=c.version))
            return None
        if c.version == V.TLS1_2 and c.suite in tls12.RSA_SUITES:
            # RFC 5246 §7.4.7.1: a bad premaster secret is replaced by a random one, silently.
            good = conforming and plain[-48:-46] == int(c.hello.legacy_version).to_bytes(2, "big")
            self._finish(c, message, plain[-48:] if good else os.urandom(48))
            return None
        return late  # a patched server: the same answer whatever the padding (RFC 5246 §7.4.7.1)

    def _finish(
        self,
        c: _Conn,
        cke: bytes,
        pms: bytes | None = None,
        outer: tuple[tls12.RecordProtection, tls12.RecordProtection] | None = None,
    ) -> None:
        """The handshake to its end (RFC 5246 §7.3), then what the client asks inside it;
        ``pms``: the RSA premaster secret (else the ECDHE one from ``cke``); ``outer``: the
        session's (client, server) protection when this handshake is a renegotiation in it."""
        info = tls12.ALL_SUITES[c.suite]
        if pms is None:
            assert c.ecdh is not None
            pms = c.ecdh.agree(cke[5 : 5 + cke[4]])
        c.transcript += cke
        # No extended_master_secret in our ServerHello, so the RFC 5246 master secret (RFC 7627 §5.2).
        master = tls12.master_secret(info, pms, c.hello.random, c.server_random, None)
        client, server = tls12.key_block(info, master, c.hello.random, c.server_random)
        client.lax_padding = self.flaws.tls_poodle
        ccs = self._record(c)
        if ccs is None or ccs[0] != ContentType.CHANGE_CIPHER_SPEC:
            return
        if (outer[0].open(ccs[0], ccs[1]) if outer else ccs[1]) != b"\x01":
            return
        record = self._record(c)
        if record is None:
            return
        try:
            fin = client.open(ContentType.HANDSHAKE, record[1])
        except DecodeError:
            c.sock.sendall(build_alert(AlertDescription.BAD_RECORD_MAC, version=c.version))
            return
        client_verify = tls12.verify_data(info, master, "client", bytes(c.transcript))
        if fin != tls12.finished(client_verify):
            c.sock.sendall(server.seal(ContentType.ALERT, bytes([2, AlertDescription.DECRYPT_ERROR])))
            return
        c.transcript += fin
        out = b""
        if c.hello.extension(ExtensionType.SESSION_TICKET) is not None:
            nst = build_handshake(
                HandshakeType.NEW_SESSION_TICKET, Writer().u32(300).opaque(2, os.urandom(64)).getvalue()
            )
            c.transcript += nst
            out += (
                outer[1].seal(ContentType.HANDSHAKE, nst)
                if outer
                else build_records(ContentType.HANDSHAKE, c.version, nst)
            )
        verify = tls12.verify_data(info, master, "server", bytes(c.transcript))
        ccs_out = (
            outer[1].seal(ContentType.CHANGE_CIPHER_SPEC, b"\x01") if outer else tls12.CHANGE_CIPHER_SPEC
        )
        c.sock.sendall(out + ccs_out + server.seal(ContentType.HANDSHAKE, tls12.finished(verify)))
        for _ in range(MAX_RECORDS):
            record = self._record(c)
            if record is None or record[0] not in (ContentType.HANDSHAKE, ContentType.APPLICATION_DATA):
                return
            try:
                plain = client.open(record[0], record[1])
            except DecodeError:  # RFC 5246 §6.2.3.2: any padding or MAC error is bad_record_mac
                c.sock.sendall(server.seal(ContentType.ALERT, bytes([2, AlertDescription.BAD_RECORD_MAC])))
                return
            if record[0] == ContentType.APPLICATION_DATA:  # an HTTP request: answer it
                if plain:
                    c.sock.sendall(server.seal(ContentType.APPLICATION_DATA, HTTP_OK))
                continue
            if self.flaws.renegotiation and plain[:1] == bytes([HandshakeType.CLIENT_HELLO]):
                self._renegotiate(c, plain, client, server, client_verify + verify)
                return
            else:
                c.sock.sendall(server.seal(ContentType.ALERT, bytes([1, AlertDescription.NO_RENEGOTIATION])))

    def _renegotiate(
        self, c: _Conn, message: bytes, client: tls12.RecordProtection, server: tls12.RecordProtection,
        verify: bytes,
    ) -> None:  # fmt: skip
        """A whole second handshake inside the session, as a server that allows client-initiated
        renegotiation runs it (RFC 5246 §7.4.1.2, RFC 5746 §3.7): every message under the
        session's keys until the new ChangeCipherSpec."""
        try:
            hello = parse_client_hello(message[4:])
        except DecodeError:
            return
        again = _Conn(c.sock, hello, c.version, c.suite, os.urandom(32), bytearray(message), c.records)
        again.renegotiated = verify
        c.sock.sendall(server.seal(ContentType.HANDSHAKE, self._flight(again)))
        record = self._record(again)
        if record is None or record[0] != ContentType.HANDSHAKE or again.ecdh is None:
            return
        cke = client.open(record[0], record[1])
        if cke[:1] == bytes([HandshakeType.CLIENT_KEY_EXCHANGE]):
            self._finish(again, cke, outer=(client, server))


def _curve(hello: ClientHello) -> int:
    """A group the client offered (x25519 first); P-256 for a hello without supported_groups,
    which RFC 8422 §4 lets a server read as "any"."""
    offered = [int(g) for g in hello.supported_groups]
    return next((g for g in tls12.GROUPS if g in offered), 0x0017) if offered else 0x0017


def _usable(suite: int, version: ProtocolVersion) -> bool:
    info = SUITES.get(suite)
    return info is not None and info.min_version <= version <= info.max_version


def _first_message(raw: bytes) -> bytes:
    """The ClientHello handshake message (header included) of a one-record hello: the start of
    the transcript that Finished covers (RFC 5246 §7.4.9)."""
    return raw[5 : 5 + 4 + int.from_bytes(raw[6:9], "big")] if len(raw) >= 9 else b""


def _export_prime() -> int:
    """The 512-bit group OpenSSL's export DH used (Logjam's target)."""
    from tlsdoctor.scan.vulns.legacy_offers import common_primes

    return next(p for p, name in common_primes().items() if name.startswith("openssl/512-bit"))


# RFC 7919 ffdhe2048: a safe default when no prime is configured.
_FFDHE2048 = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF",
    16,
)
