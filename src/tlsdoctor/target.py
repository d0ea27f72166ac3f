"""Targets: ``host``, ``host:port``, ``[v6addr]:port`` or an ``https://`` URL (contract/cli.md)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import urllib.parse

from tlsdoctor.errors import UsageError

DEFAULT_PORT = 443
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

    @property
    def display(self) -> str:
        """host:port, with brackets around IPv6 literals."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_port(text: str) -> int:
    """A TCP port 1-65535, or a UsageError that says what was wrong."""
    if not text.isdigit():
        raise UsageError(f"invalid port {text!r}: expected a number from 1 to 65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise UsageError(f"invalid port {port}: expected a number from 1 to 65535")
    return port


def normalize_host(host: str) -> tuple[str, bool]:
    """Validate a host name or address literal; return (ascii form, is_ip)."""
    if not host:
        raise UsageError("empty host name")
    if any(c.isspace() for c in host):
        raise UsageError(f"invalid host {host!r}: contains white space")
    try:
        return str(ipaddress.ip_address(host)), True
    except ValueError:
        pass
    if ":" in host:
        raise UsageError(f"invalid host {host!r}: an IPv6 address with a port must be written [addr]:port")
    name = host.rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError as exc:
        raise UsageError(f"invalid host {host!r}: not a valid internationalised name ({exc})") from None
    if len(ascii_name) > 253:
        raise UsageError(f"invalid host name: {len(ascii_name)} characters, the limit is 253")
    for label in ascii_name.split("."):
        if not _LABEL.match(label):
            if len(label) > 63:
                raise UsageError(f"invalid host name: label of {len(label)} characters (the limit is 63)")
            raise UsageError(f"invalid host name {host!r}: bad label {label!r}")
    return ascii_name.lower(), False


def parse_target(text: str, port: int | None = None) -> Target:
    """Parse TARGET; ``port`` (from --port) applies when TARGET names none."""
    raw = text.strip()
    if not raw:
        raise UsageError("empty target: give host, host:port, [v6addr]:port or an https:// URL")
    host: str
    found_port: int | None = None
    if "://" in raw:
        url = urllib.parse.urlsplit(raw)
        if url.scheme.lower() not in _SCHEME_PORTS:
            raise UsageError(f"unsupported URL scheme {url.scheme!r}: use https:// (or give host:port)")
        if not url.hostname:
            raise UsageError(f"no host in URL {raw!r}")
        host = url.hostname
        try:
            found_port = url.port
        except ValueError:
            raise UsageError(f"invalid port in URL {raw!r}") from None
        if found_port == 0:
            raise UsageError("invalid port 0: expected a number from 1 to 65535")
        if found_port is None:
            found_port = _SCHEME_PORTS[url.scheme.lower()]
    elif raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise UsageError(f"invalid target {raw!r}: missing ']'")
        host = raw[1:end]
        rest = raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"invalid target {raw!r}: expected ':port' after ']'")
            found_port = parse_port(rest[1:])
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"invalid IPv6 address {host!r}") from None
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
        found_port = parse_port(port_text)
    elif raw.count(":") > 1:
        # An unbracketed IPv6 literal is ambiguous ("::1:443" reads as address ::1:443 or as ::1
        # port 443), so the contract's bracketed form is required.
        raise UsageError(f"invalid target {raw!r}: write an IPv6 address in brackets, [addr] or [addr]:port")
    else:
        host = raw
    if found_port is not None and port is not None and found_port != port:
        raise UsageError(f"conflicting ports: {found_port} in the target and {port} from --port")
    ascii_host, is_ip = normalize_host(host)
    return Target(host=ascii_host, port=found_port or port or DEFAULT_PORT, original=raw, is_ip=is_ip)
