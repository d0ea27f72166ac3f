"""The layering the architecture promises, read from the source: names are looked up only in
net/dns.py (getaddrinfo there runs in a daemon thread a deadline can abandon; the event loop's own
getaddrinfo cannot be cancelled and holds the interpreter at exit), and HTTP requests are written only
by wire/http.py's build_request (one Host rule: an IPv6 literal bracketed). testing/ is exempt: those
are the servers and clients the tests run against, not the tool.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tlsdoctor

SRC = Path(tlsdoctor.__file__).parent
REQUEST_STARTS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"OPTIONS ")
LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex")


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith("testing/"):
            found.append((rel, ast.parse(path.read_text(encoding="utf-8"), rel)))
    return found


def test_names_are_resolved_only_in_net_dns() -> None:
    calls = [
        f"{rel}:{node.lineno}"
        for rel, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in LOOKUPS
        if rel != "net/dns.py"
    ]
    assert calls == [], f"name lookups outside net/dns.py: {calls}"


def test_http_requests_are_built_only_by_wire_http() -> None:
    literals = [
        f"{rel}:{node.lineno}"
        for rel, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes)
        if node.value.startswith(REQUEST_STARTS) or b" HTTP/1." in node.value
        if rel != "wire/http.py"
    ]
    assert literals == [], f"HTTP request bytes written outside wire/http.py: {literals}"
