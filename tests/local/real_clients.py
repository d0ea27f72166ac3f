"""The real clients installed here, connected to a server to learn what they negotiate: the ground
truth the client simulation (clientsim/) is held to. Each returns (connected, version, IANA suite)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

from tlsdoctor.wire.registry import suite_by_name

Outcome = tuple[bool, str | None, str | None]
JAVA25 = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
JAVA_SOURCE = """
import javax.net.ssl.*;
import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.cert.*;
import java.util.List;
public class Probe {
    public static void main(String[] a) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        for (Certificate c : cf.generateCertificates(new FileInputStream(a[1])))
            ks.setCertificateEntry("ca" + i++, c);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", Integer.parseInt(a[0]));
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("localhost")));
        s.setSSLParameters(p);
        try {
            s.startHandshake();
            System.out.println("OK " + s.getSession().getProtocol() + " " + s.getSession().getCipherSuite());
        } catch (Exception e) {
            System.out.println("FAIL " + e);
        }
    }
}
"""

_VERSION = {"TLSv1": "TLSv1.0", "TLSv1.0": "TLSv1.0", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2",
            "TLSv1.3": "TLSv1.3"}  # fmt: skip


def _iana(name: str) -> str | None:
    info = suite_by_name(name)
    return info.iana_name if info else name


def python_client(port: int, ca: Path, tmp: Path) -> Outcome:
    """This interpreter's ssl with the default context: the recording behind python-openssl3."""
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            cipher = tls.cipher()
            return True, _VERSION.get(tls.version() or ""), _iana(cipher[0]) if cipher else None
    except (OSError, ssl.SSLError):
        return False, None, None


def curl_client(port: int, ca: Path, tmp: Path) -> Outcome:
    done = subprocess.run(
        ["curl", "-sv", "--max-time", "5", "--cacert", str(ca), "--resolve", f"localhost:{port}:127.0.0.1",
         f"https://localhost:{port}/"],
        capture_output=True, text=True, timeout=15,
    )  # fmt: skip
    m = re.search(r"SSL connection using (\S+) / (\S+)", done.stderr)
    if m is None:
        return False, None, None
    return True, _VERSION.get(m.group(1)), _iana(m.group(2))


NODE_SOURCE = """
const tls = require('tls'), fs = require('fs');
const s = tls.connect({host: '127.0.0.1', port: +process.argv[1], servername: 'localhost',
                       ca: fs.readFileSync(process.argv[2])}, () => {
  console.log('OK ' + s.getProtocol() + ' ' + s.getCipher().standardName); s.destroy(); });
s.on('error', (e) => { console.log('FAIL ' + e.message); });
"""


def node_client(port: int, ca: Path, tmp: Path) -> Outcome:
    done = subprocess.run(
        ["node", "-e", NODE_SOURCE, str(port), str(ca)], capture_output=True, text=True, timeout=15
    )
    m = re.search(r"OK (\S+) (\S+)", done.stdout)
    return (True, _VERSION.get(m.group(1)), m.group(2)) if m else (False, None, None)


def java25_client(port: int, ca: Path, tmp: Path) -> Outcome:
    source = tmp / "Probe.java"
    source.write_text(JAVA_SOURCE)
    done = subprocess.run(
        [JAVA25, str(source), str(port), str(ca)], capture_output=True, text=True, timeout=60
    )
    m = re.search(r"OK (\S+) (\S+)", done.stdout)
    return (True, _VERSION.get(m.group(1)), m.group(2)) if m else (False, None, None)


# OpenSSL 1.1.1 (cryptography 3.4.8's wheel) configured as CPython 3.9's ssl does, through pyOpenSSL:
# the recording behind python-openssl111. scripts/test.sh makes this venv; TLSDOCTOR_PY111 names another.
PY111 = os.environ.get("TLSDOCTOR_PY111") or str(
    Path(__file__).resolve().parents[2] / ".venv-py111" / "bin" / "python"
)
PY111_SOURCE = """
import socket, sys
from OpenSSL import SSL
lib = SSL._lib
c = SSL.Context(SSL.SSLv23_METHOD)
c.set_options((lib.SSL_OP_ALL & ~lib.SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS) | lib.SSL_OP_NO_SSLv2
              | lib.SSL_OP_NO_SSLv3 | lib.SSL_OP_NO_COMPRESSION | lib.SSL_OP_CIPHER_SERVER_PREFERENCE
              | lib.SSL_OP_SINGLE_DH_USE | lib.SSL_OP_SINGLE_ECDH_USE)
c.set_cipher_list(b"DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK")
c.load_verify_locations(sys.argv[2].encode())
c.set_verify(SSL.VERIFY_PEER, lambda conn, cert, err, depth, ok: ok)
t = SSL.Connection(c, socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
lib.X509_VERIFY_PARAM_set1_host(lib.SSL_get0_param(t._ssl), b"localhost", 9)  # check_hostname
t.set_tlsext_host_name(b"localhost")
t.set_connect_state()
try:
    t.do_handshake()
    print("OK", t.get_protocol_version_name(), t.get_cipher_name())
except Exception as e:
    print("FAIL", e)
"""


def python111_client(port: int, ca: Path, tmp: Path) -> Outcome:
    done = subprocess.run([PY111, "-c", PY111_SOURCE, str(port), str(ca)], capture_output=True, text=True,
                          timeout=15)  # fmt: skip
    m = re.search(r"OK (\S+) (\S+)", done.stdout)
    return (True, _VERSION.get(m.group(1)), _iana(m.group(2))) if m else (False, None, None)


# profile name -> (the program it needs, how to run it)
REAL_CLIENTS: dict[str, tuple[str, Callable[[int, Path, Path], Outcome]]] = {
    "python-openssl3": ("python3", python_client),
    "curl": ("curl", curl_client),
    "node20": ("node", node_client),
    "java25": (JAVA25, java25_client),
    "python-openssl111": (PY111, python111_client),
}


def installed(profile: str) -> bool:
    program = REAL_CLIENTS[profile][0]
    return shutil.which(program) is not None or Path(program).exists()
