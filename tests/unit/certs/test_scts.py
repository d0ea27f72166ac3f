"""SCTs from the three channels of RFC 6962 §3.3 (certs/scts.py): embedded in the certificate, in the
ServerHello's extension 18, in the stapled OCSP response (singleExtensions as the RFC says, and
responseExtensions leniently), each with its log, its time and its channel; broken ones said."""

from __future__ import annotations

import datetime as dt

from certkit import NOW, Pki, key, name
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from tlsdoctor.certs.scts import OCSP_SCT_OID, embedded, from_ocsp, from_tls_extension
from tlsdoctor.scan.certinfo import add_delivered_scts, delivered_scts, describe_certificate
from tlsdoctor.testing.ocsp import ocsp_response, sample_scts
from tlsdoctor.wire.sct import encode_sct_list

PKI = Pki()
WHEN = NOW - dt.timedelta(days=2)


def logs(scts: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(s["log_id"], s["channel"]) for s in scts]


def test_the_tls_extension_channel() -> None:
    scts = sample_scts(2, WHEN)
    found, problem = from_tls_extension(encode_sct_list(scts))
    assert problem == "" and logs(found) == [(s.log_id.hex(), "tls-extension") for s in scts]
    assert found[0]["timestamp"] == WHEN.isoformat()
    assert from_tls_extension(b"\x00\x05\x00")[1].startswith("the signed_certificate_timestamp extension")


def test_the_stapled_ocsp_channel_in_single_extensions() -> None:
    leaf, scts = PKI.leaf("a.test"), sample_scts(3, WHEN, seed="ocsp")
    found, problem = from_ocsp(ocsp_response(leaf, PKI.inter, PKI.inter_key, NOW, single_scts=scts))
    assert problem == "" and logs(found) == [(s.log_id.hex(), "ocsp") for s in scts]
    assert from_ocsp(ocsp_response(leaf, PKI.inter, PKI.inter_key, NOW)) == ([], "")  # near miss: none


def test_the_stapled_ocsp_channel_in_response_extensions() -> None:
    """cryptography's OCSPResponseBuilder writes the list as a response extension (not where the RFC
    says, but a responder may): still found."""
    leaf, scts = PKI.leaf("a.test"), sample_scts(1, WHEN, seed="resp")
    value = octet_string(encode_sct_list(scts))
    der = (
        ocsp.OCSPResponseBuilder()
        .add_response(cert=leaf, issuer=PKI.inter, algorithm=hashes.SHA1(),
                      cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW, next_update=None,
                      revocation_time=None, revocation_reason=None)
        .responder_id(ocsp.OCSPResponderEncoding.NAME, PKI.inter)
        .add_extension(x509.UnrecognizedExtension(OCSP_SCT_OID, value), critical=False)
        .sign(PKI.inter_key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )  # fmt: skip
    found, problem = from_ocsp(der)
    assert problem == "" and logs(found) == [(scts[0].log_id.hex(), "ocsp")]


def test_an_unsuccessful_or_broken_ocsp_answer() -> None:
    unauthorized = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    assert from_ocsp(unauthorized.public_bytes(Encoding.DER)) == ([], "")
    found, problem = from_ocsp(b"\x30\x03garbage")
    assert found == [] and problem.startswith("the stapled OCSP response does not parse")


def test_the_embedded_channel() -> None:
    scts = sample_scts(2, WHEN, seed="embedded")
    value = octet_string(encode_sct_list(scts))  # RFC 6962 §3.3: an OCTET STRING around the list
    ext = x509.UnrecognizedExtension(ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, value)
    leaf = (
        x509.CertificateBuilder().subject_name(name("ct.test")).issuer_name(PKI.inter.subject)
        .public_key(key("ec", "leaf").public_key()).serial_number(7)
        .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(ext, critical=False).sign(PKI.inter_key, hashes.SHA256())
    )  # fmt: skip
    assert logs(embedded(leaf)) == [(s.log_id.hex(), "embedded") for s in scts]
    assert embedded(PKI.leaf("a.test")) == []


def test_the_leaf_lists_every_channel_and_the_problems() -> None:
    leaf = PKI.leaf("a.test")
    details = [describe_certificate(leaf.public_bytes(Encoding.DER), NOW)]
    ocsp_der = ocsp_response(leaf, PKI.inter, PKI.inter_key, NOW, single_scts=sample_scts(1, WHEN, "o"))
    add_delivered_scts(details, delivered_scts(ocsp_der, encode_sct_list(sample_scts(2, WHEN, "t"))))
    assert [s["channel"] for s in details[0]["scts"]] == ["tls-extension", "tls-extension", "ocsp"]
    assert details[0]["sct_problems"] == []
    add_delivered_scts(details, delivered_scts(b"\x30\x00", b"\x00"))
    assert len(details[0]["sct_problems"]) == 2  # neither channel parsed: both said


def octet_string(inner: bytes) -> bytes:
    """DER OCTET STRING of < 64 KiB, its length in the shortest form (X.690 §10.1)."""
    n = len(inner)
    size = bytes([n]) if n < 0x80 else (b"\x81" + bytes([n]) if n < 0x100 else b"\x82" + n.to_bytes(2, "big"))
    return b"\x04" + size + inner
