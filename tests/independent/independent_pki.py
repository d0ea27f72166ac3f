"""Certificates and servers that tlsdoctor did not make: the `openssl` command line, bare `cryptography`,
`openssl s_server` and nginx.

Nothing here imports tlsdoctor: the corpus must not share a PKI or a server with the code it judges
(the demo and the tests sharing one author's PKI hid a quarter of wrong verdicts, issue 9). Every
process gets a deadline and is ended by its PID.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HOST = "www.corpus.test"  # the name every case is diagnosed as; only ever sent to 127.0.0.1
DEADLINE = 30.0  # seconds for any one command


def run(cmd: Sequence[str], *, cwd: Path, timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
    """A command (never through a shell) that must succeed."""
    done = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done


# --- certificates by the openssl command line -------------------------------------------------


def _newkey(kind: str) -> list[str]:
    if kind == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    return ["-newkey", f"rsa:{kind.removeprefix('rsa')}"]


def ossl_root(d: Path, stem: str, cn: str, *, kind: str = "ec", subj: str | None = None) -> tuple[Path, Path]:
    """`openssl req -x509` with the default config's v3_ca extensions: (cert, key)."""
    cert, key = d / f"{stem}.pem", d / f"{stem}.key"
    cmd = ["openssl", "req", "-x509", *_newkey(kind), "-nodes", "-keyout", str(key), "-out", str(cert)]
    run([*cmd, "-subj", subj or f"/O=Independent Corpus/CN={cn}", "-days", "365"], cwd=d)
    return cert, key


def ossl_v1_root(d: Path, stem: str, cn: str, *, kind: str = "ec") -> tuple[Path, Path]:
    """The older how-to: a CSR self-signed with `openssl x509 -req -signkey`, a version 1 root."""
    cert, key, csr = d / f"{stem}.pem", d / f"{stem}.key", d / f"{stem}.csr"
    req = ["openssl", "req", "-new", *_newkey(kind), "-nodes", "-keyout", str(key), "-out", str(csr)]
    run([*req, "-subj", f"/O=Independent Corpus/CN={cn}"], cwd=d)
    run(
        ["openssl", "x509", "-req", "-in", str(csr), "-signkey", str(key), "-out", str(cert), "-days", "365"],
        cwd=d,
    )
    return cert, key


def ossl_self_signed_leaf(d: Path, stem: str, name: str, *, kind: str = "rsa2048") -> tuple[Path, Path]:
    """The one-liner everyone uses for a test server: `openssl req -x509 ... -addext subjectAltName`."""
    cert, key = d / f"{stem}.pem", d / f"{stem}.key"
    cmd = ["openssl", "req", "-x509", *_newkey(kind), "-nodes", "-keyout", str(key), "-out", str(cert)]
    run([*cmd, "-subj", f"/CN={name}", "-days", "90", "-addext", f"subjectAltName=DNS:{name}"], cwd=d)
    return cert, key


def ossl_issue(
    d: Path,
    stem: str,
    cn: str,
    issuer: tuple[Path, Path],
    *,
    kind: str = "ec",
    extfile: str | None = None,
    san_in_csr: str | None = None,
    digest: str = "sha256",
    days: int = 90,
    faketime: dt.datetime | None = None,
) -> tuple[Path, Path]:
    """`openssl req -new` then `openssl x509 -req`: with -extfile when given, else -copy_extensions copy
    (only what the CSR asked for; without a SAN in the CSR, a version 1 certificate with the name only in
    its CN). ``faketime`` signs at another instant (libfaketime), which is how openssl users make an
    expired or a future certificate."""
    cert, key, csr = d / f"{stem}.pem", d / f"{stem}.key", d / f"{stem}.csr"
    req = ["openssl", "req", "-new", *_newkey(kind), "-nodes", "-keyout", str(key), "-out", str(csr)]
    req += ["-subj", f"/CN={cn}"]
    if san_in_csr:
        req += ["-addext", f"subjectAltName={san_in_csr}"]
    run(req, cwd=d)
    sign = ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(issuer[0]), "-CAkey", str(issuer[1])]
    sign += ["-CAcreateserial", "-out", str(cert), "-days", str(days), f"-{digest}"]
    if extfile is not None:
        ext = d / f"{stem}.ext"
        ext.write_text(extfile)
        sign += ["-extfile", str(ext)]
    else:
        sign += ["-copy_extensions", "copy"]
    if faketime is not None:
        sign = ["faketime", faketime.strftime("%Y-%m-%d %H:%M:%S"), *sign]
    run(sign, cwd=d)
    return cert, key


INTERMEDIATE_EXT = (
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"
)


def leaf_ext(name: str, aia: str | None = None) -> str:
    """What a how-to's extfile holds: the SAN, and sometimes where to fetch the issuer."""
    text = f"subjectAltName=DNS:{name}\n"
    if aia:
        text += f"authorityInfoAccess=caIssuers;URI:{aia}\n"
    return text


def der_of(pem: Path) -> bytes:
    return x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(serialization.Encoding.DER)


# --- certificates by bare cryptography, with the fewest extensions that work ----------------------


Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _write(d: Path, stem: str, cert: x509.Certificate, key: Key) -> tuple[Path, Path]:
    cp, kp = d / f"{stem}.pem", d / f"{stem}.key"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cp, kp


def minimal(
    d: Path,
    stem: str,
    cn: str,
    *,
    kind: str = "rsa2048",
    issuer: tuple[x509.Certificate, Key] | None = None,
    ca: bool = False,
    san: str | None = None,
    org: str | None = None,
) -> tuple[x509.Certificate, Key, Path, Path]:
    """No AKI, no SKI, no keyUsage; a CA's basicConstraints NOT critical; a leaf with only its SAN.

    OpenSSL, curl and Python accept such chains; RFC 5280's MUSTs and strict profiles do not.
    """
    key: Key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=int(kind.removeprefix("rsa")))
    )
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    subject = x509.Name(attrs)
    now = dt.datetime.now(dt.UTC)
    signer_name, signer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=10))
        .not_valid_after(now + dt.timedelta(days=80))
    )
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    cert = b.sign(signer_key, hashes.SHA256())
    cp, kp = _write(d, stem, cert, key)
    return cert, key, cp, kp


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def s_server(d: Path, chain: Sequence[Path], key: Path, opts: Sequence[str] = ()) -> Iterator[int]:
    """`openssl s_server -www` on 127.0.0.1 at a port it picks: the leaf, then the rest of ``chain``."""
    cmd = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", str(chain[0]), "-key", str(key), "-www"]
    cmd += opts
    if len(chain) > 1:
        rest = d / f"{chain[0].stem}.served-chain.pem"
        rest.write_text("".join(p.read_text() for p in chain[1:]))
        cmd += ["-cert_chain", str(rest)]
    out = d / f"s_server.{time.monotonic_ns()}.log"
    with out.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 10
        port = None
        while port is None and time.monotonic() < end and proc.poll() is None:
            m = re.search(r"ACCEPT 127\.0\.0\.1:(\d+)", out.read_text(errors="replace"))
            port = int(m.group(1)) if m else None
            time.sleep(0.02)
        if port is None or not wait_listening(port, proc):
            raise RuntimeError(f"openssl s_server did not start: {out.read_text(errors='replace')[-400:]}")
        yield port
    finally:
        stop(proc)


NGINX_CONF = """daemon off; master_process off; worker_processes 1;
pid {d}/nginx.pid; error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3;
  uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5;
  types {{ application/pkix-cert cer; }}
  server {{
    listen 127.0.0.1:{port}{ssl};
    {tls}
    location / {{ {body} }}
  }}
}}
"""


@contextlib.contextmanager
def nginx(
    d: Path, *, chain: Sequence[Path] = (), key: Path | None = None, root: Path | None = None
) -> Iterator[int]:
    """nginx on 127.0.0.1: TLS with ``chain`` (leaf first, one file as nginx wants it), or plain HTTP
    serving the files of ``root`` (an AIA caIssuers location)."""
    work = d / f"nginx.{time.monotonic_ns()}"
    work.mkdir()
    if chain:
        bundle = work / "bundle.pem"
        bundle.write_text("".join(p.read_text() for p in chain))
        tls = f"ssl_certificate {bundle}; ssl_certificate_key {key};"
        body = 'return 200 "ok\\n";'
    else:
        tls, body = "", f"root {root};"
    for _ in range(5):  # the port is free when picked; another process may take it before nginx binds
        port = free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(d=work, port=port, ssl=" ssl" if chain else "", tls=tls, body=body))
        cmd = ["nginx", "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_listening(port, proc):
            try:
                yield port
            finally:
                stop(proc)
            return
        stop(proc)
    raise RuntimeError(f"nginx did not start: {(work / 'error.log').read_text(errors='replace')[-400:]}")


# --- the reference clients and the tool under test ------------------------------------------------


def s_client_verify(port: int, name: str, ca_file: Path | None) -> int:
    """OpenSSL's own verdict, the reference: `openssl s_client -verify_return_error -verify_hostname`.
    The X509_V_ERR code the handshake stopped on, 0 when it verified."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", name]
    cmd += ["-verify_hostname", name, "-verify_return_error"]
    if ca_file is not None:
        cmd += ["-CAfile", str(ca_file)]
    done = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=DEADLINE, check=False)
    text = done.stdout + done.stderr
    m = re.search(r"verify error:num=(\d+)", text) or re.search(r"Verify return code: (\d+)", text)
    if m is None:
        raise RuntimeError(f"s_client gave no verify result: {text[-400:]}")
    return int(m.group(1))


def curl_exit(port: int, name: str, ca_file: Path | None) -> int:
    """curl's exit status (0 ok, 60 certificate problem), the other reference client."""
    cmd = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--noproxy", "*"]
    cmd += ["--resolve", f"{name}:{port}:127.0.0.1", f"https://{name}:{port}/"]
    if ca_file is not None:
        cmd += ["--cacert", str(ca_file)]
    return subprocess.run(cmd, capture_output=True, timeout=DEADLINE, check=False).returncode


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What `tlsdoctor diagnose` answered, as a user would run it."""

    exit: int
    top: str
    confidence: float
    seconds: float
    report: dict[str, object]

    def causes(self) -> list[dict[str, object]]:
        return list(self.report.get("causes", []))  # type: ignore[call-overload]

    def check(self, check_id: str) -> dict[str, object]:
        checks = self.report.get("checks", [])
        return next((c for c in checks if c["id"] == check_id), {})  # type: ignore[union-attr]


def diagnose(port: int, name: str, ca_file: Path | None, *extra: str, command: str = "diagnose") -> Diagnosis:
    """`tlsdoctor COMMAND NAME:PORT --connect-to 127.0.0.1 [--ca-file CA] --json` in a subprocess
    (``command``: diagnose, or scan for the same endpoint judged by its configuration)."""
    cmd = [sys.executable, "-m", "tlsdoctor", command, f"{name}:{port}", "--connect-to", "127.0.0.1"]
    if ca_file is not None:
        cmd += ["--ca-file", str(ca_file)]
    cmd += [*extra, "--json"]
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    seconds = time.monotonic() - start
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"no JSON report (exit {done.returncode}): {done.stderr[-800:]}") from None
    causes = report.get("causes") or [{"id": "(none)", "confidence": 0.0}]
    return Diagnosis(done.returncode, causes[0]["id"], causes[0]["confidence"], seconds, report)
