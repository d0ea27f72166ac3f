"""ENDPOINTS: the built-in broken endpoints, by name, with the cause a diagnosis of each should name.

A literal table (STYLE 6), read by the local tests and by `tlsdoctor demo`. `expected` is a cause id from
contract/causes.md, or None for hostile peers where the point is that the client neither hangs nor buffers
without bound; `also` lists causes a sound diagnosis may rank first instead, where loopback cannot show the
difference (see `reset-after-hello`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.certs import LeafSpec
from tlsdoctor.testing.middleboxes import LargeHelloResetServer, OverloadedServer, SniFilterServer
from tlsdoctor.testing.starttls_servers import (
    FtpStarttlsServer,
    ImapStarttlsServer,
    LdapStarttlsServer,
    MysqlServer,
    Pop3StarttlsServer,
    PostgresServer,
    XmppStarttlsServer,
)
from tlsdoctor.testing.tcpfaults import (
    CloseAfterHelloServer,
    EndlessServer,
    HugeLengthServer,
    PlainHttpServer,
    RefusedServer,
    ResetAfterHelloServer,
    SilentServer,
    SlowDripServer,
)
from tlsdoctor.testing.tlsservers import (
    ClientCertRequiredServer,
    IdleCloseServer,
    MissingIntermediateServer,
    SmtpStarttlsServer,
    SniRequiredServer,
    TlsServer,
    allow_weak,
    only_aes256_sha,
    tls10_only,
)


@dataclass(frozen=True)
class EndpointSpec:
    """One row of ENDPOINTS: how to make the server, what a diagnosis of it should say, in one line."""

    factory: Callable[[], FaultServer]
    expected: str | None
    description: str
    also: tuple[str, ...] = ()


ENDPOINTS: dict[str, EndpointSpec] = {
    "healthy": EndpointSpec(
        TlsServer, "healthy", "TLS 1.2 and 1.3, full chain with intermediate, SAN localhost and 127.0.0.1"
    ),
    "refused": EndpointSpec(RefusedServer, "tcp-refused", "a port bound but not listening: SYN gets RST"),
    "reset-after-hello": EndpointSpec(
        ResetAfterHelloServer,
        "firewall-reset",
        "reads the ClientHello, answers RST (IP TTL 250) whatever the SNI",
        also=("server-closed",),
    ),
    "close-after-hello": EndpointSpec(
        CloseAfterHelloServer, "server-closed", "reads the ClientHello, closes with FIN and no alert"
    ),
    "silent": EndpointSpec(SilentServer, "firewall-drop", "accepts and reads, never answers"),
    "plain-http": EndpointSpec(
        PlainHttpServer, "server-not-tls", "answers anything with an nginx-style HTTP 400 Bad Request"
    ),
    "smtp-banner": EndpointSpec(
        SmtpStarttlsServer, "server-not-tls", "SMTP: 220 banner first; EHLO offers STARTTLS, then valid TLS"
    ),
    # STARTTLS: `expected` is what a diagnosis without --starttls names; with the right --starttls each is
    # healthy, except postgres-no-ssl (server-not-tls: it answers 'N') and mysql-no-ssl (no CLIENT_SSL).
    "imap-starttls": EndpointSpec(
        ImapStarttlsServer, "server-not-tls", "IMAP: '* OK' greeting; CAPABILITY lists STARTTLS, then TLS"
    ),
    "pop3-starttls": EndpointSpec(
        Pop3StarttlsServer, "server-not-tls", "POP3: '+OK' greeting; CAPA lists STLS, then valid TLS"
    ),
    "ftp-starttls": EndpointSpec(
        FtpStarttlsServer, "server-not-tls", "FTP: multi-line 220 greeting; AUTH TLS -> 234, then valid TLS"
    ),
    "postgres-ssl": EndpointSpec(
        PostgresServer,
        "server-closed",
        "PostgreSQL: SSLRequest -> 'S', then valid TLS; a bare ClientHello is closed without a word",
    ),
    "postgres-no-ssl": EndpointSpec(
        lambda: PostgresServer(offer_ssl=False),
        "server-closed",
        "PostgreSQL with ssl = off: SSLRequest -> 'N'; a bare ClientHello is closed without a word",
    ),
    "ldap-starttls": EndpointSpec(
        LdapStarttlsServer, "server-closed", "LDAP: StartTLS ExtendedRequest -> success, then valid TLS"
    ),
    "xmpp-starttls": EndpointSpec(
        XmppStarttlsServer,
        "server-not-tls",
        "XMPP: features offer <starttls/>, <proceed/>, then valid TLS; a ClientHello gets a stream error",
    ),
    "mysql-ssl": EndpointSpec(
        MysqlServer, "server-not-tls", "MySQL: greeting with CLIENT_SSL; SSLRequest packet, then valid TLS"
    ),
    "mysql-no-ssl": EndpointSpec(
        lambda: MysqlServer(offer_ssl=False),
        "server-not-tls",
        "MySQL greeting without CLIENT_SSL (have_ssl off)",
    ),
    "expired": EndpointSpec(
        lambda: TlsServer(leaf=LeafSpec(valid_from_days=-90, valid_until_days=-2)),
        "cert-expired",
        "leaf notAfter was 2 days ago",
    ),
    "not-yet-valid": EndpointSpec(
        lambda: TlsServer(leaf=LeafSpec(valid_from_days=2, valid_until_days=92)),
        "cert-not-yet-valid",
        "leaf notBefore is 2 days ahead",
    ),
    "wrong-host": EndpointSpec(
        lambda: TlsServer(leaf=LeafSpec(sans=("other.test",))),
        "cert-hostname-mismatch",
        "leaf SAN is only other.test",
    ),
    "self-signed": EndpointSpec(
        lambda: TlsServer(leaf=LeafSpec(self_signed=True)), "cert-untrusted", "self-signed leaf, no chain"
    ),
    "missing-intermediate": EndpointSpec(
        MissingIntermediateServer,
        "cert-chain-incomplete",
        "sends the leaf only; its AIA caIssuers URL serves the intermediate on the same port",
    ),
    "weak-key": EndpointSpec(
        lambda: TlsServer(leaf=LeafSpec(key_type="rsa1024"), tweak=allow_weak),
        "cert-weak",
        "RSA-1024 leaf (server at SECLEVEL 0)",
    ),
    "sha1-signature": EndpointSpec(
        lambda: TlsServer(leaf=LeafSpec(hash_name="sha1"), tweak=allow_weak),
        "cert-weak",
        "leaf signed sha1WithRSAEncryption (server at SECLEVEL 0)",
    ),
    "tls10-only": EndpointSpec(
        lambda: TlsServer(tweak=tls10_only), "protocol-mismatch", "TLS 1.0 only (SECLEVEL 0)"
    ),
    "no-common-cipher": EndpointSpec(
        lambda: TlsServer(tweak=only_aes256_sha),
        "cipher-mismatch",
        "TLS 1.2 with only AES256-SHA (TLS_RSA_WITH_AES_256_CBC_SHA)",
    ),
    "client-cert-required": EndpointSpec(
        ClientCertRequiredServer, "client-cert-required", "mTLS: CERT_REQUIRED; client_cert_file is accepted"
    ),
    "sni-required": EndpointSpec(
        SniRequiredServer, "sni-required", "unrecognized_name unless SNI is sni.test; servername is an IP"
    ),
    "sni-filter": EndpointSpec(
        SniFilterServer, "sni-filtered", "DPI: RST for SNI blocked.test, other names pass to a healthy server"
    ),
    "large-hello-reset": EndpointSpec(
        LargeHelloResetServer,
        "clienthello-too-large",
        "RST when the first ClientHello record is > 512 bytes or split; smaller ones relayed",
    ),
    "idle-close": EndpointSpec(
        IdleCloseServer, "server-idle-close", "healthy, but closes the connection after 1 s without a request"
    ),
    "slow-drip": EndpointSpec(SlowDripServer, "server-not-tls", "one text byte per second, for 10 minutes"),
    "endless": EndpointSpec(EndlessServer, "server-not-tls", "random non-TLS bytes, as fast as read"),
    "huge-length": EndpointSpec(
        HugeLengthServer, None, "a handshake record announcing a 16 MB ServerHello, then a trickle"
    ),
    "overloaded": EndpointSpec(
        OverloadedServer,
        "server-overloaded",
        "TCP at once; handshake 0.25 s late per open connection, no answer above 3 open",
    ),
}


def start_endpoint(name: str) -> FaultServer:
    """Make and start the endpoint `name` (a key of ENDPOINTS); the caller must stop() it."""
    spec = ENDPOINTS[name]
    server = spec.factory()
    server.name = name
    server.expected = spec.expected
    return server.start()


@contextmanager
def running(*names: str) -> Iterator[dict[str, FaultServer]]:
    """Start the named endpoints (all of them when none are named); stop them all on exit."""
    with ExitStack() as stack:
        servers: dict[str, FaultServer] = {}
        for name in names or tuple(ENDPOINTS):
            servers[name] = start_endpoint(name)
            stack.callback(servers[name].stop)
        yield servers
