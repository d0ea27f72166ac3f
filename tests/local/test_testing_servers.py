"""Each built-in endpoint really behaves as its description says, seen by the stdlib `ssl`/`socket` only.

Deliberately no tlsdoctor client code here: these servers are the ground truth the diagnosis is tested
against, so they are checked with an independent client.
"""

from __future__ import annotations

import http.client
import smtplib
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID
from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.testing import ENDPOINTS, FaultServer, running, shared_pki, start_endpoint
from tlsdoctor.testing.clienthello import MALFORMED, client_hello_sni

REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
CAUSE_IDS = {
    "healthy", "tcp-refused", "firewall-reset", "server-closed", "firewall-drop", "server-not-tls",
    "cert-expired", "cert-not-yet-valid", "cert-hostname-mismatch", "cert-untrusted", "cert-chain-incomplete",
    "cert-weak", "protocol-mismatch", "cipher-mismatch", "client-cert-required", "sni-required",
    "sni-filtered", "clienthello-too-large", "server-idle-close", "server-overloaded",
}  # fmt: skip


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_run_handler" in t.name or t.name.split(":")[-1].isdigit()]


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    """Every server thread a test started is gone after it (others' long-lived fixtures are left alone)."""
    before = set(_server_threads())
    yield
    deadline = time.monotonic() + 2.0
    while set(_server_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(_server_threads()) - before == set()


def at(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("endpoint", [name], indirect=True)


def client_context(server: FaultServer, *, seclevel0: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
    if seclevel0:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def fetch(
    server: FaultServer,
    ctx: ssl.SSLContext | None = None,
    *,
    servername: str | None = None,
    timeout: float = 3.0,
) -> tuple[str | None, bytes]:
    """Handshake, send one request, read the answer: (TLS version, answer). Errors propagate."""
    with connect(server, ctx, servername=servername, timeout=timeout) as tls:
        tls.sendall(REQUEST)
        return tls.version(), tls.recv(4096)


@contextmanager
def connect(
    server: FaultServer,
    ctx: ssl.SSLContext | None = None,
    *,
    servername: str | None = None,
    timeout: float = 3.0,
) -> Iterator[ssl.SSLSocket]:
    ctx = ctx or client_context(server)
    name = servername or server.servername
    with (
        socket.create_connection(server.address, timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=name) as tls,
    ):
        yield tls


def client_hello(ctx: ssl.SSLContext | None = None, servername: str = "localhost") -> bytes:
    """The exact ClientHello the stdlib client would send, obtained without a network (MemoryBIO)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = (ctx or ssl.create_default_context()).wrap_bio(incoming, outgoing, server_hostname=servername)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def peer_cert(server: FaultServer) -> x509.Certificate:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(server.address, timeout=3) as raw, ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


# -- the registry and the life cycle ----------------------------------------


def test_registry_names_only_contract_causes() -> None:
    assert len(ENDPOINTS) >= 24
    for name, spec in ENDPOINTS.items():
        assert spec.expected is None or spec.expected in CAUSE_IDS, name
        assert set(spec.also) <= CAUSE_IDS, name
        assert spec.description, name


def test_all_endpoints_start_in_under_3_s_and_stop_in_under_1_s() -> None:
    begin = time.monotonic()
    with running() as servers:
        started = time.monotonic() - begin
        assert set(servers) == set(ENDPOINTS)
        assert len({s.port for s in servers.values()}) == len(servers)
        for name, server in servers.items():
            assert server.host == "127.0.0.1" and server.port > 0
            assert server.expected == ENDPOINTS[name].expected
        begin = time.monotonic()
    stopped = time.monotonic() - begin
    assert started < 3.0
    assert stopped < 1.0


def test_stop_frees_the_port_and_wakes_held_connections() -> None:
    server = start_endpoint("silent")
    held = [socket.create_connection(server.address, timeout=3) for _ in range(3)]
    try:
        for sock in held:
            sock.sendall(b"hello?")
        wait_until(lambda: server.active == 3)
        begin = time.monotonic()
        server.stop()
        assert time.monotonic() - begin < 1.2
        for sock in held:  # the server's side is shut down: the client sees EOF
            assert sock.recv(10) == b""
    finally:
        for sock in held:
            sock.close()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(server.address, timeout=3):
        pass
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(server.address)
        again.listen()


def test_stop_is_idempotent_and_start_twice_is_an_error() -> None:
    server = start_endpoint("healthy")
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    server.stop()


# -- one test per endpoint ----------------------------------------


@at("healthy")
def test_healthy(endpoint: FaultServer) -> None:
    version, answer = fetch(endpoint)
    assert version == "TLSv1.3" and answer.startswith(b"HTTP/1.1 200 OK")
    tls12 = client_context(endpoint)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    assert fetch(endpoint, tls12)[0] == "TLSv1.2"
    assert fetch(endpoint, servername="127.0.0.1")[1].startswith(b"HTTP/1.1 200")
    # the client trusts the root only, so success means the server sent the intermediate
    assert endpoint.ca_file == shared_pki().ca_file


@at("refused")
def test_refused(endpoint: FaultServer) -> None:
    with pytest.raises(ConnectionRefusedError), socket.create_connection(endpoint.address, timeout=3):
        pass
    with socket.socket() as squatter, pytest.raises(OSError, match="in use"):
        squatter.bind(endpoint.address)  # the port stays reserved


@at("reset-after-hello")
def test_reset_after_hello(endpoint: FaultServer) -> None:
    with pytest.raises(ConnectionResetError):
        fetch(endpoint)
    with pytest.raises(ConnectionResetError):
        fetch(endpoint, servername="any.other.test")  # independent of SNI


@at("close-after-hello")
def test_close_after_hello(endpoint: FaultServer) -> None:
    with pytest.raises(ssl.SSLEOFError, match="UNEXPECTED_EOF"):
        fetch(endpoint)
    with socket.create_connection(endpoint.address, timeout=3) as raw:
        raw.sendall(client_hello())
        assert raw.recv(100) == b""  # FIN, no alert, no RST


@at("silent")
def test_silent(endpoint: FaultServer) -> None:
    with pytest.raises(TimeoutError):
        fetch(endpoint, timeout=0.5)


@at("plain-http")
def test_plain_http(endpoint: FaultServer) -> None:
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER"):
        fetch(endpoint)
    with socket.create_connection(endpoint.address, timeout=3) as raw:
        raw.sendall(client_hello())
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and answer.endswith(b"</html>\r\n")


@at("smtp-banner")
def test_smtp_banner_and_starttls(endpoint: FaultServer) -> None:
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER"):
        fetch(endpoint)
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=3) as smtp:
        code, _ = smtp.ehlo()
        assert code == 250 and smtp.has_extn("starttls")
        assert smtp.starttls(context=client_context(endpoint))[0] == 220
        assert smtp.ehlo()[0] == 250 and not smtp.has_extn("starttls")
        assert smtp.noop()[0] == 250


CERT_FAULTS = [
    ("expired", "certificate has expired"),
    ("not-yet-valid", "certificate is not yet valid"),
    ("wrong-host", "Hostname mismatch, certificate is not valid for 'localhost'"),
    ("self-signed", "self-signed certificate"),
    ("missing-intermediate", "unable to get local issuer certificate"),
    ("weak-key", "EE certificate key too weak"),
    ("sha1-signature", "CA signature digest algorithm too weak"),
]


@pytest.mark.parametrize(("endpoint", "message"), CERT_FAULTS, indirect=["endpoint"])
def test_certificate_faults_fail_verification(endpoint: FaultServer, message: str) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match=message):
        fetch(endpoint)


@at("missing-intermediate")
def test_missing_intermediate_aia_serves_the_intermediate(endpoint: FaultServer) -> None:
    aia = peer_cert(endpoint).extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    (access,) = [a for a in aia if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
    url = access.access_location.value
    assert url == f"http://127.0.0.1:{endpoint.port}/intermediate.cer"
    conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=3)
    try:
        conn.request("GET", "/intermediate.cer")
        der = conn.getresponse().read()
    finally:
        conn.close()
    ctx = client_context(endpoint)
    ctx.load_verify_locations(cadata=der)  # with the fetched intermediate the chain completes
    assert fetch(endpoint, ctx)[1].startswith(b"HTTP/1.1 200")


@at("weak-key")
def test_weak_key_is_rsa_1024_and_the_only_fault(endpoint: FaultServer) -> None:
    key = peer_cert(endpoint).public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 1024
    assert fetch(endpoint, client_context(endpoint, seclevel0=True))[1].startswith(b"HTTP/1.1 200")


@at("sha1-signature")
def test_sha1_signature_is_the_only_fault(endpoint: FaultServer) -> None:
    assert isinstance(peer_cert(endpoint).signature_hash_algorithm, hashes.SHA1)
    assert fetch(endpoint, client_context(endpoint, seclevel0=True))[1].startswith(b"HTTP/1.1 200")


@at("tls10-only")
def test_tls10_only(endpoint: FaultServer) -> None:
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
        fetch(endpoint)
    ctx = client_context(endpoint, seclevel0=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    assert fetch(endpoint, ctx)[0] == "TLSv1"


@at("no-common-cipher")
def test_no_common_cipher(endpoint: FaultServer) -> None:
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        fetch(endpoint)
    with connect(endpoint, client_context(endpoint, seclevel0=True)) as tls:
        assert tls.version() == "TLSv1.2"
        cipher = tls.cipher()
        assert cipher is not None and cipher[0] == "AES256-SHA"


@at("client-cert-required")
def test_client_cert_required(endpoint: FaultServer) -> None:
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
        fetch(endpoint)  # TLS 1.3: the alert arrives on the first read
    tls12 = client_context(endpoint)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        fetch(endpoint, tls12)
    assert endpoint.client_cert_file and endpoint.client_key_file
    ctx = client_context(endpoint)
    ctx.load_cert_chain(endpoint.client_cert_file, endpoint.client_key_file)
    assert fetch(endpoint, ctx)[1].startswith(b"HTTP/1.1 200")


@at("sni-required")
def test_sni_required(endpoint: FaultServer) -> None:
    assert endpoint.servername == "127.0.0.1"  # so the stdlib sends no SNI
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        fetch(endpoint)
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        fetch(endpoint, servername="localhost")
    assert fetch(endpoint, servername="sni.test")[1].startswith(b"HTTP/1.1 200")


@at("sni-filter")
def test_sni_filter(endpoint: FaultServer) -> None:
    assert endpoint.servername == "blocked.test"
    with pytest.raises(ConnectionResetError):
        fetch(endpoint)
    for other in ("allowed.test", "localhost"):
        assert fetch(endpoint, servername=other)[1].startswith(b"HTTP/1.1 200")


@at("large-hello-reset")
def test_large_hello_reset(endpoint: FaultServer) -> None:
    hello = client_hello()
    assert len(hello) == 5 + 512  # OpenSSL pads the default hello to exactly the limit
    assert fetch(endpoint)[1].startswith(b"HTTP/1.1 200")
    big = client_context(endpoint)
    big.set_alpn_protocols(["x" * 200, "y" * 200])
    assert len(client_hello(big)) > 5 + 512
    with pytest.raises(ConnectionResetError):
        fetch(endpoint, big)
    with socket.create_connection(endpoint.address, timeout=3) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.sendall(hello[:100])
        time.sleep(0.2)
        with pytest.raises(ConnectionResetError):  # the box decided on the first segment
            raw.sendall(hello[100:])
            raw.recv(100)


@at("idle-close")
def test_idle_close(endpoint: FaultServer) -> None:
    with connect(endpoint) as tls:
        for _ in range(3):  # requests within the idle window keep it open
            tls.sendall(REQUEST)
            assert tls.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(0.5)
        begin = time.monotonic()
        assert tls.recv(4096) == b""  # close_notify after ~1 s of quiet
        assert time.monotonic() - begin < 2.5  # well before the 5 s socket timeout
        with pytest.raises(OSError):  # a later write: EPIPE or ECONNRESET
            for _ in range(20):
                tls.sendall(REQUEST)
                time.sleep(0.05)


@at("slow-drip")
def test_slow_drip(endpoint: FaultServer) -> None:
    with socket.create_connection(endpoint.address, timeout=3) as raw:
        assert raw.recv(10) == b"g"
        begin = time.monotonic()
        assert raw.recv(10) == b"a"
        assert 0.5 < time.monotonic() - begin < 2.5
    with pytest.raises(TimeoutError):
        fetch(endpoint, timeout=1.5)


@at("endless")
def test_endless(endpoint: FaultServer) -> None:
    with socket.create_connection(endpoint.address, timeout=3) as raw:
        first = raw.recv(1)
        got = 1
        while got < 4 << 20:
            got += len(raw.recv(1 << 16))
    assert first == b"\x00"
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER"):
        fetch(endpoint)


@at("huge-length")
def test_huge_length(endpoint: FaultServer) -> None:
    with socket.create_connection(endpoint.address, timeout=3) as raw:
        head = b""
        while len(head) < 9:
            head += raw.recv(9 - len(head))
        assert head == bytes.fromhex("160303400002ffffff")
        assert raw.recv(100) == bytes(16)  # then a trickle of zeros
    with pytest.raises(TimeoutError):
        fetch(endpoint, timeout=1.0)


@at("overloaded")
def test_overloaded(endpoint: FaultServer) -> None:
    begin = time.monotonic()
    assert fetch(endpoint)[1].startswith(b"HTTP/1.1 200")
    alone = time.monotonic() - begin
    assert alone >= 0.25
    wait_until(lambda: endpoint.active == 0)
    idle = [socket.create_connection(endpoint.address, timeout=3) for _ in range(3)]
    try:
        wait_until(lambda: endpoint.active == 3)
        with pytest.raises(TimeoutError):  # a 4th connection is never answered
            fetch(endpoint, timeout=1.5)
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: endpoint.active == 0)
    held = socket.create_connection(endpoint.address, timeout=3)
    try:
        wait_until(lambda: endpoint.active == 1)
        begin = time.monotonic()
        assert fetch(endpoint)[1].startswith(b"HTTP/1.1 200")
        assert time.monotonic() - begin >= 0.5  # two open connections: twice as late
    finally:
        held.close()


# -- the private ClientHello parser ----------------------------------------


def test_client_hello_sni_reads_real_hellos_and_survives_garbage() -> None:
    assert client_hello_sni(client_hello(servername="Blocked.Test")) == "blocked.test"
    assert client_hello_sni(client_hello(servername="127.0.0.1")) is None  # no SNI for addresses
    hello = client_hello()
    for cut in range(len(hello)):
        assert client_hello_sni(hello[:cut]) in (MALFORMED, None)
    assert client_hello_sni(b"GET / HTTP/1.1\r\n\r\n") == MALFORMED


@given(st.binary(max_size=600))
def test_client_hello_sni_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    for sample in (data, b"\x16\x03\x01" + data):
        result = client_hello_sni(sample)
        assert result is None or isinstance(result, str)
