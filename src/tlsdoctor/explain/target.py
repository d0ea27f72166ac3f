"""Find the endpoint an error text is about, to fill ``{target}`` in suggested commands.

Clients name the endpoint in many shapes (curl's "in connection to host:443", urllib3's
"HTTPSConnectionPool(host=..., port=...)", Go's "read tcp a->b:443", URLs); the rules
live in patterns.toml ([[target]]), most specific first.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from tlsdoctor.explain.knowledge import Knowledge, knowledge
from tlsdoctor.explain.prefilter import lower_ascii

DEFAULT_PORT = 443


@dataclasses.dataclass(frozen=True, slots=True)
class DetectedTarget:
    """A host and port named by the text."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _plausible_host(host: str) -> bool:
    """A name with a dot, localhost, or an IP literal; not a bare word or a number."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    if host == "localhost":
        return True
    labels = host.split(".")
    return len(labels) > 1 and all(labels) and not labels[-1].isdigit()


def detect_target(text: str, kb: Knowledge | None = None) -> DetectedTarget | None:
    """The first endpoint a target rule finds, or None."""
    kb = kb or knowledge()
    text = lower_ascii(text)
    for rule in kb.targets:
        for m in rule.finditer(text):
            host = m.group("host").strip("[]").rstrip(".").lower()
            port_text = m.groupdict().get("port")
            port = int(port_text) if port_text else DEFAULT_PORT
            if _plausible_host(host) and 0 < port < 65536:
                return DetectedTarget(host, port)
    return None
