"""Every cause id of contract/causes.md, with its meaning and its fixes.

The fixes live with the cause (style rule 7): a rule decides *whether* a cause
holds; what to change is the same whichever evidence proved it. A test checks
this table against the contract, so an id can never drift.
"""

from __future__ import annotations

import dataclasses
import enum


class CauseId(enum.StrEnum):
    """Stable cause identifiers (contract/causes.md). Never rename a value."""

    HEALTHY = "healthy"
    DNS_NXDOMAIN = "dns-nxdomain"
    DNS_FAILURE = "dns-failure"
    DNS_INCONSISTENT = "dns-inconsistent"
    TCP_REFUSED = "tcp-refused"
    TCP_TIMEOUT = "tcp-timeout"
    HOST_UNREACHABLE = "host-unreachable"
    NETWORK_UNSTABLE = "network-unstable"
    PATH_MTU_BLACKHOLE = "path-mtu-blackhole"
    FIREWALL_RESET = "firewall-reset"
    FIREWALL_DROP = "firewall-drop"
    SNI_FILTERED = "sni-filtered"
    CLIENTHELLO_TOO_LARGE = "clienthello-too-large"
    PROXY_REQUIRED = "proxy-required"
    PROXY_ERROR = "proxy-error"
    TLS_INTERCEPTION = "tls-interception"
    SERVER_NOT_TLS = "server-not-tls"
    SERVER_CLOSED = "server-closed"
    SERVER_OVERLOADED = "server-overloaded"
    PROTOCOL_MISMATCH = "protocol-mismatch"
    CIPHER_MISMATCH = "cipher-mismatch"
    CLIENT_CERT_REQUIRED = "client-cert-required"
    SNI_REQUIRED = "sni-required"
    CERT_EXPIRED = "cert-expired"
    CERT_NOT_YET_VALID = "cert-not-yet-valid"
    CERT_HOSTNAME_MISMATCH = "cert-hostname-mismatch"
    CERT_UNTRUSTED = "cert-untrusted"
    CERT_CHAIN_INCOMPLETE = "cert-chain-incomplete"
    CERT_REVOKED = "cert-revoked"
    CERT_WEAK = "cert-weak"
    SERVER_IDLE_CLOSE = "server-idle-close"
    CLIENT_CLOCK_SKEW = "client-clock-skew"
    CLIENT_CA_STORE = "client-ca-store"
    CLIENT_TLS_POLICY = "client-tls-policy"
    CLIENT_FD_EXHAUSTION = "client-fd-exhaustion"
    CLIENT_PORT_EXHAUSTION = "client-port-exhaustion"
    CLIENT_WRITE_AFTER_CLOSE = "client-write-after-close"


@dataclasses.dataclass(frozen=True, slots=True)
class CauseInfo:
    """The fixed text of a cause: its layer, meaning and fixes on either side."""

    layer: str
    summary: str
    client_fixes: tuple[str, ...]
    server_fixes: tuple[str, ...]

    @property
    def fixes(self) -> tuple[str, ...]:
        """Client fixes then server fixes, each labelled with its side."""
        return tuple(f"client: {f}" for f in self.client_fixes) + tuple(
            f"server: {f}" for f in self.server_fixes
        )


_ = CauseInfo
CAUSES: dict[CauseId, CauseInfo] = {
    CauseId.HEALTHY: _("-", "every check passed; no fault found", (), ()),
    CauseId.DNS_NXDOMAIN: _(
        "dns",
        "the name does not exist (NXDOMAIN)",
        (
            "check the spelling of the host name and the search domain",
            "if the name is internal, query the internal resolver (--resolver) or join the VPN that serves "
            "it",
        ),
        ("create the DNS record, or fix the delegation of the zone",),
    ),
    CauseId.DNS_FAILURE: _(
        "dns",
        "the resolver times out, answers SERVFAIL/REFUSED, or returns no address",
        (
            "try another resolver (--resolver) to tell a broken resolver from a broken zone",
            "check /etc/resolv.conf and that UDP and TCP port 53 to the resolver are allowed",
        ),
        (
            "check the zone's authoritative servers and DNSSEC signatures (SERVFAIL is often an expired "
            "RRSIG)",
            "publish an A or AAAA record for the name",
        ),
    ),
    CauseId.DNS_INCONSISTENT: _(
        "dns",
        "resolvers disagree, or the name resolves to a bogon, private or sinkhole address",
        (
            "compare the answers of each resolver; a sinkhole (0.0.0.0, 127.0.0.1) usually means "
            "a DNS filter or an /etc/hosts entry",
            "flush the local DNS cache and check /etc/hosts",
        ),
        ("make all authoritative servers serve the same records; wait out the TTL after a change",),
    ),
    CauseId.TCP_REFUSED: _(
        "tcp",
        "nothing listens: the SYN is answered with RST (ECONNREFUSED)",
        ("check the port number and the address the name resolves to",),
        (
            "start the service, or make it listen on this address and port (not only on 127.0.0.1)",
            "check a host firewall rule that rejects the port (REJECT --reject-with tcp-reset)",
        ),
    ),
    CauseId.TCP_TIMEOUT: _(
        "tcp",
        "the SYN is never answered: host down, route or firewall silently dropping",
        (
            "check that outbound traffic to this port is allowed from this network (firewall, security "
            "group)",
            "try from another network to tell a local block from a remote one",
        ),
        (
            "allow the port inbound in the host firewall and in any cloud security group or network ACL",
            "check that the host is up and the service is bound to the public address",
        ),
    ),
    CauseId.HOST_UNREACHABLE: _(
        "ip",
        "ICMP unreachable or no route (EHOSTUNREACH, ENETUNREACH)",
        (
            "check the local routing table and default gateway (`ip route get ADDRESS`)",
            "an IPv6 address with no IPv6 route: prefer IPv4 or fix the IPv6 setup",
        ),
        ("check the router that answered unreachable; a firewall may be rejecting with ICMP",),
    ),
    CauseId.NETWORK_UNSTABLE: _(
        "ip",
        "loss, jitter or flapping: the same probe fails intermittently",
        (
            "retry with backoff; measure loss with `mtr` over a few minutes",
            "check Wi-Fi, VPN and link error counters (`ip -s link`)",
        ),
        ("check the server's uplink and load balancer health checks for flapping back ends",),
    ),
    CauseId.PATH_MTU_BLACKHOLE: _(
        "ip",
        "large packets vanish and ICMP fragmentation-needed never arrives; small exchanges work",
        (
            "lower the MTU of the VPN or tunnel interface (e.g. 1400), or enable TCP MTU probing "
            "(sysctl net.ipv4.tcp_mtu_probing=1)",
        ),
        (
            "clamp the TCP MSS on the tunnel or router (iptables TCPMSS --clamp-mss-to-pmtu)",
            "allow ICMP type 3 code 4 (fragmentation needed) and ICMPv6 packet-too-big through every "
            "firewall",
        ),
    ),
    CauseId.FIREWALL_RESET: _(
        "middlebox",
        "an RST the server did not send arrives in answer to the ClientHello (injected), whatever the SNI",
        (
            "find the firewall, DPI or IPS on the path (traceroute, ask the network team) and request an "
            "exception for this destination",
            "try another network (mobile hotspot) to confirm the path is the cause",
        ),
        ("check the server's own firewall/IPS and any TLS-terminating load balancer for reset rules",),
    ),
    CauseId.FIREWALL_DROP: _(
        "middlebox",
        "TCP connects but the ClientHello is silently dropped (DPI or stateful filter)",
        ("find the filtering device on the path and request an exception; compare from another network",),
        (
            "check that the port really runs a TLS service and is not held by a stuck process",
            "check server-side IPS/WAF rules that silently drop TLS",
        ),
    ),
    CauseId.SNI_FILTERED: _(
        "middlebox",
        "reset or drop depends on the SNI value: other names on the same address pass",
        (
            "the network filters this host name (censorship, corporate category filter): ask for it to be "
            "allowed, or use another network",
        ),
        ("if you operate the filter, remove the name from its block list",),
    ),
    CauseId.CLIENTHELLO_TOO_LARGE: _(
        "middlebox/server",
        "a large ClientHello (post-quantum key share, many extensions) is reset or dropped, a small one "
        "passes",
        (
            "as a workaround, disable the post-quantum key share in the client (e.g. Chrome "
            "--disable-features=PostQuantumKyber, OpenSSL Groups without X25519MLKEM768)",
        ),
        (
            "upgrade the firewall, load balancer or server that cannot reassemble a ClientHello spanning two "
            "TCP segments; for F5 BIG-IP, apply the fix for 256-511-byte hellos",
        ),
    ),
    CauseId.PROXY_REQUIRED: _(
        "proxy",
        "direct connections are blocked and the configured proxy is needed",
        (
            "configure the failing client to use the proxy (HTTPS_PROXY; Java: -Dhttps.proxyHost; git: "
            "http.proxy; Docker daemon: its own systemd environment)",
        ),
        ("if direct access is intended, open the egress firewall for this destination",),
    ),
    CauseId.PROXY_ERROR: _(
        "proxy",
        "the proxy refuses CONNECT, needs authentication (407) or breaks the tunnel",
        (
            "give the proxy credentials (http://user:pass@proxy:port) or use the right proxy URL "
            "(http:// for a plain proxy, not https://)",
            "ask the proxy team to allow CONNECT to this host and port",
        ),
        ("on the proxy: allow CONNECT to this port (squid: SSL_ports / Safe_ports)",),
    ),
    CauseId.TLS_INTERCEPTION: _(
        "middlebox",
        "the certificate comes from an interception CA, not the server's real chain",
        (
            "if the interception is your organisation's, trust its CA for this client (--ca-file, "
            "REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS, Java keystore); otherwise treat it as an attack",
            "ask for this host to be excluded from TLS inspection (pinned and mTLS clients break under it)",
        ),
        ("nothing on the server: the certificate is replaced on the path",),
    ),
    CauseId.SERVER_NOT_TLS: _(
        "server",
        "the port answers in another protocol, or needs STARTTLS first",
        (
            "use the TLS port (443, 465, 993, 995, 636...) or the protocol's STARTTLS (--starttls)",
            "use http:// if the service is plain HTTP",
        ),
        ("enable TLS on this listener (nginx: `listen 443 ssl`), or put the TLS service on this port",),
    ),
    CauseId.SERVER_CLOSED: _(
        "server",
        "the server closes (FIN or RST) during the handshake without a TLS alert, consistently",
        ("check whether the client must send SNI or a specific version; compare with `openssl s_client`",),
        (
            "read the server's error log at the time of the probe: a crashing worker, a missing certificate "
            "for this name, or an accept filter that closes unknown clients",
        ),
    ),
    CauseId.SERVER_OVERLOADED: _(
        "server",
        "TCP is accepted but the ServerHello is late or missing, worse with concurrency",
        ("retry with backoff and lower concurrency; reuse connections (keep-alive, session resumption)",),
        (
            "add workers or capacity; check CPU (RSA handshakes), accept queue overflows (`nstat "
            "TcpExtListenOverflows`) and connection limits",
        ),
    ),
    CauseId.PROTOCOL_MISMATCH: _(
        "server/client",
        "no TLS version in common",
        (
            "if you must reach a legacy server, allow its version for this client only "
            "(OpenSSL: MinProtocol / @SECLEVEL=0) and plan its retirement",
        ),
        ("enable TLS 1.2 and TLS 1.3 on the server; TLS 1.0 and 1.1 are deprecated (RFC 8996)",),
    ),
    CauseId.CIPHER_MISMATCH: _(
        "server/client",
        "no cipher suite, group or signature algorithm in common",
        ("if you must reach this server, enable one of its suites for this client only",),
        ("offer modern AEAD suites with ECDHE (e.g. Mozilla's intermediate configuration)",),
    ),
    CauseId.CLIENT_CERT_REQUIRED: _(
        "server",
        "the server demands a client certificate (mutual TLS) and none was accepted",
        (
            "present the client certificate and key (--cert/--key; curl --cert; requests cert=)",
            "check that the client certificate is issued by a CA the server lists in its request",
        ),
        ("if mTLS is not intended on this listener, set ssl_verify_client off / optional",),
    ),
    CauseId.SNI_REQUIRED: _(
        "server",
        "the server fails without SNI, or rejects the name sent (unrecognized_name)",
        ("send SNI: connect by host name, not IP, or set the server name (--servername, curl --resolve)",),
        ("configure a default certificate/virtual host for clients without SNI, or add this name",),
    ),
    CauseId.CERT_EXPIRED: _(
        "cert",
        "the leaf or a chain certificate is past its notAfter date",
        ("nothing safe to do on the client but wait for the renewal; do not disable verification",),
        (
            "renew the certificate and reload the server; check the renewal job (certbot renew --dry-run)",
            "replace an expired intermediate in the served chain",
        ),
    ),
    CauseId.CERT_NOT_YET_VALID: _(
        "cert",
        "a certificate's notBefore is in the future",
        ("check the client clock first (`tlsdoctor host`, timedatectl)",),
        ("the certificate was issued with a future start date; reissue it or wait",),
    ),
    CauseId.CERT_HOSTNAME_MISMATCH: _(
        "cert",
        "no subjectAltName of the certificate matches the requested name",
        ("connect with a name the certificate covers; check for a wrong DNS record or --servername",),
        (
            "reissue the certificate with this name in subjectAltName, or serve the right certificate for "
            "this SNI (virtual host order)",
        ),
    ),
    CauseId.CERT_UNTRUSTED: _(
        "cert",
        "self-signed or signed by a CA the client does not trust",
        (
            "if the CA is legitimately private, trust it explicitly (--ca-file, REQUESTS_CA_BUNDLE, "
            "NODE_EXTRA_CA_CERTS, keytool -importcert)",
        ),
        ("use a certificate from a publicly trusted CA (e.g. Let's Encrypt) for public clients",),
    ),
    CauseId.CERT_CHAIN_INCOMPLETE: _(
        "cert",
        "the server omits an intermediate certificate",
        ("a client that fetches AIA (browsers) works while OpenSSL/curl/Java fail: do not rely on it",),
        (
            "serve the full chain: leaf then intermediates (nginx ssl_certificate fullchain.pem; "
            "Apache SSLCertificateChainFile)",
        ),
    ),
    CauseId.CERT_REVOKED: _(
        "cert",
        "OCSP or CRL says the certificate is revoked",
        ("do not connect; the key may be compromised",),
        ("issue and deploy a new certificate with a new key",),
    ),
    CauseId.CERT_WEAK: _(
        "cert",
        "SHA-1/MD5 signature, RSA key under 2048 bits, or another key or signature the client refuses",
        (
            "only as a stopgap for a legacy device: lower the client security level for this host "
            "(@SECLEVEL=1/0)",
        ),
        ("reissue the certificate with RSA >= 2048 or ECDSA P-256 and a SHA-256 signature",),
    ),
    CauseId.SERVER_IDLE_CLOSE: _(
        "server",
        "the connection works but the server closes it after a quiet period; a later write fails",
        (
            "set the client pool's keep-alive / idle timeout shorter than the server's (the time measured "
            "here), minus a margin",
            "retry idempotent requests once on a fresh connection after EPIPE/ECONNRESET",
            "validate pooled connections before reuse (a zero-byte read, or the pool's pre-ping option)",
        ),
        ("raise keepalive_timeout / idle timeout on the server and on any load balancer or NAT in front",),
    ),
    CauseId.CLIENT_CLOCK_SKEW: _(
        "client",
        "the local clock is off enough to break certificate validity checks",
        ("synchronise the clock (timedatectl set-ntp true; chronyc makestep); check the RTC battery",),
        ("nothing on the server",),
    ),
    CauseId.CLIENT_CA_STORE: _(
        "client",
        "the client's trust store is missing, stale or lacks the CA the server chains to",
        (
            "update the CA bundle (apt install --reinstall ca-certificates; pip install -U certifi); point "
            "the client at it (SSL_CERT_FILE, REQUESTS_CA_BUNDLE)",
        ),
        ("chain to a widely trusted root; avoid roots too new for old clients",),
    ),
    CauseId.CLIENT_TLS_POLICY: _(
        "client",
        "the client's own TLS policy (security level, minimum version) rejects what the server offers",
        (
            "for this legacy server only, relax the policy (OpenSSL CipherString @SECLEVEL=1, MinProtocol, "
            "Options UnsafeLegacyRenegotiation) and plan the server's upgrade",
        ),
        ("upgrade the server to TLS 1.2+, modern suites and a 2048-bit key",),
    ),
    CauseId.CLIENT_FD_EXHAUSTION: _(
        "client",
        "the process or host is out of file descriptors (EMFILE/ENFILE)",
        ("raise the limit (ulimit -n, systemd LimitNOFILE) and look for leaked sockets (`ls /proc/PID/fd`)",),
        ("nothing on the server",),
    ),
    CauseId.CLIENT_PORT_EXHAUSTION: _(
        "client",
        "ephemeral ports exhausted (EADDRNOTAVAIL), often many TIME_WAIT sockets",
        (
            "reuse connections (keep-alive, pooling); widen net.ipv4.ip_local_port_range; "
            "enable net.ipv4.tcp_tw_reuse",
        ),
        ("nothing on the server, unless it closes connections first on every request",),
    ),
    CauseId.CLIENT_WRITE_AFTER_CLOSE: _(
        "client",
        "the application writes to a connection the peer already closed (EPIPE)",
        ("detect closed pooled connections before reuse, retry idempotent requests on EPIPE/ECONNRESET",),
        ("align idle timeouts with clients; send Connection: close before closing",),
    ),
}
del _


def info(cause: CauseId) -> CauseInfo:
    """The fixed text of a cause."""
    return CAUSES[cause]
