"""Decryption of REAL captured traffic with the key log the client wrote.

``openssl s_server`` and nginx on 127.0.0.1 with certificates made by the ``openssl`` command line;
Python's ``ssl`` client (``keylog_filename``) and ``openssl s_client -keylogfile``; the packets
recorded by tlsdoctor's AF_PACKET recorder (root). What is checked is what a capture cannot show
without the key log: the server's certificate (compared byte for byte with the file the server
was given), encrypted alerts, and the first application bytes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from scan_servers import NGINX, OPENSSL, resuming_with_early_data
from variant_servers import OpensslPki, s_server

from tlsdoctor.net.recorder import PacketRecorder, RecordedPacket
from tlsdoctor.pcap.decrypt import (
    AppData,
    CertificateRequested,
    Certificates,
    DecryptedAlert,
    DecryptState,
    Event,
    FlowDecryptor,
    HandshakeSeen,
    Side,
    Undecryptable,
)
from tlsdoctor.pcap.keylog import read_keylog
from tlsdoctor.testing.nginx import Site, running
from tlsdoctor.testing.processes import talk
from tlsdoctor.wire.codepoints import AlertDescription, HandshakeType
from tlsdoctor.wire.records import Record, RecordBuffer

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root to record packets (CI runs as root)")
pytestmark = [needs_root, pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")]
REQUEST = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> OpensslPki:
    return OpensslPki(tmp_path_factory.mktemp("keylog-pki"))


def leaf_der(pki: OpensslPki) -> bytes:
    return x509.load_pem_x509_certificate(pki.cert.read_bytes()).public_bytes(Encoding.DER)


def record(port: int, client: Callable[[], object]) -> list[RecordedPacket]:
    """Run ``client`` (blocking) while recording the packets to and from ``port`` on loopback."""

    async def main() -> list[RecordedPacket]:
        async with PacketRecorder(port, ["127.0.0.1"]) as rec:
            await asyncio.wait_for(asyncio.to_thread(client), 20)
        return rec.packets

    return asyncio.run(main())


def tls_records(packets: list[RecordedPacket], port: int) -> Iterator[tuple[Side, Record]]:
    """The TLS records of the first connection whose SYN was recorded, both directions in capture
    order. Loopback neither loses nor reorders; a segment seen twice (a retransmission) is dropped."""
    buffers = {Side.CLIENT: RecordBuffer(), Side.SERVER: RecordBuffer()}
    seen: set[tuple[Side, int]] = set()
    client_port = None
    for p in packets:
        ip = p.data
        assert ip[0] >> 4 == 4 and ip[9] == socket.IPPROTO_TCP
        tcp = ip[(ip[0] & 0x0F) * 4 :]
        sport, dport, seq = struct.unpack_from("!HHI", tcp)
        if client_port is None and tcp[13] & 0x12 == 0x02:  # SYN without ACK
            client_port = sport
        if client_port not in (sport, dport):
            continue  # another connection (the readiness probe's, a previous test's)
        payload = tcp[(tcp[12] >> 4) * 4 :]
        side = Side.SERVER if sport == port else Side.CLIENT
        if not payload or (side, seq) in seen:
            continue
        seen.add((side, seq))
        buffers[side].feed(payload)
        while (rec := buffers[side].next_record()) is not None:
            yield side, rec


def decrypt(packets: list[RecordedPacket], port: int, keylog: Path) -> tuple[FlowDecryptor, list[Event]]:
    dec = FlowDecryptor(read_keylog(keylog))
    events = [e for side, rec in tls_records(packets, port) for e in dec.feed(side, rec)]
    return dec, events


def python_client(
    port: int, keylog: Path, cafile: Path | None, request: bytes = REQUEST
) -> Callable[[], object]:
    """Python's ssl client: a verified handshake, one request, the answer read to EOF; errors kept."""

    def run() -> object:
        ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)  # None: the system store
        ctx.keylog_filename = str(keylog)
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                tls.sendall(request)
                data = b""
                while chunk := tls.recv(65536):
                    data += chunk
                return data
        except (ssl.SSLError, OSError) as exc:
            return exc

    return run


def s_client(port: int, keylog: Path, *args: str) -> Callable[[], object]:
    """``openssl s_client -keylogfile``: another client implementation than Python's."""

    def run() -> object:
        assert OPENSSL is not None
        return subprocess.run(
            [
                OPENSSL,
                "s_client",
                "-connect",
                f"127.0.0.1:{port}",
                "-servername",
                "localhost",
                "-keylogfile",
                str(keylog),
                "-ign_eof",
                *args,
            ],
            input=REQUEST,
            capture_output=True,
            timeout=10,
            check=False,
        )

    return run


def of(events: list[Event], kind: type, side: Side | None = None) -> list[Event]:
    return [e for e in events if isinstance(e, kind) and (side is None or getattr(e, "side", None) is side)]


def handshake_types(events: list[Event], side: Side) -> list[HandshakeType]:
    return [e.msg_type for e in of(events, HandshakeSeen, side) if isinstance(e, HandshakeSeen)]


@pytest.mark.parametrize(
    ("suite", "client"),
    [
        ("TLS_AES_128_GCM_SHA256", "python"),
        ("TLS_AES_256_GCM_SHA384", "python"),
        ("TLS_CHACHA20_POLY1305_SHA256", "python"),
        ("TLS_AES_128_CCM_SHA256", "s_client"),
        ("TLS_AES_128_CCM_8_SHA256", "s_client"),
    ],
)
def test_tls13_handshake_certificate_and_first_bytes(
    pki: OpensslPki, tmp_path: Path, suite: str, client: str
) -> None:
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_3", "-ciphersuites", suite, "-www"]) as port:
        if client == "python":
            run = python_client(port, keylog, pki.ca_file)
        else:
            run = s_client(port, keylog, "-tls1_3", "-ciphersuites", suite, "-CAfile", str(pki.ca_file))
        packets = record(port, run)
    dec, events = decrypt(packets, port, keylog)
    assert dec.state is DecryptState.DECRYPTING and dec.cipher is not None and dec.cipher.name == suite
    assert not of(events, Undecryptable), events
    chains = [e.chain for e in of(events, Certificates, Side.SERVER) if isinstance(e, Certificates)]
    assert chains == [(leaf_der(pki),)]
    assert handshake_types(events, Side.SERVER)[:4] == [
        HandshakeType.ENCRYPTED_EXTENSIONS,
        HandshakeType.CERTIFICATE,
        HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.FINISHED,
    ]
    assert HandshakeType.FINISHED in handshake_types(events, Side.CLIENT)
    client_bytes = b"".join(e.data for e in of(events, AppData, Side.CLIENT) if isinstance(e, AppData))
    server_bytes = b"".join(e.data for e in of(events, AppData, Side.SERVER) if isinstance(e, AppData))
    assert client_bytes == REQUEST
    assert server_bytes.startswith(b"HTTP/1.0 200 ok\r\n")


def gnutls_client(port: int, keylog: Path, *args: str) -> Callable[[], object]:
    """GnuTLS's client (SSLKEYLOGFILE): unlike OpenSSL's, it encrypts its alerts under the handshake
    keys as soon as it has them, which is what a TLS 1.3 capture hides."""

    def run() -> object:
        env = {**os.environ, "SSLKEYLOGFILE": str(keylog)}
        argv = ["gnutls-cli", "--port", str(port), "--sni-hostname", "localhost", *args, "127.0.0.1"]
        return subprocess.run(argv, input=REQUEST, capture_output=True, timeout=10, check=False, env=env)

    return run


@pytest.mark.skipif(shutil.which("gnutls-cli") is None, reason="needs gnutls-cli (Debian gnutls-bin)")
def test_tls13_client_refusing_the_certificate_encrypted_alert(pki: OpensslPki, tmp_path: Path) -> None:
    """The alert a capture shows only as 'encrypted data, then FIN' is bad_certificate, from the client."""
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_3", "-www"]) as port:
        packets = record(port, gnutls_client(port, keylog))
    _dec, events = decrypt(packets, port, keylog)
    alerts = [
        e.alert.description for e in of(events, DecryptedAlert, Side.CLIENT) if isinstance(e, DecryptedAlert)
    ]
    assert alerts == [AlertDescription.BAD_CERTIFICATE]
    assert [e.chain for e in of(events, Certificates, Side.SERVER) if isinstance(e, Certificates)] == [
        (leaf_der(pki),)
    ]
    assert not of(events, AppData) and not of(events, Undecryptable)


def test_tls13_openssl_client_refusing_the_certificate(pki: OpensslPki, tmp_path: Path) -> None:
    """OpenSSL's client fails while still writing in the clear: its unknown_ca alert is plaintext (the
    capture shows it without a key log); the key log still opens the certificate it refused."""
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_3", "-www"]) as port:
        packets = record(port, python_client(port, keylog, cafile=None))
    records = list(tls_records(packets, port))
    plain_alerts = [r.fragment for side, r in records if side is Side.CLIENT and r.content_type == 21]
    assert plain_alerts == [bytes([2, AlertDescription.UNKNOWN_CA])]
    _dec, events = decrypt(packets, port, keylog)
    assert [e.chain for e in of(events, Certificates, Side.SERVER) if isinstance(e, Certificates)] == [
        (leaf_der(pki),)
    ]
    assert not of(events, DecryptedAlert) and not of(events, Undecryptable)


def test_tls13_server_demanding_a_client_certificate_alert(pki: OpensslPki, tmp_path: Path) -> None:
    """s_server -Verify: the CertificateRequest, the client's empty Certificate, and the server's
    certificate_required alert, sent under its application keys (after its own Finished)."""
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_3", "-Verify", "1", "-www"]) as port:
        result: list[object] = []
        packets = record(port, lambda: result.append(python_client(port, keylog, pki.ca_file)()))
    assert isinstance(result[0], ssl.SSLError) and "CERTIFICATE_REQUIRED" in str(result[0])
    _dec, events = decrypt(packets, port, keylog)
    assert of(events, CertificateRequested)
    assert [e.chain for e in of(events, Certificates, Side.CLIENT) if isinstance(e, Certificates)] == [()]
    alerts = [
        e.alert.description for e in of(events, DecryptedAlert, Side.SERVER) if isinstance(e, DecryptedAlert)
    ]
    assert alerts == [AlertDescription.CERTIFICATE_REQUIRED]


@pytest.mark.skipif(NGINX is None, reason="needs nginx")
def test_tls13_nginx_answers_a_missing_client_certificate_in_http(pki: OpensslPki, tmp_path: Path) -> None:
    """nginx's ssl_verify_client completes the handshake without a client certificate and answers 400
    "No required SSL certificate was sent": only the decrypted application bytes show why."""
    keylog = tmp_path / "keys.log"
    tls = f"ssl_protocols TLSv1.3; ssl_verify_client on; ssl_client_certificate {pki.ca_file};"
    with running(tmp_path / "nginx", Site(cert=pki.cert, key=pki.key, tls=tls)) as port:
        packets = record(port, python_client(port, keylog, pki.ca_file))
    _dec, events = decrypt(packets, port, keylog)
    assert of(events, CertificateRequested)
    assert [e.chain for e in of(events, Certificates, Side.SERVER) if isinstance(e, Certificates)] == [
        (leaf_der(pki),)
    ]
    assert [e.chain for e in of(events, Certificates, Side.CLIENT) if isinstance(e, Certificates)] == [()]
    answer = b"".join(e.data for e in of(events, AppData, Side.SERVER) if isinstance(e, AppData))
    assert answer.startswith(b"HTTP/1.1 400 ") and b"No required SSL certificate was sent" in answer


def test_tls13_hello_retry_request(pki: OpensslPki, tmp_path: Path) -> None:
    """The server wants secp384r1, the client's first key share is x25519: HRR, then the real hello."""
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_3", "-groups", "secp384r1", "-www"]) as port:
        packets = record(port, python_client(port, keylog, pki.ca_file))
    dec, events = decrypt(packets, port, keylog)
    assert dec.state is DecryptState.DECRYPTING
    assert [e.chain for e in of(events, Certificates, Side.SERVER) if isinstance(e, Certificates)] == [
        (leaf_der(pki),)
    ]
    assert b"".join(e.data for e in of(events, AppData, Side.CLIENT) if isinstance(e, AppData)) == REQUEST


@pytest.mark.parametrize(
    "cipher", ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"]
)
def test_tls12_aead_with_the_master_secret(pki: OpensslPki, tmp_path: Path, cipher: str) -> None:
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_2", "-cipher", cipher, "-www"]) as port:
        packets = record(port, python_client(port, keylog, pki.ca_file))
    dec, events = decrypt(packets, port, keylog)
    assert dec.state is DecryptState.DECRYPTING
    assert not of(events, Undecryptable), events
    assert handshake_types(events, Side.CLIENT) == [HandshakeType.FINISHED]
    assert HandshakeType.FINISHED in handshake_types(events, Side.SERVER)
    assert b"".join(e.data for e in of(events, AppData, Side.CLIENT) if isinstance(e, AppData)) == REQUEST
    alerts = [
        e.alert.description for e in of(events, DecryptedAlert, Side.SERVER) if isinstance(e, DecryptedAlert)
    ]
    assert alerts == [AlertDescription.CLOSE_NOTIFY]


def test_tls12_cbc_is_named_not_misread(pki: OpensslPki, tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    with s_server(pki, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256", "-www"]) as port:
        packets = record(port, python_client(port, keylog, pki.ca_file))
    dec, events = decrypt(packets, port, keylog)
    assert dec.state is DecryptState.UNSUPPORTED and "0xc027" in dec.detail
    assert events == []


def test_a_key_log_from_another_run_decrypts_nothing(pki: OpensslPki, tmp_path: Path) -> None:
    """Secrets under the right client random but from another connection: every record fails its tag,
    and the report says so once per direction instead of printing garbage."""
    keylog, other = tmp_path / "keys.log", tmp_path / "other.log"
    with s_server(pki, ["-tls1_3", "-www"]) as port:
        packets = record(port, python_client(port, keylog, pki.ca_file))
        record(port, python_client(port, other, pki.ca_file))
    real_random, other_random = (
        next(line.split()[1] for line in f.read_text().splitlines() if not line.startswith("#"))
        for f in (keylog, other)
    )
    swapped = tmp_path / "swapped.log"
    swapped.write_text(other.read_text().replace(other_random, real_random))
    dec, events = decrypt(packets, port, swapped)
    assert dec.state is DecryptState.DECRYPTING
    failures = of(events, Undecryptable)
    assert {e.side for e in failures if isinstance(e, Undecryptable)} == {Side.CLIENT, Side.SERVER}
    assert all("no key-log secret decrypts it" in e.reason for e in failures if isinstance(e, Undecryptable))
    assert not of(events, Certificates) and not of(events, AppData)


def test_no_line_for_the_connection(pki: OpensslPki, tmp_path: Path) -> None:
    keylog, other = tmp_path / "keys.log", tmp_path / "other.log"
    with s_server(pki, ["-tls1_3", "-www"]) as port:
        packets = record(port, python_client(port, keylog, pki.ca_file))
        record(port, python_client(port, other, pki.ca_file))
    dec, events = decrypt(packets, port, other)
    assert dec.state is DecryptState.NO_SECRETS and "client random" in dec.detail
    assert events == []


def test_tls13_resumption_with_0rtt_data_and_a_key_update(pki: OpensslPki, tmp_path: Path) -> None:
    """s_client resumes with early data (sent before the ServerHello names the suite, under the early
    secret), then sends a KeyUpdate: data after it is under a secret the key log never held (RFC 8446
    §7.2 derives it), and still decrypts."""
    keylog = tmp_path / "keys.log"
    with resuming_with_early_data(tmp_path, pki.cert, pki.key) as (port, resume):
        packets = record(
            port, lambda: talk([*resume, "-keylogfile", str(keylog)], b"k\n", b"after the update\n")
        )
    dec, events = decrypt(packets, port, keylog)
    assert dec.secrets is not None and dec.secrets.client_early is not None
    assert not of(events, Undecryptable), events
    client_types = handshake_types(events, Side.CLIENT)
    assert client_types == [HandshakeType.END_OF_EARLY_DATA, HandshakeType.FINISHED, HandshakeType.KEY_UPDATE]
    sent = b"".join(e.data for e in of(events, AppData, Side.CLIENT) if isinstance(e, AppData))
    assert sent == b"GET /early HTTP/1.0\r\n\r\nafter the update\n"
    assert not of(events, Certificates)  # a resumed handshake sends no certificate
