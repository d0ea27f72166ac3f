"""Certificates in full, for the scan: every certificate as sent (names, validity, keys, usages,
must-staple, SCTs embedded and delivered over TLS and OCSP, AIA and CRL URLs, fingerprints), the
chain as built, and what several trust stores say of it at once (the system's, Mozilla's via
certifi, Java's cacerts, Node.js's compiled-in roots, and the root lists kept as data: Apple's,
Microsoft's and Android's from sslyze's package, the user's own from TLSDOCTOR_TRUST_STORES,
certs/rootlists.py). Each verdict names its store, its source and, where known, the day the list
describes. The name's CAA record is scan/caa.py.

Parsing reuses certs/info.py and the verdict per store is certs/analysis.py ``validation``
(certs/paths.py judges): no second parser or validator. Loading the stores is the costly part,
so the scan's helper process loads them while the probes run (scan/helper.py) and answers
``describe`` from memory; without it the same work runs here, in a thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from tlsdoctor.certs.analysis import validation
from tlsdoctor.certs.info import aia, fingerprint, key_description, load_der, name_text, sans, signature_hash
from tlsdoctor.certs.scts import embedded as embedded_scts
from tlsdoctor.certs.trust import TrustAnchors

MUST_STAPLE = 5  # TLS feature status_request (RFC 7633 §4.2.3.1, RFC 6066 §8)
_KEY_USAGES = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
    "key_cert_sign", "crl_sign",
)  # fmt: skip
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> Any:
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except (x509.ExtensionNotFound, ValueError):  # absent, or present but undecodable
        return None


def _key_usage(cert: x509.Certificate) -> list[str] | None:
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku is None:
        return None
    out = [name for name in _KEY_USAGES if getattr(ku, name)]
    if ku.key_agreement:
        out += [name for name in ("encipher_only", "decipher_only") if getattr(ku, name)]
    return out


def _eku(cert: x509.Certificate) -> list[str] | None:
    eku = _ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    return None if eku is None else [_EKU_NAMES.get(o, o.dotted_string) for o in eku]


def _must_staple(cert: x509.Certificate) -> bool:
    feature = _ext(cert, ExtensionOID.TLS_FEATURE)
    return feature is not None and any(int(f.value) == MUST_STAPLE for f in feature)


def _crl_urls(cert: x509.Certificate) -> list[str]:
    points = _ext(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    return [
        name.value
        for point in points or ()
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def _signature_algorithm(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", None) or oid.dotted_string


def describe_certificate(der: bytes, at: dt.datetime) -> dict[str, Any]:
    """One certificate as sent: the fields a scan report shows, plain data (never raises on odd
    extensions: an undecodable one reads as absent)."""
    cert = load_der(der)
    key_type, bits = key_description(cert)
    issuers, ocsp = aia(cert)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    return {
        "subject": name_text(cert.subject),
        "issuer": name_text(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "sans": list(sans(cert)),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": round((not_after - at).total_seconds() / 86400, 1),
        "lifetime_days": (not_after - not_before).days,
        "key": f"{key_type} {bits}",
        "signature_algorithm": _signature_algorithm(cert),
        "signature_hash": signature_hash(cert),
        "key_usage": _key_usage(cert),
        "extended_key_usage": _eku(cert),
        "must_staple": _must_staple(cert),
        "scts": embedded_scts(cert),  # the TLS and OCSP channels are added by add_delivered_scts
        "ocsp_urls": list(ocsp),
        "ca_issuers_urls": list(issuers),
        "crl_urls": _crl_urls(cert),
        "sha256": fingerprint(cert),
        "sha1": cert.fingerprint(hashes.SHA1()).hex(),
    }


def describe_chain(chain: Sequence[bytes], at: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for der in chain:
        try:
            out.append(describe_certificate(der, at))
        except ValueError as exc:
            out.append({"error": f"unparseable certificate: {exc}"})
    return out


def delivered_scts(ocsp_response: bytes, tls_extension: bytes | None) -> dict[str, Any]:
    """The SCTs a server delivered beside its leaf (RFC 6962 §3.3): in the ServerHello's extension
    and in the stapled OCSP response; what did not parse is said in ``problems``."""
    from tlsdoctor.certs.scts import from_ocsp, from_tls_extension

    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for scts, problem in (
        from_tls_extension(tls_extension) if tls_extension is not None else ([], ""),
        from_ocsp(ocsp_response) if ocsp_response else ([], ""),
    ):
        found += scts
        problems += [problem] if problem else []
    return {"scts": found, "problems": problems}


def add_delivered_scts(details: list[dict[str, Any]], delivered: dict[str, Any]) -> None:
    """Beside the leaf's embedded SCTs, those that came with it over TLS and OCSP."""
    if details and "scts" in details[0]:
        details[0]["scts"] = [*details[0]["scts"], *delivered["scts"]]
        details[0]["sct_problems"] = list(delivered["problems"])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Store:
    """One trust store: its label, its anchors, or why it could not be read; for a list kept as
    data, the day it describes and the platform release it is of."""

    name: str  # system, mozilla (certifi), java, node, or a root list's (apple, windows, android, ...)
    source: str
    anchors: tuple[x509.Certificate, ...] = ()
    problem: str = ""
    as_of: dt.date | None = None
    version: str = ""


FILE_STORES = ("system", "mozilla", "java")  # read from files; node's roots need a node run


def store_names() -> tuple[str, ...]:
    """FILE_STORES, then every root list available here (certs/rootlists.py)."""
    from tlsdoctor.certs.rootlists import root_lists

    return FILE_STORES + tuple(rl.name for rl in root_lists(reserved=(*FILE_STORES, "node")))


def load_store(name: str, system: TrustAnchors | None = None) -> Store:
    """One of :func:`store_names`: the system store (``system`` when the caller has it), certifi's
    Mozilla bundle, Java's cacerts, or a root list (blocking file reads and parsing)."""
    from pathlib import Path

    from tlsdoctor.certs.runtimes import java_cacerts_path, load_java_store
    from tlsdoctor.certs.trust import load_ca_file, load_system_store
    from tlsdoctor.errors import InputError
    from tlsdoctor.host.trust import certifi_path

    if name == "system":
        system = system or load_system_store()
        return Store(name="system", source=system.label, anchors=tuple(system.certificates))
    if name == "mozilla":
        path = certifi_path()
        if path is None:
            return Store(name="mozilla", source="certifi", problem="certifi is not installed")
        source, as_of = _certifi_release(path)
        try:
            anchors = tuple(load_ca_file(Path(path)).certificates)
        except InputError as exc:
            return Store(name="mozilla", source=source, problem=str(exc), as_of=as_of)
        return Store(name="mozilla", source=source, anchors=anchors, as_of=as_of)
    if name == "java":
        java = java_cacerts_path()
        if java is None:
            return Store(name="java", source="cacerts", problem="no Java cacerts on this machine")
        store = load_java_store(java)
        return Store(name="java", source=store.label, anchors=store.certificates, problem=store.problem)
    return _root_list_store(name)


def _certifi_release(path: str) -> tuple[str, dt.date | None]:
    """certifi's label and the day its bundle describes: certifi's version is the release date of
    the Mozilla list it carries (YYYY.MM.DD)."""
    import importlib.metadata
    import re

    try:
        version = importlib.metadata.version("certifi")
    except importlib.metadata.PackageNotFoundError:
        return f"certifi:{path}", None
    m = re.match(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", version)
    try:
        as_of = dt.date(*map(int, m.groups())) if m else None
    except ValueError:
        as_of = None
    return f"certifi {version}:{path}", as_of


def _root_list_store(name: str) -> Store:
    from tlsdoctor.certs.rootlists import load_list, root_lists

    spec = next((rl for rl in root_lists(reserved=(*FILE_STORES, "node")) if rl.name == name), None)
    if spec is None:
        return Store(name=name, source=name, problem="no such trust store here")
    loaded = load_list(spec)
    source = f"{spec.origin}: {spec.pem}" if spec.origin else spec.pem
    return Store(name=name, source=source, anchors=loaded.anchors, problem=loaded.problem,
                 as_of=spec.as_of, version=spec.version)  # fmt: skip


def load_stores(system: TrustAnchors | None = None) -> list[Store]:
    """Every one of :func:`store_names`."""
    return [load_store(name, system) for name in store_names()]


async def node_store() -> Store:
    from tlsdoctor.certs.runtimes import node_roots

    node = await node_roots()
    if node is None:
        return Store(name="node", source="node", problem="node is not on PATH")
    return Store(name="node", source=node.label, anchors=node.certificates, problem=node.problem)


def verdicts(
    chain: Sequence[bytes], name: str, at: dt.datetime, stores: Sequence[Store]
) -> list[dict[str, Any]]:
    """What each store says of the chain as sent, for ``name`` at ``at`` (certs/paths.py's verdict)."""
    out: list[dict[str, Any]] = []
    for s in stores:
        age = {
            "as_of": s.as_of.isoformat() if s.as_of else None,  # the day the list describes
            "age_days": (at.date() - s.as_of).days if s.as_of else None,
            "version": s.version or None,  # the platform release the list is of
        }
        if s.problem or not s.anchors:
            out.append({"store": s.name, "source": s.source, "anchors": 0, "trusted": None,
                        "error": s.problem or "no anchors", "path": [], **age})  # fmt: skip
            continue
        v = validation(chain, name, s.anchors, at, store=s.source)
        out.append({"store": s.name, "source": s.source, "anchors": len(s.anchors), "trusted": v.valid,
                    "error": v.error or None, "path": list(v.path), **age})  # fmt: skip
    return out


def describe(
    chains: Sequence[Sequence[bytes]], name: str, at: dt.datetime, stores: Sequence[Store]
) -> list[dict[str, Any]]:
    """Per chain: its certificates described, and each store's verdict."""
    return [{"certificates": describe_chain(c, at), "stores": verdicts(c, name, at, stores)} for c in chains]


async def describe_here(
    chains: Sequence[Sequence[bytes]], name: str, at: dt.datetime
) -> list[dict[str, Any]]:
    """:func:`describe` without the helper process: the files in a thread, node beside it."""
    files, node = await asyncio.gather(asyncio.to_thread(load_stores), node_store())
    return await asyncio.to_thread(describe, chains, name, at, [*files, node])
