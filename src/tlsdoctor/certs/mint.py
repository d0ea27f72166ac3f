"""Does something on the path mint certificates for any name? (tls-interception)

A re-signing proxy answers every SNI with a leaf made for that name by its own CA. A real
server asked for an unrelated name (``www.example.com``, RFC 2606) sends its default
certificate, which does not cover that name, or refuses. So: when the certificate for the
unrelated name covers it AND comes from the same issuer as the target's, the issuer signs for
whatever name it is asked, which only an interception CA does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tlsdoctor.certs.analysis import parse_chain
from tlsdoctor.certs.info import certificate_info
from tlsdoctor.certs.names import covers
from tlsdoctor.observations.cert import CertificateProblem, ProblemKind


def minted_for_any_name(
    target_chain: Sequence[bytes],
    other_chain: Sequence[bytes],
    other_name: str,
    target_name: str,
    at: dt.datetime,
) -> CertificateProblem | None:
    """An INTERCEPTION finding when one issuer produced leaves for both the target and ``other_name``."""
    if target_name.rstrip(".").lower().endswith("example.com"):
        return None  # the target is example.com's own: its certificate may well cover the name
    target, _ = parse_chain(target_chain[:1])
    other, _ = parse_chain(other_chain[:1])
    if not target or not other:
        return None
    mine = certificate_info(target[0], 0, at, is_anchor=False)
    theirs = certificate_info(other[0], 0, at, is_anchor=False)
    if theirs.issuer != mine.issuer or theirs.self_signed or not covers(theirs.sans, other_name):
        return None
    return CertificateProblem(
        problem=ProblemKind.INTERCEPTION,
        index=0,
        subject=mine.subject,
        detail=(
            f"the issuer {mine.issuer} also signed a certificate for the unrelated name {other_name} "
            "on this path: something between client and server mints certificates for any name "
            "(a TLS-inspecting proxy or antivirus)"
        ),
    )
