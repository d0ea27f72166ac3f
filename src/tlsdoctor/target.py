"""Targets: ``host``, ``host:port``, ``[v6addr]:port`` or an ``https://`` URL (contract/cli.md)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from tlsdoctor.errors import UsageError

DEFAULT_PORT = 443
MAX_ECHO = 60  # characters of the user's input an error line repeats; longer input is cut
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.IGNORECASE)
_SCHEME_PORTS = {
    "https": 443,
    "wss": 443,
    "ldaps": 636,
    "imaps": 993,
    "pop3s": 995,
    "smtps": 465,
    "ftps": 990,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """A parsed endpoint. ``host`` is an IDNA (punycode) name or a literal address."""

    host: str
    port: int
    original: str
    is_ip: bool
    scheme: str | None = None  # the URL scheme ("https"), None for host[:port]

    @property
    def display(self) -> str:
        """host:port, with brackets around IPv6 literals."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def shown(text: str) -> str:
    """The user's input as an error line repeats it: quoted with control characters escaped
    (``repr``), and cut after MAX_ECHO characters saying how long it was, so that a pasted
    100 KB argument still gives a one-line error."""
    if len(text) <= MAX_ECHO:
        return repr(text)
    return f"{text[:MAX_ECHO]!r}... ({len(text)} characters)"


def parse_number(text: str, low: int, high: int, what: str) -> int:
    """A whole number low..high written in ASCII digits, else a UsageError naming ``what``.

    ``str.isdigit`` and ``int`` also accept other scripts' digits ("٤٤٣"), which no other tool
    reads as a port; and ``int`` refuses more than 4300 digits with its own error. Both are
    checked here, before any conversion.
    """
    expected = f"expected a whole number from {low} to {high}"
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"invalid {what} {shown(text)}: {expected}")
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)) or not low <= int(digits) <= high:
        raise UsageError(f"invalid {what} {shown(text)}: {expected}")
    return int(digits)


def parse_port(text: str, what: str = "port") -> int:
    """A TCP port 1-65535, or a UsageError that says what was wrong."""
    return parse_number(text, 1, 65535, what)


def split_endpoint(text: str, default_port: int, what: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6addr]`` or ``[v6addr]:port`` (or a bare IPv6 literal,
    which has no port) -> (host as given, port). Anything after ``]`` but ``:port`` is an error."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise UsageError(f"invalid {what} {shown(text)}: missing ']'")
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise UsageError(f"invalid {what} {shown(text)}: expected ':port' after ']'")
        return host, parse_port(rest[1:], f"port in {what}")
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, parse_port(port, f"port in {what}")
    return text, default_port


def parse_endpoint(
    text: str, default_port: int, what: str, *, ip_only: bool = False
) -> tuple[str, int, bool]:
    """A validated endpoint option (--resolver, --ntp, a proxy's authority): (ascii host, port, is_ip)."""
    if not text.strip():
        raise UsageError(f"empty {what}")
    host, port = split_endpoint(text.strip(), default_port, what)
    if ip_only:
        try:
            return str(ipaddress.ip_address(host)), port, True
        except ValueError:
            raise UsageError(f"invalid {what} {shown(text)}: expected an IP address") from None
    ascii_host, is_ip = normalize_host(host, what)
    return ascii_host, port, is_ip


def join_endpoint(host: str, port: int) -> str:
    """host:port, with brackets around an IPv6 literal."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def idna_name(name: str, what: str = "host") -> str:
    """A Unicode host name in its ASCII (A-label) form, by IDNA 2008 with UTS #46 processing as
    browsers and curl (libidn2) do: nontransitional, so ``straße.de`` is ``xn--strae-oqa.de``,
    not IDNA 2003's ``strasse.de`` (Python's built-in "idna" codec); symbols such as ``☃`` are
    disallowed (RFC 5892) and rejected. The ``idna`` package implements both tables."""
    import idna  # only for non-ASCII names

    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:  # InvalidCodepoint and friends are subclasses
        raise UsageError(
            f"invalid {what} {shown(name)}: not a valid internationalised name ({exc})"
        ) from None


def normalize_host(host: str, what: str = "host") -> tuple[str, bool]:
    """Validate a host name or address literal; return (ascii form, is_ip)."""
    if not host:
        raise UsageError(f"empty {what} name")
    if any(c.isspace() for c in host):
        raise UsageError(f"invalid {what} {shown(host)}: contains white space")
    try:
        return str(ipaddress.ip_address(host)), True
    except ValueError:
        pass
    if ":" in host:
        raise UsageError(
            f"invalid {what} {shown(host)}: an IPv6 address with a port must be written [addr]:port"
        )
    name = host.rstrip(".")
    ascii_name = name if name.isascii() else idna_name(name, what)
    if len(ascii_name) > 253:
        raise UsageError(f"invalid {what} name: {len(ascii_name)} characters, the limit is 253")
    for label in ascii_name.split("."):
        if not _LABEL.match(label):
            if len(label) > 63:
                raise UsageError(f"invalid {what} name: label of {len(label)} characters (the limit is 63)")
            raise UsageError(f"invalid {what} name {shown(host)}: bad label {shown(label)}")
    return ascii_name.lower(), False


def parse_target(text: str, port: int | None = None) -> Target:
    """Parse TARGET; ``port`` (from --port) applies when TARGET names none."""
    raw = text.strip()
    if not raw:
        raise UsageError("empty target: give host, host:port, [v6addr]:port or an https:// URL")
    host: str
    found_port: int | None = None
    scheme: str | None = None
    if "://" in raw:
        host, found_port = _url_authority(raw)
        scheme = url_parts(raw, "target URL")[0]
    elif raw.startswith("["):
        host, found_port = split_endpoint(raw, 0, "target")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"invalid IPv6 address {shown(host)}") from None
        found_port = found_port or None
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
        found_port = parse_port(port_text)
    elif raw.count(":") > 1:
        # An unbracketed IPv6 literal is ambiguous ("::1:443" reads as address ::1:443 or as ::1
        # port 443), so the contract's bracketed form is required.
        raise UsageError(
            f"invalid target {shown(raw)}: write an IPv6 address in brackets, [addr] or [addr]:port"
        )
    else:
        host = raw
    if found_port is not None and port is not None and found_port != port:
        raise UsageError(f"conflicting ports: {found_port} in the target and {port} from --port")
    ascii_host, is_ip = normalize_host(host)
    return Target(
        host=ascii_host, port=found_port or port or DEFAULT_PORT, original=raw, is_ip=is_ip, scheme=scheme
    )


def redact_userinfo(url: str) -> str:
    """``url`` with everything between the scheme and the last '@' replaced by ``***``: the
    credentials of ``http://user:pass@host`` never reach a message, a report or a log. Done on
    the raw text, so that a URL too broken to parse (``socks5://u:p@[::1``) is redacted too."""
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"


_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,15}://)[^\s/?#@\"'<>]+@")
_AUTH_HEADER = re.compile(
    r"\b((?:Proxy-)?Authorization:\s*(?:Basic|Bearer|Digest|Negotiate|NTLM)\s+)[^\s\"']+", re.I
)


def redact_text(text: str) -> str:
    """Free text (a pasted log for ``explain``) with the credentials of every URL in it, and the
    tokens of (Proxy-)Authorization headers, replaced by ``***``: what the user pastes is quoted
    back in reports, and a proxy password must not be."""
    return _AUTH_HEADER.sub(r"\1***", _URL_USERINFO.sub(r"\1***@", text))


def url_parts(raw: str, what: str) -> tuple[str, str, str]:
    """(scheme, userinfo, host[:port]) of a URL, split by hand: ``urllib`` raises a bare ValueError
    on "[::1" and reads ports with ``int`` (other scripts' digits, 4300-digit limit)."""
    scheme, _, rest = raw.partition("://")
    if not scheme or not scheme.isascii() or not scheme.replace("+", "").replace("-", "").isalnum():
        raise UsageError(f"invalid {what} {shown(redact_userinfo(raw))}: no scheme")
    netloc = rest
    for stop in "/?#":
        netloc = netloc.partition(stop)[0]
    userinfo, at, hostport = netloc.rpartition("@")
    return scheme.lower(), userinfo if at else "", hostport


def _url_authority(raw: str) -> tuple[str, int]:
    """The host and port of an https:// (or other TLS scheme) TARGET URL."""
    scheme, _, hostport = url_parts(raw, "target URL")
    if scheme not in _SCHEME_PORTS:
        raise UsageError(f"unsupported URL scheme {shown(scheme)}: use https:// (or give host:port)")
    if not hostport:
        raise UsageError(f"no host in URL {shown(redact_userinfo(raw))}")
    host, port = split_endpoint(hostport, _SCHEME_PORTS[scheme], "target URL")
    if not host:
        raise UsageError(f"no host in URL {shown(redact_userinfo(raw))}")
    if hostport.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"invalid IPv6 address {shown(host)} in URL") from None
    return host, port
