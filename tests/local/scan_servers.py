"""Real TLS servers for the scan tests: ``openssl s_server`` and Debian's nginx (tlsdoctor.testing.nginx)
configured for a scan, started on 127.0.0.1 and stopped by PID; the ground truth for a cipher string
comes from ``openssl ciphers -s -v -stdname`` for the same string and version."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from tlsdoctor.testing import LeafSpec, Pki
from tlsdoctor.testing.nginx import NGINX, Site, running
from tlsdoctor.testing.processes import free_port, serving, talk

__all__ = ["NGINX", "OPENSSL", "Certs", "ground_truth", "nginx", "resuming_with_early_data", "s_server"]

OPENSSL = shutil.which("openssl")
VERSION_FLAG = {"TLSv1.0": "-tls1", "TLSv1.1": "-tls1_1", "TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}


class Certs:
    """An RSA and an ECDSA leaf for localhost from tlsdoctor.testing's PKI (root, intermediate)."""

    def __init__(self, pki: Pki) -> None:
        rsa = pki.issue("scan-rsa", LeafSpec(key_type="rsa2048"))
        ec = pki.issue("scan-ecdsa", LeafSpec(key_type="ec256"))
        self.ca_file = rsa.ca_file
        self.files: dict[str, tuple[Path, Path]] = {
            "RSA": (rsa.chain_file, rsa.key_file),
            "ECDSA": (ec.chain_file, ec.key_file),
        }
        # s_server sends only the first certificate of -cert; the rest goes in -cert_chain.
        self.extra: dict[str, Path] = {}
        for kind, files in (("RSA", rsa), ("ECDSA", ec)):
            pem = files.chain_file.read_bytes()
            cut = pem.index(b"-----BEGIN CERTIFICATE-----", 1)
            self.extra[kind] = files.chain_file.with_suffix(".rest.pem")
            self.extra[kind].write_bytes(pem[cut:])


@contextlib.contextmanager
def s_server(certs: Certs, args: Sequence[str], *, ecdsa: bool = False) -> Iterator[int]:
    """``openssl s_server`` with the RSA leaf (and the ECDSA one as -dcert) and ``args``."""
    assert OPENSSL is not None
    port = free_port()
    rsa_cert, rsa_key = certs.files["RSA"]
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(rsa_cert), "-key", str(rsa_key),
           "-cert_chain", str(certs.extra["RSA"]), "-quiet", "-naccept", "100000", *args]  # fmt: skip
    if ecdsa:
        ec_cert, ec_key = certs.files["ECDSA"]
        cmd += ["-dcert", str(ec_cert), "-dkey", str(ec_key), "-dcert_chain", str(certs.extra["ECDSA"])]
    with serving(cmd, port, "openssl s_server"):
        yield port


@contextlib.contextmanager
def resuming_with_early_data(
    directory: Path, cert: Path, key: Path, *args: str
) -> Iterator[tuple[int, list[str]]]:
    """``openssl s_server`` taking TLS 1.3 early data (``args``: more options, such as -cert_chain), once
    an ``s_client`` has connected and saved its session: yields the port and the argv of an s_client that
    resumes that session sending ``GET /early`` as 0-RTT data (RFC 8446 §4.2.10). Type into it with
    tlsdoctor.testing.processes.talk; a line ``k`` makes it send a KeyUpdate."""
    assert OPENSSL is not None
    port = free_port()
    session, early = directory / "session.pem", directory / "early.txt"
    early.write_bytes(b"GET /early HTTP/1.0\r\n\r\n")
    client = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"]
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
           "-early_data", "-tls1_3", "-naccept", "3", *args]  # fmt: skip
    # stdin a pipe: s_server reads commands from it, and must not see end of input while it serves
    with serving(cmd, port, "openssl s_server", stdin=subprocess.PIPE):  # the wait takes 1 of 3 accepts
        talk([*client, "-sess_out", str(session)], b"first\n")
        yield port, [*client, "-sess_in", str(session), "-early_data", str(early)]


@contextlib.contextmanager
def nginx(
    certs: Certs,
    directory: Path,
    *,
    protocols: str,
    ciphers: str,
    curves: str,
    prefer: bool,
    ecdsa: bool = False,
    directives: str = "",
) -> Iterator[int]:
    """nginx (HTTP/2 on) with this TLS configuration (and ``directives`` in its server block, such as
    ``keepalive_timeout 1s;``)."""
    rsa_cert, rsa_key = certs.files["RSA"]
    tls = []
    if ecdsa:
        ec_cert, ec_key = certs.files["ECDSA"]
        tls.append(f"ssl_certificate {ec_cert}; ssl_certificate_key {ec_key};")
    if directives:
        tls.append(directives)
    tls += [f"ssl_protocols {protocols};", f"ssl_ciphers '{ciphers}';", f"ssl_ecdh_curve {curves};",
            f"ssl_prefer_server_ciphers {'on' if prefer else 'off'};"]  # fmt: skip
    with running(
        directory, Site(cert=rsa_cert, key=rsa_key, tls="\n    ".join(tls), listen=" http2")
    ) as port:
        yield port


def ground_truth(cipher_string: str, version: str, ciphersuites: str | None = None) -> list[str]:
    """IANA names OpenSSL would negotiate for ``cipher_string`` at ``version``, in its order."""
    assert OPENSSL is not None
    cmd = [OPENSSL, "ciphers", "-s", "-v", "-stdname", VERSION_FLAG[version]]
    if ciphersuites is not None:
        cmd += ["-ciphersuites", ciphersuites]
    out = subprocess.run([*cmd, cipher_string], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]
