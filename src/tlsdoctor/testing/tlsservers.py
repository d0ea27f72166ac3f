"""Real TLS servers (stdlib `ssl`) with one thing wrong each: the certificate, the protocol policy, a demand
for a client certificate or SNI, an idle timeout, or a plaintext preamble (SMTP STARTTLS) before TLS."""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Callable
from dataclasses import replace

from tlsdoctor.testing.base import FaultServer, close_gracefully
from tlsdoctor.testing.certs import CertFiles, LeafSpec, Pki, shared_pki

ContextTweak = Callable[[ssl.SSLContext], None]
_MAX_REQUEST = 16 << 10


def allow_weak(ctx: ssl.SSLContext) -> None:
    """OpenSSL 3 at the default SECLEVEL 2 refuses to even load an RSA-1024 or SHA-1 certificate."""
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")


def tls10_only(ctx: ssl.SSLContext) -> None:
    """TLS 1.0 and nothing else. Needs SECLEVEL 0, or OpenSSL 3 will not negotiate TLS 1.0 at all."""
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # ssl.TLSVersion.TLSv1 is deprecated, which is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1


def only_aes256_sha(ctx: ssl.SSLContext) -> None:
    """TLS 1.2 with only TLS_RSA_WITH_AES_256_CBC_SHA, which Python's default client (ECDHE/DHE + AEAD or
    SHA-2, `!SHA1`) never offers. TLS 1.3 suites cannot be narrowed with set_ciphers, so 1.3 is off."""
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES256-SHA")


def http_response(body: bytes, *, keep_alive: bool = False, content_type: bytes = b"text/plain") -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n"
    return head % (content_type, len(body), connection) + body


def read_request(tls: socket.socket) -> bytes:
    """Read until the end of an HTTP header block, EOF, or `_MAX_REQUEST` bytes (timeout: the socket's)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST:
        chunk = tls.recv(_MAX_REQUEST - len(data))
        if not chunk:
            break
        data += chunk
    return data


def close_tls(tls: ssl.SSLSocket, linger: float = 0.5) -> None:
    """Send close_notify without waiting for the peer's (most clients never send one), then FIN, then read
    for up to `linger` seconds so the peer's last bytes do not turn our close into an RST.

    `unwrap()` on a blocking socket would wait for the peer's close_notify; non-blocking, it sends ours and
    gives up on the answer at once.
    """
    try:
        tls.setblocking(False)
        tls.unwrap()
    except (ssl.SSLError, OSError, ValueError):
        pass
    close_gracefully(tls, linger)


class TlsServer(FaultServer):
    """A TLS server answering any HTTP request with 200. Healthy by default; the knobs make it faulty.

    `leaf` shapes the certificate (see certs.LeafSpec), `send_intermediate=False` leaves the intermediate out
    of the chain, `tweak` adjusts the SSLContext (versions, ciphers, security level).
    """

    def __init__(
        self,
        *,
        leaf: LeafSpec | None = None,
        send_intermediate: bool = True,
        tweak: ContextTweak | None = None,
        servername: str = "localhost",
        pki: Pki | None = None,
    ) -> None:
        super().__init__(servername=servername)
        self.leaf = leaf or LeafSpec()
        self.send_intermediate = send_intermediate
        self.tweak = tweak
        self.pki = pki
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.certs: CertFiles | None = None

    def setup(self) -> None:
        pki = self.pki or shared_pki()
        label = f"{self.name}-{self.port}"
        self.certs = pki.issue(label, self.leaf_spec(), send_intermediate=self.send_intermediate)
        self.ca_file = pki.ca_file
        if self.tweak is not None:
            self.tweak(self.context)
        self.context.load_cert_chain(self.certs.chain_file, self.certs.key_file)

    def leaf_spec(self) -> LeafSpec:
        """The leaf to issue; overridden where the certificate must name the port."""
        return self.leaf

    def handle(self, conn: socket.socket) -> None:
        tls = self.wrap(conn)
        try:
            tls.do_handshake()
        except ssl.SSLError:
            # Read on before closing: bytes the client already sent (its request, after a TLS 1.3 handshake
            # it thinks is done) would otherwise turn our close into an RST that can destroy our alert.
            close_gracefully(tls)
            raise
        self.after_handshake(tls)

    def wrap(self, conn: socket.socket) -> ssl.SSLSocket:
        """Wrap server-side; the SSLSocket takes over the file descriptor, so it takes over the tracking."""
        tls = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        self.untrack(conn)
        self.track(tls)
        return tls

    def after_handshake(self, tls: ssl.SSLSocket) -> None:
        if read_request(tls):
            tls.sendall(http_response(f"{self.name}: {tls.version()}\n".encode()))
        close_tls(tls)


class IdleCloseServer(TlsServer):
    """Serves keep-alive requests, but closes the TLS connection after `idle` seconds without one.

    It closes fully at once (no lingering read), so the client's next write meets an RST: the EPIPE /
    ECONNRESET an application sees when it reuses a connection the server already dropped.
    """

    idle = 1.0

    def after_handshake(self, tls: ssl.SSLSocket) -> None:
        tls.settimeout(self.idle)
        for _ in range(100):
            try:
                request = read_request(tls)
            except TimeoutError:
                break
            if not request:
                return
            tls.sendall(http_response(b"ok\n", keep_alive=True))
        close_tls(tls, linger=0.0)


class MissingIntermediateServer(TlsServer):
    """Sends the leaf without its intermediate. The leaf's AIA caIssuers URL points at this very port, which
    also answers a plain `GET` with the intermediate in DER, so an AIA-fetching client can complete the chain.
    """

    def __init__(self, *, servername: str = "localhost", pki: Pki | None = None) -> None:
        super().__init__(send_intermediate=False, servername=servername, pki=pki)

    def leaf_spec(self) -> LeafSpec:
        return replace(self.leaf, aia_ca_issuers=f"http://{self.host}:{self.port}/intermediate.cer")

    def handle(self, conn: socket.socket) -> None:
        if conn.recv(4, socket.MSG_PEEK) == b"GET ":
            read_request(conn)
            der = (self.pki or shared_pki()).intermediate_der
            conn.sendall(http_response(der, content_type=b"application/pkix-cert"))
            close_gracefully(conn)
            return
        super().handle(conn)


class ClientCertRequiredServer(TlsServer):
    """Demands a client certificate from the PKI's client CA; `client_cert_file`/`client_key_file` hold one
    it accepts. Over TLS 1.3 the client's handshake completes and the alert comes on the first read."""

    def setup(self) -> None:
        super().setup()
        pki = self.pki or shared_pki()
        client = pki.issue(f"{self.name}-{self.port}-client", LeafSpec(sans=("client.test",), client=True))
        self.client_cert_file, self.client_key_file = client.chain_file, client.key_file
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(pki.client_ca_file)


class SniRequiredServer(TlsServer):
    """Fails the handshake with an unrecognized_name alert (RFC 6066 3) unless SNI names `good_name`.

    `servername` is the IP address, so a client sends no SNI at all, as when connecting by address.
    """

    good_name = "sni.test"

    def __init__(self, *, pki: Pki | None = None) -> None:
        super().__init__(leaf=LeafSpec(sans=(self.good_name,)), servername="127.0.0.1", pki=pki)

    def setup(self) -> None:
        super().setup()
        self.context.sni_callback = self._check_sni

    def _check_sni(self, _obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> int | None:
        if name == self.good_name:
            return None
        self.note(f"rejected SNI {name!r}")
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME


class SmtpStarttlsServer(TlsServer):
    """An SMTP server (RFC 5321) on a port where a TLS client expects TLS: it greets first with a 220 banner.
    EHLO advertises STARTTLS (RFC 3207); after `STARTTLS` it speaks TLS with a valid certificate."""

    banner = b"220 mail.test ESMTP ready\r\n"

    def handle(self, conn: socket.socket) -> None:
        conn.sendall(self.banner)
        if self._dialogue(conn, tls=False):
            tls = self.wrap(conn)
            tls.do_handshake()
            self._dialogue(tls, tls=True)
            close_tls(tls)

    def _dialogue(self, sock: socket.socket, *, tls: bool) -> bool:
        """Answer up to 20 commands; True when the client asked for STARTTLS."""
        buffer = b""
        for _ in range(20):
            while b"\r\n" not in buffer:
                if len(buffer) > 4096:
                    sock.sendall(b"500 5.5.6 line too long\r\n")
                    return False
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                buffer += chunk
            line, buffer = buffer.split(b"\r\n", 1)
            verb = line[:8].split(b" ")[0].upper()
            if verb == b"EHLO":
                sock.sendall(b"250-mail.test\r\n250-PIPELINING\r\n" + (b"" if tls else b"250-STARTTLS\r\n"))
                sock.sendall(b"250 8BITMIME\r\n")
            elif verb == b"HELO":
                sock.sendall(b"250 mail.test\r\n")
            elif verb == b"STARTTLS" and not tls:
                sock.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                return True
            elif verb == b"QUIT":
                sock.sendall(b"221 2.0.0 Bye\r\n")
                return False
            elif verb == b"NOOP":
                sock.sendall(b"250 2.0.0 OK\r\n")
            else:
                sock.sendall(b"500 5.5.2 command not recognized\r\n")
        return False
