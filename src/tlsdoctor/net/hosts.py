"""Names the hosts file answers: the system resolver never asks DNS for them.

Asking the nameservers of resolv.conf about such a name (``localhost``, the machine's own
name, a pinned test name) would report a DNS failure that no client ever meets.
"""

from __future__ import annotations

from pathlib import Path

HOSTS = Path("/etc/hosts")
_MAX_BYTES = 1024 * 1024


def parse_hosts_names(text: str) -> frozenset[str]:
    """Every name (canonical and aliases) on an address line, lower-cased, without a trailing dot."""
    names: set[str] = set()
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) >= 2:
            names.update(f.rstrip(".").lower() for f in fields[1:])
    return frozenset(names)


def hosts_names(path: Path = HOSTS) -> frozenset[str]:
    """The names in the hosts file; empty when it cannot be read."""
    try:
        with path.open("rb") as fh:
            return parse_hosts_names(fh.read(_MAX_BYTES).decode("utf-8", errors="replace"))
    except OSError:
        return frozenset()
