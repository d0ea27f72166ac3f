"""Certificate analysis: parse, match names, build paths, judge at a time; and the trust anchors.

``analysis`` is pure (no I/O) so that every certificate fault is testable at a fixed
instant; ``trust`` reads the anchors; ``fetch`` is the one piece that talks HTTP
(AIA issuers and OCSP).
"""

from tlsdoctor.certs.analysis import analyse_chain, complete_with, would_validate_at
from tlsdoctor.certs.trust import TrustAnchors, load_ca_file, load_system_store

__all__ = [
    "TrustAnchors",
    "analyse_chain",
    "complete_with",
    "load_ca_file",
    "load_system_store",
    "would_validate_at",
]
