"""Real TLS servers for the scan tests: ``openssl s_server`` and Debian's nginx, started on
127.0.0.1 with a temporary configuration and stopped by PID; the ground truth for a cipher
string comes from ``openssl ciphers -s -v -stdname`` for the same string and version."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tlsdoctor.testing import LeafSpec, Pki

OPENSSL = shutil.which("openssl")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
VERSION_FLAG = {"TLSv1.0": "-tls1", "TLSv1.1": "-tls1_1", "TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill our own server by its PID (never by name)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    if proc.stderr is not None:
        proc.stderr.close()


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
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(port, proc, "openssl s_server")
        yield port
    finally:
        stop(proc)


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl{listen};
    server_name localhost;
    ssl_certificate {cert}; ssl_certificate_key {key};
{tls}
    location / {{ return 200 "ok"; }}
  }}
}}
"""


@contextlib.contextmanager
def run_nginx(directory: Path, cert: Path, key: Path, tls: str, *, listen: str = "") -> Iterator[int]:
    """Debian's nginx in the foreground, one process, serving ``cert``/``key`` on a free port with
    ``tls`` (nginx directives) in its server block; ``listen``: more listen options (`` http2``)."""
    assert NGINX is not None
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, port=port, listen=listen, cert=cert, key=key, tls=tls))
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(directory), "-e", str(directory / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(port, proc, "nginx")
        yield port
    finally:
        stop(proc)


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
    tls = ""
    if ecdsa:
        ec_cert, ec_key = certs.files["ECDSA"]
        tls = f"    ssl_certificate {ec_cert}; ssl_certificate_key {ec_key};\n"
    if directives:
        tls += f"    {directives}\n"
    tls += (
        f"    ssl_protocols {protocols};\n    ssl_ciphers '{ciphers}';\n    ssl_ecdh_curve {curves};\n"
        f"    ssl_prefer_server_ciphers {'on' if prefer else 'off'};"
    )
    with run_nginx(directory, rsa_cert, rsa_key, tls, listen=" http2") as port:
        yield port


def ground_truth(cipher_string: str, version: str, ciphersuites: str | None = None) -> list[str]:
    """IANA names OpenSSL would negotiate for ``cipher_string`` at ``version``, in its order."""
    assert OPENSSL is not None
    cmd = [OPENSSL, "ciphers", "-s", "-v", "-stdname", VERSION_FLAG[version]]
    if ciphersuites is not None:
        cmd += ["-ciphersuites", ciphersuites]
    out = subprocess.run([*cmd, cipher_string], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]
