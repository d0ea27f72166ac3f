"""Realistic error texts from Java, .NET, GnuTLS, server logs and psql, with the expected causes."""

# Real messages are long single lines; they are kept verbatim in shape.
# ruff: noqa: E501

from __future__ import annotations

from explain_samples_clients import Sample as S

SERVER_SAMPLES = [
    # ------------------------------------------------------------------ java
    S(
        "java",
        "java-pkix",
        """\
javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target
	at java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)
	at java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:371)
Caused by: sun.security.validator.ValidatorException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target
	at java.base/sun.security.validator.PKIXValidator.doBuild(PKIXValidator.java:439)
""",
        vague=("cert-untrusted", "client-ca-store", "tls-interception"),
    ),
    S(
        "java",
        "java-remote-terminated",
        """\
javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake
	at java.base/sun.security.ssl.SSLSocketImpl.handleEOF(SSLSocketImpl.java:1714)
	at java.base/sun.security.ssl.SSLSocketImpl.decode(SSLSocketImpl.java:1514)
Caused by: java.io.EOFException: SSL peer shut down incorrectly
	at java.base/sun.security.ssl.SSLSocketInputRecord.read(SSLSocketInputRecord.java:489)
""",
        vague=("server-closed", "protocol-mismatch", "firewall-reset"),
    ),
    S(
        "java",
        "java-no-appropriate-protocol",
        """\
javax.net.ssl.SSLHandshakeException: No appropriate protocol (protocol is disabled or cipher suites are inappropriate)
	at java.base/sun.security.ssl.HandshakeContext.<init>(HandshakeContext.java:170)
""",
        top="client-tls-policy",
    ),
    S(
        "java",
        "java-alert-handshake-failure",
        """\
javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure
	at java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)
	at java.base/sun.security.ssl.Alert$AlertConsumer.consume(Alert.java:330)
""",
        vague=("cipher-mismatch", "protocol-mismatch"),
    ),
    S(
        "java",
        "java-connection-reset",
        """\
javax.net.ssl.SSLException: Connection reset
	at java.base/sun.security.ssl.Alert.createSSLException(Alert.java:127)
Caused by: java.net.SocketException: Connection reset
	at java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:323)
""",
        vague=("firewall-reset", "server-closed"),
    ),
    S(
        "java",
        "java-no-san",
        """\
javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching api.partner.example found.
	at java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)
Caused by: java.security.cert.CertificateException: No subject alternative DNS name matching api.partner.example found.
""",
        top="cert-hostname-mismatch",
        target="api.partner.example:443",
    ),
    S(
        "java",
        "java-expired",
        """\
javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed
Caused by: java.security.cert.CertificateExpiredException: NotAfter: Sat Mar 02 23:59:59 UTC 2024
""",
        top="cert-expired",
    ),
    # ------------------------------------------------------------------ dotnet
    S(
        "dotnet",
        "dotnet-remote-cert-invalid",
        """\
System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.
 ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure: RemoteCertificateNameMismatch
   at System.Net.Security.SslStream.SendAuthResetSignal(ProtocolToken message, ExceptionDispatchInfo exception)
""",
        top="cert-hostname-mismatch",
    ),
    S(
        "dotnet",
        "dotnet-closed-transport",
        """\
System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.
 ---> System.IO.IOException: Authentication failed because the remote party has closed the transport stream.
   at System.Net.Security.SslStream.ReceiveBlobAsync[TIOAdapter](CancellationToken cancellationToken)
""",
        vague=("server-closed", "protocol-mismatch"),
    ),
    S(
        "dotnet",
        "dotnet-forcibly-closed",
        """\
System.IO.IOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host..
 ---> System.Net.Sockets.SocketException (10054): An existing connection was forcibly closed by the remote host.
""",
        vague=("firewall-reset", "server-closed"),
    ),
    S(
        "dotnet",
        "schannel-algorithm-mismatch",
        """\
System.ComponentModel.Win32Exception (0x80090331): The client and server cannot communicate, because they do not possess a common algorithm.
""",
        top="protocol-mismatch",
    ),
    S(
        "dotnet",
        "schannel-untrusted-root",
        """\
curl: (60) schannel: SEC_E_UNTRUSTED_ROOT (0x80090325) - The certificate chain was issued by an authority that is not trusted.
""",
        top="cert-untrusted",
    ),
    S(
        "dotnet",
        "schannel-revocation",
        """\
curl: (35) schannel: next InitializeSecurityContext failed: Unknown error (0x80092012) - The revocation function was unable to check revocation for the certificate.
""",
        vague=("client-tls-policy", "tls-interception"),
    ),
    # ------------------------------------------------------------------ gnutls
    S(
        "gnutls",
        "gnutls-cli-premature",
        """\
Processed 140 CA certificate(s).
Resolving 'mirror.example.org:443'...
Connecting to '198.51.100.20:443'...
*** Fatal error: The TLS connection was non-properly terminated.
""",
        vague=("server-closed", "firewall-reset"),
    ),
    S(
        "gnutls",
        "gnutls-unexpected-length",
        """\
E: Failed to fetch https://apt.example.org/dists/stable/InRelease  GnuTLS recv error (-9): A TLS packet with unexpected length was received.
""",
        vague=("server-not-tls", "proxy-error"),
        target="apt.example.org:443",
    ),
    S(
        "gnutls",
        "gnutls-expired",
        """\
- Status: The certificate is NOT trusted. The certificate chain uses expired certificate.
*** PKI verification of server certificate failed...
*** Fatal error: Error in the certificate.
""",
        top="cert-expired",
    ),
    S(
        "gnutls",
        "gnutls-alert",
        """\
*** Fatal error: A TLS fatal alert has been received.
*** Received alert [70]: Error in protocol version
""",
        top="protocol-mismatch",
    ),
    # ------------------------------------------------------------------ nginx
    S(
        "nginx",
        "nginx-bad-key-share",
        """\
2024/05/01 10:00:00 [crit] 1234#1234: *5 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 198.51.100.7, server: 0.0.0.0:443
""",
        vague=("cipher-mismatch", "clienthello-too-large"),
    ),
    S(
        "nginx",
        "nginx-peer-closed",
        """\
2024/05/01 10:00:01 [info] 1234#1234: *9 peer closed connection in SSL handshake while SSL handshaking, client: 203.0.113.50, server: 0.0.0.0:443
""",
        vague=("cert-untrusted", "cert-chain-incomplete"),
    ),
    S(
        "nginx",
        "nginx-client-rejects-cert",
        """\
2024/05/01 10:00:02 [info] 1234#1234: *12 SSL_do_handshake() failed (SSL: error:14094412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:SSL alert number 42) while SSL handshaking, client: 203.0.113.51, server: 0.0.0.0:443
""",
        vague=("cert-chain-incomplete", "cert-untrusted"),
    ),
    S(
        "nginx",
        "nginx-no-certificate",
        """\
2024/05/01 10:00:03 [error] 1234#1234: *15 no "ssl_certificate" is defined in server listening on SSL port while SSL handshaking, client: 192.0.2.10, server: 0.0.0.0:443
""",
        top="server-closed",
    ),
    S(
        "nginx",
        "nginx-unsupported-protocol",
        """\
2024/05/01 10:00:04 [info] 1234#1234: *18 SSL_do_handshake() failed (SSL: error:0A000102:SSL routines::unsupported protocol) while SSL handshaking, client: 192.0.2.11, server: 0.0.0.0:443
""",
        top="protocol-mismatch",
    ),
    # ------------------------------------------------------------------ haproxy
    S(
        "haproxy",
        "haproxy-handshake-failure",
        """\
May  1 10:00:00 lb1 haproxy[4242]: 198.51.100.9:51234 [01/May/2024:10:00:00.123] fe_https/1: SSL handshake failure
""",
        vague=("protocol-mismatch", "cipher-mismatch"),
    ),
    S(
        "haproxy",
        "haproxy-closed",
        """\
May  1 10:00:01 lb1 haproxy[4242]: 198.51.100.9:51240 [01/May/2024:10:00:01.456] fe_https/1: Connection closed during SSL handshake
""",
        vague=("cert-untrusted", "cert-chain-incomplete"),
    ),
    S(
        "haproxy",
        "haproxy-no-shared-cipher",
        """\
May  1 10:00:02 lb1 haproxy[4242]: 198.51.100.9:51250 [01/May/2024:10:00:02.789] fe_https/1: SSL handshake failure (error:0A0000C1:SSL routines::no shared cipher)
""",
        top="cipher-mismatch",
    ),
    # ------------------------------------------------------------------ apache
    S(
        "apache",
        "apache-client-cert-verify",
        """\
[Wed May 01 10:00:00.123456 2024] [ssl:info] [pid 2345:tid 140] [client 192.0.2.20:50123] AH02039: Certificate Verification: Error (20): unable to get local issuer certificate
""",
        top="client-cert-required",
    ),
    S(
        "apache",
        "apache-no-sni",
        """\
[Wed May 01 10:00:01.000000 2024] [ssl:error] [pid 2345:tid 141] AH02033: No hostname was provided via SNI for a name based virtual host
""",
        top="sni-required",
    ),
    S(
        "apache",
        "apache-http-request",
        """\
[Wed May 01 10:00:02.000000 2024] [ssl:info] [pid 2345:tid 142] SSL Library Error: error:1407609C:SSL routines:SSL23_GET_CLIENT_HELLO:http request -- speaking HTTP to HTTPS port!?
""",
        vague=("server-not-tls",),
    ),
    # ------------------------------------------------------------------ psql
    S(
        "psql",
        "psql-syscall-eof",
        """\
psql: error: connection to server at "db.example.com" (10.0.0.5), port 5432 failed: SSL SYSCALL error: EOF detected
""",
        vague=("server-closed", "server-idle-close"),
        target="db.example.com:5432",
    ),
    S(
        "psql",
        "psql-no-ssl",
        """\
psql: error: connection to server at "10.0.0.5", port 5432 failed: server does not support SSL, but SSL was required
""",
        top="server-not-tls",
    ),
    S(
        "psql",
        "psql-refused",
        """\
psql: could not connect to server: Connection refused
	Is the server running on host "db.internal.example" (10.0.0.6) and accepting
	TCP/IP connections on port 5432?
""",
        top="tcp-refused",
        target="db.internal.example:5432",
    ),
    # ------------------------------------------------------------------ alert numbers alone
    S("alert", "alert-number-70", "SSL routines: received alert number 70\n", top="protocol-mismatch"),
    S(
        "alert",
        "alert-48-received",
        """\
ssl.SSLError: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1006)
""",
        top="client-cert-required",
    ),
    S("alert", "alert-112-go", "remote error: tls: unrecognized name\n", top="sni-required"),
]
