"""What a server's certificate chain, seen in clear in a capture (TLS <= 1.2), shows by itself.

No trust store is consulted: the client's is not ours. What the chain alone says is enough to tell the
usual readings of a client's certificate alert apart: a self-signed leaf, a leaf sent without its
issuer, a name the leaf does not cover, a validity window that does not hold at the capture's time.
"""

from __future__ import annotations

import datetime as dt


def chain_lines(certs: tuple[bytes, ...]) -> tuple[str, ...]:
    """ "subject (issued by issuer)" per certificate, as sent."""
    from tlsdoctor.certs.info import load_der, name_text

    out = []
    for der in certs[:6]:
        try:
            cert = load_der(der)
        except ValueError:
            out.append("(undecodable certificate)")
            continue
        out.append(f"{name_text(cert.subject)} (issued by {name_text(cert.issuer)})")
    return tuple(out)


def chain_issues(certs: tuple[bytes, ...], sni: str | None, ts: float) -> tuple[str, ...]:
    """The chain's own problems, judged at the capture time ``ts`` (seconds since the epoch)."""
    if not certs:
        return ()
    from tlsdoctor.certs.info import is_self_signed, load_der, sans, signed_by
    from tlsdoctor.certs.names import covers

    try:
        chain = [load_der(der) for der in certs[:8]]
    except ValueError:
        return ("the leaf certificate does not decode",)
    leaf = chain[0]
    at = dt.datetime.fromtimestamp(ts, dt.UTC)
    issues = []
    for i, cert in enumerate(chain):
        which = "the leaf" if i == 0 else f"chain certificate {i}"
        if cert.not_valid_after_utc < at:
            issues.append(f"{which} expired on {cert.not_valid_after_utc:%Y-%m-%d}, before the capture")
        elif cert.not_valid_before_utc > at:
            issues.append(
                f"{which} is valid only from {cert.not_valid_before_utc:%Y-%m-%d}, after the capture"
            )
    if is_self_signed(leaf):
        issues.append("the leaf is self-signed")
    elif len(chain) == 1:
        issues.append("the server sent only the leaf, not its issuer")
    elif not signed_by(leaf, chain[1]):
        issues.append("the second certificate did not sign the leaf (chain out of order or wrong)")
    if sni and not covers(sans(leaf), sni):
        names = ", ".join(sans(leaf)[:4]) or "none"
        issues.append(f"the leaf does not cover {sni} (its names: {names})")
    if not issues:
        issues.append(
            f"valid at the capture time ({at:%Y-%m-%d}), chain of {len(chain)}"
            + (f", covers {sni}" if sni else "")
        )
    return tuple(issues)
