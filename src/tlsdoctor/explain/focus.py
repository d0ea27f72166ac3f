"""Bound the work on long pastes: read the lines that can matter, not a megabyte of noise.

Every pattern's keyword test costs a scan of the text, and ~400 patterns times a megabyte is
seconds. A long log is mostly unrelated lines; the error messages explain knows all contain
one of a few stems ("ssl", "certif", "connect", "errno", ...). So a long text is cut down to
its head and tail (where users put their own description), the lines around those stems,
exact repeats dropped, and at most FOCUS_MAX characters kept (the head and the last relevant
lines: errors come last). Texts up to FOCUS_MAX are read whole.
"""

from __future__ import annotations

import re

# About 0.3 s of analysis here even when every kept line is an error (bench/explain_bench.py).
FOCUS_MAX = 64 * 1024
EDGE = 8 * 1024
CONTEXT_LINES = 2
# Lower-case stems that every message of the knowledge files (and the user's own words about
# proxies, clocks, MTU...) contains at least one of. A test checks each pattern's samples.
STEMS = (
    "ssl",
    "tls",
    "certif",
    "x509",
    "handshake",
    "cert",
    "alert",
    "verif",
    "connect",
    "reset",
    "refused",
    "timed out",
    "timeout",
    "time-out",
    "unreachable",
    "resolv",
    "dns",
    "proxy",
    "socks",
    "errno",
    "eof",
    "pipe",
    "curl",
    "error",
    "fail",
    "denied",
    "expired",
    "valid",
    "trust",
    "issuer",
    "sni",
    "cipher",
    "protocol",
    "https",
    "mtu",
    "vpn",
    "clock",
    "date",
    "ntp",
    "firewall",
    "route",
    "econn",
    "wsae",
    "0x8009",
    "too many open files",
    "address",
    "misdirected",
    "421",
    "407",
    "408",
    "495",
    "496",
    "497",
)


_STEM = re.compile("|".join(map(re.escape, STEMS)))


def focus(text: str) -> tuple[str, bool]:
    """``text`` itself when short; else its relevant lines (and whether anything was left out)."""
    if len(text) <= FOCUS_MAX:
        return text, False
    lines = list(dict.fromkeys(text.split("\n")))  # exact repeats of a line add nothing
    keep = [False] * len(lines)
    head = tail = 0
    for i, line in enumerate(lines):
        if head < EDGE:
            keep[i], head = True, head + len(line) + 1
        if _STEM.search(line.lower()):
            for j in range(max(0, i - CONTEXT_LINES), min(len(lines), i + CONTEXT_LINES + 1)):
                keep[j] = True
    for i in range(len(lines) - 1, -1, -1):
        if tail >= EDGE:
            break
        keep[i], tail = True, tail + len(lines[i]) + 1
    focused = "\n".join(line for line, k in zip(lines, keep, strict=True) if k)
    if len(focused) > FOCUS_MAX:  # the head (the user's words) and the last relevant lines
        cut = focused.find("\n", EDGE)
        cut = cut if 0 <= cut < FOCUS_MAX // 2 else EDGE
        focused = focused[:cut] + "\n" + focused[-(FOCUS_MAX - cut - 1) :]
    return focused, True
