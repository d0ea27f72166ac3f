"""Known TLS-interception issuers, loaded from ``interception.toml`` (data, not code)."""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from importlib import resources


@dataclasses.dataclass(frozen=True, slots=True)
class InterceptionProduct:
    """One product: its name, the issuer patterns it is known by, and where that is documented."""

    product: str
    patterns: tuple[re.Pattern[str], ...]
    source: str


@functools.cache
def products() -> tuple[InterceptionProduct, ...]:
    """The table, parsed once per process."""
    text = resources.files("tlsdoctor.certs").joinpath("interception.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
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
