"""Known TLS-interception issuers and known-bad roots, loaded from ``interception.toml`` (data, not code).

An issuer name points at a product (a corporate proxy, an antivirus); a known-bad root is
one from a public incident, identified exactly by its fingerprint or, as a heuristic, by
the subject CN the write-ups give.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class InterceptionProduct:
    """One product: its name, the issuer patterns it is known by, and where that is documented."""

    product: str
    patterns: tuple[re.Pattern[str], ...]
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class LeakedRoot:
    """A root from a public incident: fingerprints (exact) and subject CNs (a heuristic)."""

    incident: str
    common_names: frozenset[str]  # casefolded
    sha256: frozenset[str]
    sha1: frozenset[str]
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class LeakedMatch:
    """Which known-bad root a certificate is (or names as its issuer), and how we know."""

    root: LeakedRoot
    by: str  # "fingerprint": the very certificate; "subject": only its name matches
    name: str  # the subject (or issuer) text that matched


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("tlsdoctor.certs").joinpath("interception.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@functools.cache
def leaked_roots() -> tuple[LeakedRoot, ...]:
    """The known-bad roots, parsed once per process."""
    return tuple(
        LeakedRoot(
            incident=str(entry["incident"]),
            common_names=frozenset(str(n).casefold() for n in entry.get("common_names", ())),
            sha256=frozenset(str(h).lower() for h in entry.get("sha256", ())),
            sha1=frozenset(str(h).lower() for h in entry.get("sha1", ())),
            source=str(entry["source"]),
        )
        for entry in _table().get("leaked", ())
    )


def match_leaked(
    der: bytes,
    subject_cns: Iterable[str],
    issuer_cns: Iterable[str],
    name: str,
    roots: Sequence[LeakedRoot] | None = None,
) -> LeakedMatch | None:
    """The known-bad root this certificate is (by fingerprint), else the one its subject or issuer
    CN names (by subject: the heuristic; a look-alike name proves little on its own).
    ``roots`` defaults to the table in interception.toml."""
    sha256 = hashlib.sha256(der).hexdigest()
    sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest()
    roots = leaked_roots() if roots is None else roots
    for root in roots:
        if sha256 in root.sha256 or sha1 in root.sha1:
            return LeakedMatch(root, "fingerprint", name)
    cns = {c.casefold() for c in (*subject_cns, *issuer_cns)}
    for root in roots:
        if cns & root.common_names:
            return LeakedMatch(root, "subject", name)
    return None


@functools.cache
def products() -> tuple[InterceptionProduct, ...]:
    """The table, parsed once per process."""
    data = _table()
    return tuple(
        InterceptionProduct(
            product=str(entry["product"]),
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in entry["patterns"]),
            source=str(entry["source"]),
        )
        for entry in data["product"]
    )


def match_issuer(issuer: str) -> InterceptionProduct | None:
    """The first product whose pattern occurs in the issuer text, if any."""
    for product in products():
        if any(p.search(issuer) for p in product.patterns):
            return product
    return None
