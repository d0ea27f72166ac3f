"""Certificate analysis: parse, match names, build paths, judge at a time; and the trust anchors.

``analysis`` is pure (no I/O) so that every certificate fault is testable at a fixed
instant; ``trust`` reads the anchors; ``fetch`` is the one piece that talks HTTP
(AIA issuers and OCSP).

The names below load on first use (PEP 562): ``analysis`` and ``trust`` import cryptography's
x509 (about 50 ms), which a module that needs only ``certs.names`` (a reporter, ``explain``) must
not pay for by importing this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlsdoctor.certs.analysis import analyse_chain, complete_with, would_validate_at
    from tlsdoctor.certs.trust import TrustAnchors, load_ca_file, load_system_store

_HOME = {
    "analyse_chain": "tlsdoctor.certs.analysis",
    "complete_with": "tlsdoctor.certs.analysis",
    "would_validate_at": "tlsdoctor.certs.analysis",
    "TrustAnchors": "tlsdoctor.certs.trust",
    "load_ca_file": "tlsdoctor.certs.trust",
    "load_system_store": "tlsdoctor.certs.trust",
}

__all__ = [
    "TrustAnchors",
    "analyse_chain",
    "complete_with",
    "load_ca_file",
    "load_system_store",
    "would_validate_at",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
