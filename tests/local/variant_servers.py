"""Servers this project did not write, configured the way real deployments get it wrong:
``openssl s_server`` and Debian's nginx, with certificates made by the ``openssl`` command line
(its default extensions, not tlsdoctor.testing's PKI). Started on 127.0.0.1, stopped by PID.

Used by the handshake-variant tests (test_variants_independent.py) and by hand:
``python tests/local/variant_servers.py CASE`` prints ``PORT CA_FILE`` and serves until killed.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from scan_servers import NGINX, OPENSSL

from tlsdoctor.testing.nginx import Site, running
from tlsdoctor.testing.processes import free_port, serving

__all__ = ["NGINX", "OPENSSL", "OpensslPki", "cases", "nginx", "s_server"]


class OpensslPki:
    """A root CA and an RSA-2048 leaf for localhost/127.0.0.1, made by ``openssl req``/``x509``."""

    def __init__(self, directory: Path) -> None:
        assert OPENSSL is not None
        self.dir = directory
        self.ca_file = directory / "ca.pem"
        self.ca_key = directory / "ca.key"
        self.cert = directory / "leaf.pem"
        self.key = directory / "leaf.key"
        run = [
            OPENSSL,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=Variants Test Root",
        ]
        subprocess.run(
            [*run, "-keyout", str(self.ca_key), "-out", str(self.ca_file)], check=True, capture_output=True
        )
        csr = directory / "leaf.csr"
        subprocess.run(
            [
                OPENSSL,
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(self.key),
                "-out",
                str(csr),
            ],
            check=True,
            capture_output=True,
        )
        ext = directory / "leaf.ext"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        subprocess.run(
            [
                OPENSSL,
                "x509",
                "-req",
                "-in",
                str(csr),
                "-CA",
                str(self.ca_file),
                "-CAkey",
                str(self.ca_key),
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                str(ext),
                "-out",
                str(self.cert),
            ],
            check=True,
            capture_output=True,
        )

    def dhparam(self, bits: int) -> Path:
        """DH parameters of ``bits`` (1024: what Logjam-era servers still carry)."""
        assert OPENSSL is not None
        path = self.dir / f"dh{bits}.pem"
        if not path.exists():
            subprocess.run(
                [OPENSSL, "dhparam", "-out", str(path), str(bits)], check=True, capture_output=True
            )
        return path


@contextlib.contextmanager
def s_server(pki: OpensslPki, args: Sequence[str]) -> Iterator[int]:
    """``openssl s_server`` with the leaf and ``args``; yields the port."""
    assert OPENSSL is not None
    port = free_port()
    cmd = [
        OPENSSL,
        "s_server",
        "-accept",
        f"127.0.0.1:{port}",
        "-cert",
        str(pki.cert),
        "-key",
        str(pki.key),
        "-quiet",
        "-naccept",
        "100000",
        *args,
    ]
    with serving(cmd, port, "openssl s_server"):
        yield port


@contextlib.contextmanager
def nginx(pki: OpensslPki, tls: str) -> Iterator[int]:
    """Debian's nginx in the foreground, one process, with ``tls`` (nginx directives) in its server."""
    directory = Path(tempfile.mkdtemp(prefix="nginx-", dir=pki.dir))
    with running(directory, Site(cert=pki.cert, key=pki.key, tls=tls)) as port:
        yield port


def cases(pki: OpensslPki) -> dict[str, contextlib.AbstractContextManager[int]]:
    """The named server configurations, each a context manager yielding its port."""
    low = "@SECLEVEL=0"
    return {
        "healthy": s_server(pki, []),
        "tls12-aes128-sha": s_server(pki, ["-tls1_2", "-cipher", "AES128-SHA"]),
        "nginx-aes128-sha-tls10-12": nginx(
            pki, f"ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers 'AES128-SHA:{low}';"
        ),
        "tls10-only": s_server(pki, ["-tls1", "-cipher", f"DEFAULT:{low}"]),
        "nginx-tls10-only": nginx(pki, f"ssl_protocols TLSv1; ssl_ciphers 'HIGH:{low}';"),
        "dhe1024": s_server(
            pki,
            ["-tls1_2", "-cipher", f"DHE-RSA-AES128-GCM-SHA256:{low}", "-dhparam", str(pki.dhparam(1024))],
        ),
        "nginx-dhe1024": nginx(
            pki,
            f"ssl_protocols TLSv1.2; ssl_ciphers 'DHE-RSA-AES128-GCM-SHA256:{low}'; "
            f"ssl_dhparam {pki.dhparam(1024)};",
        ),
        "null-only": s_server(pki, ["-tls1_2", "-cipher", f"NULL-SHA256:{low}"]),
        "tls13-ccm8": s_server(pki, ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256"]),
        "ffdhe-only": s_server(pki, ["-groups", "ffdhe2048"]),
        "brainpool-only": s_server(
            pki, ["-tls1_2", "-groups", "brainpoolP256r1", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]
        ),
        "tls13-ffdhe-only": s_server(pki, ["-tls1_3", "-groups", "ffdhe2048"]),
        "sigalg-sha1-only": s_server(
            pki, ["-tls1_2", "-sigalgs", "RSA+SHA1", "-cipher", f"ECDHE-RSA-AES128-GCM-SHA256:{low}"]
        ),
        "tls13-pss-pss-only": s_server(pki, ["-tls1_3", "-sigalgs", "rsa_pss_pss_sha256"]),
        "nginx-verify-client": nginx(pki, f"ssl_verify_client on; ssl_client_certificate {pki.ca_file};"),
        "nginx13-verify-client": nginx(
            pki, f"ssl_protocols TLSv1.3; ssl_verify_client on; ssl_client_certificate {pki.ca_file};"
        ),
    }


def main() -> None:
    import signal
    import threading

    directory = Path(tempfile.mkdtemp(prefix="variants-"))
    pki = OpensslPki(directory)
    with cases(pki)[sys.argv[1]] as port:
        print(port, pki.ca_file, flush=True)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        done.wait(float(sys.argv[2]) if len(sys.argv) > 2 else 600)


if __name__ == "__main__":
    main()
