"""What a healthy diagnosis actually verified, as labelled lines for any reporter.

"Every check passed" over a table of skipped variants does not tell a user what was proved. The
default handshake and the certificate check already observed it: the protocol and suite negotiated,
the leaf's subject and issuer, which SAN matched the name, the days left, the store the chain
validated against. This module only picks those observations out of the report and words them; the
values are the server's own text, so every reporter shows them escaped (report/escape.py).

The group comes from the hello probe's own parse of the ServerHello (TLS 1.3 only: Python 3.11's ssl
does not expose the group the default handshake used). ALPN is listed only when the default
handshake offered it (checks/handshake.py: HTTP targets only); a line about an offer never made
would claim a check that was not made.
"""

from __future__ import annotations

from collections.abc import Iterator

from tlsdoctor.certs.names import covers
from tlsdoctor.model import Report
from tlsdoctor.observations import CertificateInfo, ChainValidation, HandshakeAttempt, HandshakeOutcome
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.hello import HelloEnd, HelloProbe

DEFAULT_VARIANT = "default"  # checks/handshake.py: the handshake the user's own client would make
CONTROL_PROBE = "modern"  # checks/hello.py: the typical TLS 1.3 hello, whose ServerHello names the group


def _observations(report: Report) -> Iterator[Observation]:
    for check in report.checks:
        yield from check.observations


def verified_items(report: Report) -> list[tuple[str, str]]:
    """(label, text) lines of what was verified, in reading order; empty when nothing was."""
    handshake: HandshakeAttempt | None = None
    leaf: CertificateInfo | None = None
    chain: ChainValidation | None = None
    probe: HelloProbe | None = None
    for o in _observations(report):
        if (
            isinstance(o, HandshakeAttempt)
            and o.variant == DEFAULT_VARIANT
            and o.outcome is HandshakeOutcome.OK
        ):
            handshake = handshake or o
        elif isinstance(o, CertificateInfo) and o.index == 0:
            leaf = leaf or o
        elif isinstance(o, ChainValidation) and o.valid:
            chain = chain or o
        elif isinstance(o, HelloProbe) and o.probe == CONTROL_PROBE and o.end is HelloEnd.SERVER_HELLO:
            probe = probe or o
    items: list[tuple[str, str]] = []
    if handshake is not None:
        name = f" as {handshake.servername}" if handshake.servername else " (no SNI)"
        items.append(("server", f"{handshake.address}:{handshake.port}{name}"))
        negotiated = ", ".join(v for v in (handshake.version, handshake.cipher) if v)
        if negotiated:
            items.append(("protocol", negotiated))
        if probe is not None and probe.group and probe.version == handshake.version == "TLSv1.3":
            items.append(("group", f"{probe.group} (the server's key share for our TLS 1.3 hello)"))
        if handshake.alpn_offered:
            offered = f"(offered {', '.join(handshake.alpn_offered)})"
            chosen = handshake.alpn if handshake.alpn else "none selected"
            items.append(("ALPN", f"{chosen} {offered}"))
    if leaf is not None:
        items.append(("subject", leaf.subject))
        items.append(("issuer", leaf.issuer))
        if chain is not None:
            matched = [san for san in leaf.sans if covers((san,), chain.name)]
            how = (
                f"SAN {', '.join(matched)}" if matched else "the subject CN (the certificate has no DNS SAN)"
            )
            items.append(("name", f"{chain.name} matched {how}"))
        elif leaf.sans:
            items.append(("SANs", ", ".join(leaf.sans)))
        items.append(("valid until", f"{leaf.not_after:%Y-%m-%d} ({leaf.days_left:.0f} days left)"))
        items.append(("key", f"{leaf.key_type} {leaf.key_bits}"))
    if chain is not None:
        store = "the system store" if chain.store == "system" else chain.store
        n = len(chain.path)
        items.append(
            ("chain", f"validates against {store} ({n} certificate{'s' if n != 1 else ''} to the anchor)")
        )
    return items
