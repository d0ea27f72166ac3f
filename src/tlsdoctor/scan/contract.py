"""The scan's one rendering into the contract's ``"scan": {...}`` object (contract/cli.md): the
ScanData of scan/result.py in, plain JSON-ready data out. Code points become names here, through
wire/registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tlsdoctor.observations.cert import ChainValidation
from tlsdoctor.scan.findings import counts, findings
from tlsdoctor.scan.result import CertificateResult, HttpAnswer, ProtocolResult, ScanData
from tlsdoctor.wire.registry import group_name, scheme_name, ssl2_kind_name, suite_name

if TYPE_CHECKING:
    from tlsdoctor.clientsim.judge import Outcome  # loaded by the client phase, only when it runs


def _suite_names(p: ProtocolResult) -> list[str]:
    if p.version == "SSLv2":
        return [ssl2_kind_name(k) for k in p.suites]
    return [suite_name(c) for c in p.suites]


def _certificate(c: CertificateResult) -> dict[str, Any]:
    infos = c.infos()
    leaf = infos[0] if infos else None
    return {
        "key_type": f"{leaf.key_type} {leaf.key_bits}" if leaf else c.key_type,
        "offered": c.key_type,
        "subject": leaf.subject if leaf else None,
        "issuer": leaf.issuer if leaf else None,
        "not_after": leaf.not_after.isoformat() if leaf else None,
        "chain": [
            {
                "subject": i.subject,
                "issuer": i.issuer,
                "not_after": i.not_after.isoformat(),
                "key": f"{i.key_type} {i.key_bits}",
                "signature_hash": i.signature_hash,
                "sha256": i.sha256,
            }
            for i in infos
        ],
        "problems": [{"problem": p.problem.value, "detail": p.detail} for p in c.problems()],
        "certificates": list(c.details),  # as sent, in full (scan/certinfo.py)
        "chain_built": _built(c),
        "trust": _trust(c),
    }


def _trust(c: CertificateResult) -> list[dict[str, Any]]:
    """The scan's own store first (the system's, or --ca-file), then every other one compared."""
    own = next((o for o in c.observations if isinstance(o, ChainValidation)), None)
    out: list[dict[str, Any]] = []
    if own is not None:
        name = "ca-file" if own.store.startswith("ca-file") else own.store.split("+", 1)[0]
        out.append({"store": name, "source": own.store, "anchors": own.anchors, "trusted": own.valid,
                    "error": own.error or None, "path": list(own.path)})  # fmt: skip
    return out + [s for s in c.stores if not (own is not None and s["store"] == out[0]["store"])]


def _built(c: CertificateResult) -> list[str]:
    """The path as built from the leaf to its anchor (subjects), when the chain validates."""
    valid = [o for o in c.observations if isinstance(o, ChainValidation) and o.valid]
    return list(valid[0].path) if valid else []


def _http(h: HttpAnswer | None) -> dict[str, Any] | None:
    if h is None:
        return None
    hsts = None
    if h.hsts_max_age is not None:
        hsts = {"max_age": h.hsts_max_age, "include_subdomains": h.hsts_include_subdomains,
                "preload": h.hsts_preload}  # fmt: skip
    return {
        "status": h.status,
        "status_line": h.status_line,
        "server": h.server,
        "hsts": hsts,
        "headers": dict(h.headers),
        "error": h.error or None,
    }


def to_contract(data: ScanData) -> dict[str, Any]:
    """The ``"scan"`` object of the JSON report."""
    found = findings(data)
    return {
        "grade": data.grade.grade if data.grade is not None else None,
        "grading": data.grade.to_dict() if data.grade is not None else None,
        "profile": data.profile.profile if data.profile is not None else None,
        "profiles": data.profile.to_dict() if data.profile is not None else None,
        "findings": [f.to_dict() for f in found],
        "findings_by_severity": counts(found),
        "protocols": [
            {
                "version": p.version,
                "supported": p.supported,
                "cipher_suites": _suite_names(p),
                "server_order": p.server_order,
                "suites_tested": p.tested,
                "handshakes": p.handshakes,
                "unusable": p.unusable or None,
            }
            for p in data.protocols
        ],
        "groups": [group_name(g) for g in data.groups],
        "groups_tested": data.groups_tested,
        "signature_schemes": [scheme_name(s) for s in data.schemes],
        "certificates": [_certificate(c) for c in data.certificates],
        "features": dict(data.features),
        "weaknesses": [
            {"id": w.id, "severity": w.severity, "summary": w.summary, "reference": w.reference}
            for w in data.weaknesses
        ],
        "caa": data.caa,
        "http": _http(data.http),
        "sessions": dict(data.sessions),
        "vulnerabilities": [v.to_dict() for v in data.vulnerabilities],
        "handshakes": data.handshakes,
        "notes": list(data.notes),
        "partial": data.partial,
        "untested": [{"part": part, "why": why} for part, why in data.untested.items()],
        "violations": [{"id": vid, "evidence": text} for vid, text in data.violations.items()],
        "round_trips": dict(data.round_trips),
        "clients": [_client(o) for o in data.clients],
    }


def _client(o: Outcome) -> dict[str, Any]:
    """One ``scan.clients`` entry: ``negotiated`` only when the client would connect; what the
    server chose for a client that would then refuse it is ``server_chose``."""
    chosen = o.negotiated.to_dict() if o.negotiated is not None else None
    return {
        "client": o.client,
        "label": o.label,
        "negotiated": chosen if o.connects else None,
        "failure": o.failure,
        "server_chose": None if o.connects else chosen,
    }
