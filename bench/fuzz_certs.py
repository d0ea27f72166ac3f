"""Atheris fuzz target for certificates as a server (or an AIA URL, or a CA file) can send them:
arbitrary DER chains through ``certs.analysis.analyse_chain`` (parse, CertificateInfo, path walk,
validation, findings), AIA bodies through ``certs.fetch.certificates_in`` and ``net.http.parse_response``,
and CA bundles through ``certs.trust._pem_certificates``.

Invariant: a chain that does not parse is a finding (CertificateProblem), never an exception; every
observation describes itself and serialises. cryptography parses in Rust (not instrumented), so the
seeds matter: real certificates of the test PKI (RSA, EC, a self-signed one, one with hostile text and
every SAN type) that mutations bend one field at a time.
Run: ``nice -n 19 .venv/bin/python bench/fuzz_certs.py -max_total_time=600 /tmp/fz/certs``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from fuzz_harness import atheris, main

with atheris.instrument_imports(include=["tlsdoctor"]):
    from tlsdoctor.certs.analysis import analyse_chain
    from tlsdoctor.certs.fetch import certificates_in
    from tlsdoctor.certs.info import certificate_info
    from tlsdoctor.certs.trust import _pem_certificates
    from tlsdoctor.net.http import parse_response
    from tlsdoctor.testing.certs import LeafSpec, Pki

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
_PKI = Pki()
ANCHORS = [_PKI.root]


def chain_of(data: bytes) -> list[bytes]:
    """Split the input into up to 4 DER blobs, each behind a 2-byte length (the rest: the last one)."""
    out = []
    while data and len(out) < 3 and len(data) >= 2:
        n = int.from_bytes(data[:2], "big")
        out.append(data[2 : 2 + n])
        data = data[2 + n :]
    if data:
        out.append(data)
    return out


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    mode, data = raw[0] % 4, raw[1:]
    if mode == 0:
        name = "127.0.0.1" if raw[0] & 4 else "fuzz.example"
        for obs in analyse_chain(chain_of(data), name, ANCHORS, AT, expect_fingerprint="00" * 32):
            obs.describe()
            json.dumps(obs.to_data())
    elif mode == 1:
        for i, cert in enumerate(certificates_in(data)[:4]):
            info = certificate_info(cert, i, AT, is_anchor=False)
            json.dumps(info.to_data())
    elif mode == 2:
        for i, cert in enumerate(_pem_certificates(data)[:4]):
            json.dumps(certificate_info(cert, i, AT, is_anchor=True).to_data())
    else:
        parse_response(data, 4096)


def _hostile_cert() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "evil\x1b]52;c;aGk=\x07\u202e"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "[bold]x[/bold] \x9b2J"),
        ]
    )
    sans = [
        x509.DNSName("fuzz.example"),
        x509.DNSName("*.fuzz.example"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_network("10.0.0.0/8")),
        x509.RFC822Name("a@fuzz.example"),
        x509.UniformResourceIdentifier("http://fuzz.example/\x1b[2J"),
        x509.DirectoryName(name),
        x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
        x509.OtherName(x509.ObjectIdentifier("1.2.3.5"), b"\x0c\x03abc"),
    ]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(AT - dt.timedelta(days=1))
        .not_valid_after(AT + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )


def seeds() -> list[bytes]:
    der = serialization.Encoding.DER
    leaf = _PKI.issue("fuzz", LeafSpec(sans=("fuzz.example", "127.0.0.1"))).leaf
    ec_leaf = _PKI.issue("fuzz-ec", LeafSpec(key_type="ec256", self_signed=True)).leaf
    hostile = _hostile_cert()
    certs = [leaf, _PKI.intermediate, _PKI.root, ec_leaf, hostile]
    ders = [c.public_bytes(der) for c in certs]
    pems = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    p7 = pkcs7.serialize_certificates(certs[:3], der)

    def chain(*blobs: bytes) -> bytes:
        return b"".join(len(b).to_bytes(2, "big") + b for b in blobs[:-1]) + blobs[-1]

    out = [bytes([0]) + chain(ders[0], ders[1]), bytes([4]) + chain(ders[0]), bytes([0]) + chain(ders[4])]
    out += [bytes([0]) + chain(ders[3]), bytes([0]) + chain(ders[0], ders[1], ders[2], ders[4])]
    out += [bytes([1]) + ders[1], bytes([1]) + pems, bytes([1]) + p7, bytes([2]) + pems]
    out += [bytes([3]) + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]
    out += [bytes([3]) + b"HTTP/1.0 404 Not Found\x1b[2J\r\n\r\n"]
    return out


if __name__ == "__main__":
    main(test_one_input, seeds)
