"""Realistic error texts from TLS clients, shaped like the real output, with the expected causes.

``top``: the cause that must rank first with a "fault" verdict; or ``vague``: causes that
must all appear in the top 3 while the verdict stays "inconclusive" (< 0.5).

A self-signed root in the chain of a large public service (github.com, pypi.org, the npm
registry) means the certificate was replaced on the way: those samples expect interception
first, as the real reports of tests/corpus/explain confirm.
"""

# Real messages are long single lines; they are kept verbatim in shape.
# ruff: noqa: E501

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Sample:
    family: str
    name: str
    text: str
    top: str | None = None
    vague: tuple[str, ...] = ()
    target: str | None = None


S = Sample
CLIENT_SAMPLES = [
    # ------------------------------------------------------------------ openssl
    S(
        "openssl",
        "s_client-wrong-version",
        """\
$ openssl s_client -connect mail.example.org:25
CONNECTED(00000003)
140380580275520:error:1408F10B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:331:
---
no peer certificate available
""",
        top="server-not-tls",
    ),
    S(
        "openssl",
        "s_client-handshake-alert-40",
        """\
CONNECTED(00000003)
140736538149824:error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:ssl/record/rec_layer_s3.c:1544:SSL alert number 40
---
no peer certificate available
---
SSL handshake has read 7 bytes and written 289 bytes
""",
        vague=("cipher-mismatch", "protocol-mismatch"),
    ),
    S(
        "openssl",
        "openssl3-unsafe-reneg",
        """\
40C7E1F1A17F0000:error:0A000152:SSL routines:final_renegotiate:unsafe legacy renegotiation disabled:ssl/statem/extensions.c:893:
""",
        top="client-tls-policy",
    ),
    S(
        "openssl",
        "openssl3-dh-too-small",
        """\
4087A4C7B47F0000:error:0A00018A:SSL routines:tls_process_ske_dhe:dh key too small:../ssl/statem/statem_clnt.c:2100:
""",
        top="client-tls-policy",
    ),
    S(
        "openssl",
        "openssl3-ee-key",
        """\
depth=0 CN = legacy.internal
verify error:num=66:EE certificate key too weak
803B1CC8E57F0000:error:0A00018F:SSL routines:ssl_verify_cert_chain:ee key too small:../ssl/ssl_cert.c:441:
""",
        top="cert-weak",
    ),
    S(
        "openssl",
        "openssl3-protocol-version",
        """\
4067E1E3F27F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1586:SSL alert number 70
""",
        top="protocol-mismatch",
    ),
    S(
        "openssl",
        "openssl3-unrecognized-name",
        """\
C0D76AE2A07F0000:error:0A000458:SSL routines::tlsv1 unrecognized name:ssl/record/rec_layer_s3.c:1605:SSL alert number 112
""",
        top="sni-required",
    ),
    S(
        "openssl",
        "openssl3-certificate-required",
        """\
C0F7C2A1B07F0000:error:0A00045C:SSL routines::tlsv13 alert certificate required:ssl/record/rec_layer_s3.c:1605:SSL alert number 116
""",
        top="client-cert-required",
    ),
    # ------------------------------------------------------------------ curl
    S(
        "curl",
        "curl-reset",
        """\
*   Trying 93.184.216.34:443...
* Connected to example.com (93.184.216.34) port 443 (#0)
* TLSv1.3 (OUT), TLS handshake, Client hello (1):
* OpenSSL SSL_connect: Connection reset by peer in connection to example.com:443
* Closing connection 0
curl: (35) OpenSSL SSL_connect: Connection reset by peer in connection to example.com:443
""",
        vague=("firewall-reset", "server-closed", "clienthello-too-large"),
        target="example.com:443",
    ),
    S(
        "curl",
        "curl-syscall",
        """\
* TLSv1.3 (OUT), TLS handshake, Client hello (1):
* OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to api.internal.example:8443
* Closing connection 0
curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to api.internal.example:8443
""",
        vague=("server-closed", "firewall-reset"),
        target="api.internal.example:8443",
    ),
    S(
        "curl",
        "curl-expired",
        """\
* SSL certificate problem: certificate has expired
* Closing connection 0
curl: (60) SSL certificate problem: certificate has expired
More details here: https://curl.se/docs/sslcerts.html
""",
        top="cert-expired",
    ),
    S(
        "curl",
        "curl-proxy-407",
        """\
* Uses proxy env variable https_proxy == 'http://proxy.corp.example:3128'
*   Trying 10.1.2.3:3128...
* Connected to proxy.corp.example (10.1.2.3) port 3128 (#0)
* CONNECT tunnel: HTTP/1.1 negotiated
> CONNECT github.com:443 HTTP/1.1
< HTTP/1.1 407 Proxy Authentication Required
* Received HTTP code 407 from proxy after CONNECT
curl: (56) Received HTTP code 407 from proxy after CONNECT
""",
        top="proxy-error",
    ),
    S(
        "curl",
        "curl-schannel",
        """\
* schannel: failed to receive handshake, SSL/TLS connection failed
* Closing connection 0
curl: (35) schannel: failed to receive handshake, SSL/TLS connection failed
""",
        vague=("server-closed", "firewall-reset"),
    ),
    S(
        "curl",
        "curl-refused",
        """\
curl: (7) Failed to connect to localhost port 8443 after 0 ms: Connection refused
""",
        top="tcp-refused",
        target="localhost:8443",
    ),
    S(
        "curl",
        "curl-hostname",
        """\
* SSL: no alternative certificate subject name matches target host name 'www.example.net'
curl: (60) SSL: no alternative certificate subject name matches target host name 'www.example.net'
""",
        top="cert-hostname-mismatch",
        target="www.example.net:443",
    ),
    S(
        "curl",
        "curl-dns",
        "curl: (6) Could not resolve host: nosuchhost.example.invalid\n",
        vague=("dns-nxdomain", "dns-failure"),
    ),
    # ------------------------------------------------------------------ git
    S(
        "git",
        "git-gnutls-pull",
        """\
$ git clone https://gitlab.example.com/group/project.git
Cloning into 'project'...
fatal: unable to access 'https://gitlab.example.com/group/project.git/': gnutls_handshake() failed: Error in the pull function.
""",
        vague=("firewall-reset", "server-closed"),
        target="gitlab.example.com:443",
    ),
    S(
        "git",
        "git-cafile",
        """\
fatal: unable to access 'https://git.corp.example/infra/tools.git/': server certificate verification failed. CAfile: none CRLfile: none
""",
        vague=("client-ca-store", "cert-chain-incomplete", "tls-interception"),
    ),
    S(
        "git",
        "git-rpc-56",
        """\
error: RPC failed; curl 56 GnuTLS recv error (-54): Error in the pull function.
fatal: early EOF
fatal: fetch-pack: invalid index-pack output
""",
        vague=("firewall-reset", "network-unstable"),
    ),
    S(
        "git",
        "git-windows-10054",
        """\
fatal: unable to access 'https://github.com/org/repo.git/': OpenSSL SSL_read: Connection was reset, errno 10054
""",
        vague=("firewall-reset", "server-closed"),
    ),
    S(
        "git",
        "git-self-signed-chain",
        """\
fatal: unable to access 'https://github.com/org/repo.git/': SSL certificate problem: self-signed certificate in certificate chain
""",
        top="tls-interception",
    ),
    # ------------------------------------------------------------------ python
    S(
        "python",
        "requests-eof",
        """\
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/urllib3/connectionpool.py", line 703, in urlopen
    httplib_response = self._make_request(
ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:1129)

During handling of the above exception, another exception occurred:

requests.exceptions.SSLError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: /v1/items (Caused by SSLError(SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:1129)')))
""",
        vague=("server-closed", "firewall-reset", "clienthello-too-large"),
        target="api.example.com:443",
    ),
    S(
        "python",
        "python-verify-local-issuer",
        """\
urllib3.exceptions.MaxRetryError: HTTPSConnectionPool(host='internal.example.com', port=8443): Max retries exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))
""",
        vague=("cert-chain-incomplete", "client-ca-store"),
        target="internal.example.com:8443",
    ),
    S(
        "python",
        "python-hostname",
        """\
ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'db.example.com'. (_ssl.c:1006)
""",
        top="cert-hostname-mismatch",
        target="db.example.com:443",
    ),
    S(
        "python",
        "python-reset-linux",
        """\
Traceback (most recent call last):
  File "/home/app/venv/lib/python3.11/site-packages/httpx/_transports/default.py", line 69, in map_httpcore_exceptions
ConnectionResetError: [Errno 104] Connection reset by peer
""",
        vague=("firewall-reset", "server-closed", "clienthello-too-large"),
    ),
    S(
        "python",
        "python-proxy-407",
        """\
requests.exceptions.ProxyError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded with url: /simple/ (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 407 Proxy Authentication Required')))
""",
        top="proxy-error",
        target="pypi.org:443",
    ),
    S(
        "python",
        "python-zero-return",
        """\
ssl.SSLZeroReturnError: TLS/SSL connection has been closed (EOF) (_ssl.c:1131)
""",
        vague=("server-closed", "server-idle-close"),
    ),
    S("python", "python-fd", "OSError: [Errno 24] Too many open files\n", top="client-fd-exhaustion"),
    # ------------------------------------------------------------------ pip
    S(
        "pip",
        "pip-confirm-ssl",
        """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)'))': /simple/requests/
Could not fetch URL https://pypi.org/simple/requests/: There was a problem confirming the ssl certificate: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded with url: /simple/requests/ (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)'))) - skipping
ERROR: Could not find a version that satisfies the requirement requests (from versions: none)
ERROR: No matching distribution found for requests
""",
        top="tls-interception",
        target="pypi.org:443",
    ),
    S(
        "pip",
        "pip-eof",
        """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'SSLError(SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:1131)'))': /simple/numpy/
Could not fetch URL https://pypi.org/simple/numpy/: There was a problem confirming the ssl certificate: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded with url: /simple/numpy/ (Caused by SSLError(SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:1131)'))) - skipping
""",
        vague=("server-closed", "tls-interception"),
    ),
    S(
        "pip",
        "pip-proxy",
        """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 403 Forbidden'))': /simple/flask/
ERROR: Could not find a version that satisfies the requirement flask (from versions: none)
""",
        top="proxy-error",
    ),
    # ------------------------------------------------------------------ node
    S(
        "node",
        "node-econnreset",
        """\
Error: read ECONNRESET
    at TLSWrap.onStreamRead (node:internal/stream_base_commons:217:20) {
  errno: -104,
  code: 'ECONNRESET',
  syscall: 'read'
}
""",
        vague=("firewall-reset", "server-closed", "clienthello-too-large"),
    ),
    S(
        "node",
        "node-eproto-wrong-version",
        """\
Error: write EPROTO 140353386989440:error:1408F10B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:332:

    at WriteWrap.onWriteComplete [as oncomplete] (node:internal/stream_base_commons:94:16) {
  errno: -71,
  code: 'EPROTO',
  syscall: 'write'
}
""",
        top="server-not-tls",
    ),
    S(
        "node",
        "node-leaf-signature",
        """\
Error: unable to verify the first certificate
    at TLSSocket.onConnectSecure (node:_tls_wrap:1674:34)
    at TLSSocket.emit (node:events:517:28) {
  code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
}
""",
        top="cert-chain-incomplete",
    ),
    S(
        "node",
        "node-altname",
        """\
Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: api.example.com. is not in the cert's altnames: DNS:*.example.net, DNS:example.net
    at Object.checkServerIdentity (node:tls:316:12) {
  reason: "Host: api.example.com. is not in the cert's altnames: DNS:*.example.net, DNS:example.net",
  host: 'api.example.com',
  code: 'ERR_TLS_CERT_ALTNAME_INVALID'
}
""",
        top="cert-hostname-mismatch",
        target="api.example.com:443",
    ),
    S(
        "node",
        "node-depth-zero",
        """\
FetchError: request to https://localhost:8443/health failed, reason: self-signed certificate
  code: 'DEPTH_ZERO_SELF_SIGNED_CERT'
""",
        top="cert-untrusted",
        target="localhost:8443",
    ),
    S(
        "node",
        "node-disconnected",
        """\
Error: Client network socket disconnected before secure TLS connection was established
    at connResetException (node:internal/errors:720:14)
    at TLSSocket.onConnectEnd (node:_tls_wrap:1655:19) {
  code: 'ECONNRESET',
  path: undefined,
  host: 'registry.npmjs.org',
  port: 443,
}
""",
        vague=("server-closed", "firewall-reset"),
    ),
    S(
        "node",
        "npm-self-signed",
        """\
npm ERR! code SELF_SIGNED_CERT_IN_CHAIN
npm ERR! errno SELF_SIGNED_CERT_IN_CHAIN
npm ERR! request to https://registry.npmjs.org/express failed, reason: self-signed certificate in certificate chain
""",
        top="tls-interception",
        target="registry.npmjs.org:443",
    ),
    # ------------------------------------------------------------------ go
    S(
        "go",
        "go-not-tls",
        """\
Get "https://10.0.0.5:8080/metrics": http: server gave HTTP response to HTTPS client
""",
        top="server-not-tls",
        target="10.0.0.5:8080",
    ),
    S(
        "go",
        "go-first-record",
        """\
2024/05/01 10:00:00 tls: first record does not look like a TLS handshake
""",
        top="server-not-tls",
    ),
    S(
        "go",
        "go-unknown-authority",
        """\
Error response from daemon: Get "https://registry.corp.example/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority
""",
        top="cert-untrusted",
        target="registry.corp.example:443",
    ),
    S(
        "go",
        "go-expired",
        """\
Get "https://old.example.com/": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2024-05-01T10:00:00Z is after 2024-03-01T23:59:59Z
""",
        top="cert-expired",
    ),
    S(
        "go",
        "go-valid-for",
        """\
x509: certificate is valid for ingress.local, not grafana.example.com
""",
        top="cert-hostname-mismatch",
        target="grafana.example.com:443",
    ),
    S(
        "go",
        "go-reset",
        """\
read tcp 10.0.0.2:51234->93.184.216.34:443: read: connection reset by peer
""",
        vague=("firewall-reset", "server-closed"),
        target="93.184.216.34:443",
    ),
    S(
        "go",
        "go-timeout",
        """\
dial tcp 203.0.113.7:443: i/o timeout
""",
        vague=("tcp-timeout", "firewall-drop"),
        target="203.0.113.7:443",
    ),
    S(
        "go",
        "go-handshake-failure",
        """\
remote error: tls: handshake failure
""",
        vague=("cipher-mismatch", "protocol-mismatch"),
    ),
    S(
        "go",
        "go-no-versions",
        "tls: no supported versions satisfy MinVersion and MaxVersion\n",
        top="client-tls-policy",
    ),
    # ------------------------------------------------------------------ wget, docker
    S(
        "wget",
        "wget-local-issuer",
        """\
--2024-05-01 10:00:00--  https://downloads.example.org/tool.tar.gz
Resolving downloads.example.org (downloads.example.org)... 198.51.100.30
Connecting to downloads.example.org (downloads.example.org)|198.51.100.30|:443... connected.
ERROR: cannot verify downloads.example.org's certificate, issued by 'CN=R3,O=Let's Encrypt,C=US':
  Unable to locally verify the issuer's authority.
To connect to downloads.example.org insecurely, use `--no-check-certificate'.
""",
        vague=("cert-chain-incomplete", "client-ca-store"),
        target="downloads.example.org:443",
    ),
    S(
        "wget",
        "wget-gnutls-eof",
        """\
GnuTLS: The TLS connection was non-properly terminated.
Unable to establish SSL connection.
""",
        vague=("server-closed", "firewall-reset"),
    ),
    S(
        "go",
        "docker-awaiting-headers",
        """\
Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)
""",
        vague=("proxy-required", "server-overloaded", "firewall-drop"),
        target="registry-1.docker.io:443",
    ),
]
