"""Does a certificate cover a name? RFC 6125 section 6 for DNS names, exact match for IP addresses.

subjectAltName first. RFC 6125 section 6.4.4 allows falling back to the subject CN when
there is no DNS-ID, and OpenSSL's X509_check_host still does so unless told otherwise:
Python's ssl (``hostname_checks_common_name`` is true by default) and curl accept a
CN-only certificate. Browsers, Go (since 1.15) and rustls do not, so ``cn_fallback``
says when the name is matched only that way, for a note rather than a fault.
"""

from __future__ import annotations

import ipaddress

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(name: str) -> IpAddress | None:
    """The name as an IP address, or None when it is a DNS name ("[::1]" accepted)."""
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def normalise(name: str) -> str:
    """Lowercase A-label form, no trailing dot (RFC 6125 section 6.4.2 compares case-insensitively)."""
    name = name.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name


def dns_matches(pattern: str, name: str) -> bool:
    """One DNS-ID against one reference name, with the wildcard rules of RFC 6125 section 6.4.3.

    The wildcard is accepted only as the whole leftmost label and matches exactly one
    non-empty label ("*.example.com" covers "a.example.com", not "example.com" nor
    "a.b.example.com"). Partial-label wildcards ("w*.example.com"), which section 6.4.3
    merely permits, are refused as the CA/Browser Forum and modern clients do, and so is
    a wildcard directly over a single label ("*.com").
    """
    pattern, name = normalise(pattern), normalise(name)
    if not pattern or not name:
        return False
    if "*" not in pattern:
        return pattern == name
    first, _, rest = pattern.partition(".")
    if first != "*" or "*" in rest or rest.count(".") < 1:
        return False
    head, dot, tail = name.partition(".")
    return bool(head) and bool(dot) and tail == rest


def covers(sans: tuple[str, ...], name: str) -> bool:
    """Whether SAN entries ("DNS:x" / "IP:y", as in CertificateInfo.sans) cover ``name``.

    An IP reference matches only an iPAddress SAN (RFC 6125 section 1.7.2 / RFC 5280
    section 4.2.1.6), never a DNS SAN spelled like an address.
    """
    ip = parse_ip(name)
    for entry in sans:
        kind, _, value = entry.partition(":")
        if ip is not None:
            if kind == "IP" and parse_ip(value) == ip:
                return True
        elif kind == "DNS" and dns_matches(value, name):
            return True
    return False


def cn_fallback(sans: tuple[str, ...], name: str, common_names: tuple[str, ...]) -> bool:
    """Whether ``name`` is matched by the subject CN as OpenSSL's X509_check_host falls back to it:
    only for a DNS name, only when the certificate has no DNS SAN at all, wildcards as in a SAN."""
    if parse_ip(name) is not None or any(entry.startswith("DNS:") for entry in sans):
        return False
    return any(dns_matches(cn, name) for cn in common_names)


def mismatch_detail(sans: tuple[str, ...], name: str, common_name: str | None) -> str:
    """Why ``name`` is not covered, in one line."""
    if not sans:
        cn = f" (only subject CN={common_name}, which does not match either)" if common_name else ""
        return f"{name} is not covered: the certificate has no subjectAltName{cn}"
    shown = ", ".join(sans[:8]) + (f", ... ({len(sans)} in all)" if len(sans) > 8 else "")
    what = "IP address" if parse_ip(name) is not None else "name"
    return f"{what} {name} is not among the certificate's names: {shown}"
