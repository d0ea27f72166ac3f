"""Offline interpretation of TLS error text (``tlsdoctor explain``).

The knowledge is data (patterns.toml, errno.toml, openssl.toml); this package loads it,
decodes the numbers, finds the clues and ranks the causes they point at.
"""

from tlsdoctor.explain.decode import ErrnoReading, OpenSslCode, decode_openssl_code, read_errno
from tlsdoctor.explain.matcher import Analysis, analyse, find_clues, suggest
from tlsdoctor.explain.target import DetectedTarget, detect_target

__all__ = [
    "Analysis",
    "DetectedTarget",
    "ErrnoReading",
    "OpenSslCode",
    "analyse",
    "decode_openssl_code",
    "detect_target",
    "find_clues",
    "read_errno",
    "suggest",
]
