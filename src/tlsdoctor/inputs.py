"""Every value a user hands diagnose or scan is checked here, once, before any probe runs.

The command line (cli.py) and the library (``tlsdoctor.diagnose``) both call
:func:`diagnose_options`, so they accept and refuse the same values with the same message: the
CLI prints it as one line with exit status 2, the library raises it as ``ValueError``.
Files named by the user are read (bounded) and loaded the way the probes will load them, so a
key where a certificate belongs fails here, not as a crashed check after the run.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.target import join_endpoint, normalize_host, parse_endpoint, parse_number, parse_target, shown

if TYPE_CHECKING:
    from tlsdoctor.context import Options

MAX_TIMEOUT_S = 3600.0
MAX_REPEAT = 1000
MAX_RESOLVERS = 8  # checks/dns.py asks at most this many; more is a mistake, not a wish
NTP_PORT = 123
DNS_PORT = 53
# A --ca-file bundle above this size is refused. This machine's system bundle is 0.2 MiB (144
# roots); 16 MiB is 75 times that, room for some 8,000 certificates at about 2 KB of PEM each, more
# than a trust store plus every intermediate a private PKI could want. A bigger file is a mistake
# (a log, a disk image, a concatenation gone wrong), and it would cost seconds of CPU per run.
MAX_CA_FILE_BYTES = 16 << 20
MAX_CLIENT_PEM_BYTES = 1 << 20  # a client certificate, its chain and its key are a few KB
# The --starttls values (contract/cli.md): wire.starttls.PROTOCOLS, repeated here so --help stays fast.
STARTTLS_PROTOCOLS = ("smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "postgres", "mysql")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")  # ASCII only: no "nan", "1e9" or "٢"


def seconds(value: object, what: str = "--timeout") -> float:
    """A duration in seconds, more than 0 and at most an hour, written in ASCII decimal digits
    (CLI) or given as a finite number (library)."""
    expected = f"expected seconds, more than 0 and at most {MAX_TIMEOUT_S:.0f}"
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 32 or not _DECIMAL.fullmatch(text):
            raise UsageError(f"invalid {what} {shown(value)}: {expected}")
        number = float(text)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise UsageError(f"invalid {what} {value!r}: {expected}")
    if not (math.isfinite(number) and 0 < number <= MAX_TIMEOUT_S):
        raise UsageError(f"invalid {what} {shown(str(value))}: {expected}")
    return number


def count(value: object, low: int, high: int, what: str) -> int:
    """A whole number low..high: ASCII digits (CLI) or an int (library)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise UsageError(f"invalid {what} {value!r}: expected a whole number from {low} to {high}")
    return parse_number(value.strip(), low, high, what)


def resolver_address(text: str) -> str:
    """--resolver IP[:PORT] ([v6]:port) in the canonical form checks/dns.py reads."""
    host, port, _ = parse_endpoint(text, DNS_PORT, "--resolver", ip_only=True)
    if port == DNS_PORT:
        return host
    return join_endpoint(host, port)


def ntp_server(text: str) -> str:
    """--ntp HOST[:PORT]: a host name or address, as checks/clock.py reads it."""
    host, port, _ = parse_endpoint(text, NTP_PORT, "--ntp")
    return host if port == NTP_PORT and ":" not in host else join_endpoint(host, port)


def connect_address(text: str, host: str, port: int) -> tuple[str, int]:
    """--connect-to (contract/cli.md) -> (address, port) to connect to instead of resolving.

    ``ADDR``, ``ADDR:PORT`` (``[v6]:PORT``), or curl's ``HOST:PORT:ADDR:PORT``, whose HOST and
    PORT, when not empty, must be the target's (curl applies the mapping only to them; here
    there is one target, so another one is a mistake worth saying). ADDR is an IP address:
    resolving a name is what --connect-to exists to avoid.
    """
    what = "--connect-to"
    if not text.strip():
        raise UsageError(f"empty {what}")
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]"))), port
    except ValueError:
        pass
    mapping = text.strip()
    if not mapping.startswith("[") and mapping.count(":") >= 3:
        for_host, _, rest = mapping.partition(":")
        for_port, _, mapping = rest.partition(":")
        if for_host and normalize_host(for_host, what)[0] != host:
            raise UsageError(f"{what} {shown(text)} maps {shown(for_host)}, not the target host {host}")
        if for_port and parse_number(for_port, 1, 65535, f"port in {what}") != port:
            raise UsageError(f"{what} {shown(text)} maps port {for_port}, not the target's port {port}")
    address, new_port, _ = parse_endpoint(mapping, port, what, ip_only=True)
    return address, new_port


def _read_bounded(path: Path, what: str, limit: int) -> bytes:
    """The file's bytes, refusing directories, unreadable files and anything over ``limit``."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"cannot read {what} {shown(str(path))}: it is a directory")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise InputError(_too_big(path, what, info.st_size, limit))
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {shown(str(path))}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(_too_big(path, what, None, limit))
    return data


def _too_big(path: Path, what: str, size: int | None, limit: int) -> str:
    said = f"{size / (1 << 20):.1f} MiB" if size is not None else "larger"
    return f"{what} {shown(str(path))} is {said}; the limit is {limit >> 20} MiB"


def _pem_kinds(data: bytes) -> list[str]:
    """The PEM block types in a file ("CERTIFICATE", "PRIVATE KEY", ...), in order."""
    return [m.decode("ascii", "replace") for m in re.findall(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----", data)]


# A certificate block, its body up to the END line (or to the end of the file: a truncated block).
_CERT_BLOCK = re.compile(rb"-----BEGIN ((?:TRUSTED )?CERTIFICATE)-----(.*?)(-----END \1-----|\Z)", re.DOTALL)


def ca_bundle(path: Path | str) -> Path:
    """--ca-file: a PEM bundle of at most MAX_CA_FILE_BYTES holding certificates.

    Every certificate block must decode (base64 of a DER SEQUENCE) and the first must load in
    OpenSSL, as the handshake will load the file. Loading all of a large bundle here would cost
    about 0.11 s of CPU per MiB (1.7 s for 15 MiB) before the run, for work the handshake does
    again; these checks cost a fifth of that and catch what users get wrong: a key, a CSR or a
    DER file in its place, a block cut short or mangled by copy and paste.
    """
    import binascii
    import ssl

    path = Path(path)
    data = _read_bounded(path, "--ca-file", MAX_CA_FILE_BYTES)
    blocks = list(_CERT_BLOCK.finditer(data))
    if not blocks:
        kinds = _pem_kinds(data)
        found = f"it holds {', '.join(sorted(set(kinds)))}" if kinds else "no '-----BEGIN' line"
        raise InputError(f"--ca-file {shown(str(path))} holds no certificate ({found})")
    for number, block in enumerate(blocks, 1):
        try:
            der = binascii.a2b_base64(b"".join(block.group(2).split()), strict_mode=True)
        except binascii.Error:
            der = b""
        if der[:1] != b"\x30" or not block.group(3):  # not base64 of a DER SEQUENCE, or no END line
            raise InputError(f"--ca-file {shown(str(path))}: certificate {number} is not valid PEM")
    first = blocks[0].group(0)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=first.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        why = _ssl_reason(exc)
        raise InputError(f"--ca-file {shown(str(path))} is not a usable PEM bundle: {why}") from None
    return path


class _Encrypted(Exception):
    """Raised by the password callback: the key needs a passphrase we cannot ask for."""


def _no_password() -> str:
    raise _Encrypted


def client_identity(cert: Path | str | None, key: Path | str | None) -> tuple[Path | None, Path | None]:
    """--cert and --key: a certificate, and its private key (in --key, or in the --cert file),
    that OpenSSL accepts as a pair, exactly as the handshake will load them."""
    if cert is None:
        if key is not None:
            raise UsageError("--key needs --cert")
        return None, None
    import ssl

    cert, key = Path(cert), Path(key) if key is not None else None
    cert_kinds = _pem_kinds(_read_bounded(cert, "--cert", MAX_CLIENT_PEM_BYTES))
    if "CERTIFICATE" not in cert_kinds:
        raise InputError(f"--cert {shown(str(cert))} holds no certificate")
    has_key = any(k.endswith("PRIVATE KEY") for k in cert_kinds)
    if key is None and not has_key:
        raise UsageError(f"--cert {shown(str(cert))} holds no private key: name the key file with --key")
    if key is not None:
        key_kinds = _pem_kinds(_read_bounded(key, "--key", MAX_CLIENT_PEM_BYTES))
        if not any(k.endswith("PRIVATE KEY") for k in key_kinds):
            raise InputError(f"--key {shown(str(key))} holds no private key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(str(cert), str(key) if key else None, password=_no_password)
    except _Encrypted:
        raise InputError(
            f"the key in {shown(str(key or cert))} is encrypted: give an unencrypted copy "
            "(openssl pkey -in KEY -out PLAIN)"
        ) from None
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            pair = f"--key {shown(str(key or cert))} does not match --cert {shown(str(cert))}"
            raise InputError(pair) from None
        raise InputError(f"cannot use --cert/--key: {_ssl_reason(exc)}") from None
    except OSError as exc:
        raise InputError(f"cannot read --cert/--key: {exc.strerror or exc}") from None
    return cert, key


def _ssl_reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc).split("] ", 1)[-1]


def report_path(path: Path | str | None) -> Path | None:
    """--report FILE: fail before the run, not after it, when the report cannot be written there.

    The file is opened as the report will be written (created if missing, never truncated here),
    and zero bytes are written to it: a device that refuses every write (/dev/full) fails on
    that, a directory or an unwritable place fails on the open. A file this check created is
    removed again, so a run that never gets to its report leaves nothing behind.
    """
    if path is None:
        return None
    path = Path(path)
    existed = os.path.lexists(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, b"")
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot write --report {shown(str(path))}: {exc.strerror or exc}") from None
    if not existed:
        os.unlink(path)
    return path


def fingerprint(text: str | None) -> str | None:
    """--expect-fingerprint as lowercase hex ("AA:BB:..", "sha256:..." accepted), else a usage error."""
    if text is None:
        return None
    from tlsdoctor.certs.analysis import normalise_fingerprint

    value = normalise_fingerprint(text)
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise UsageError(f"invalid --expect-fingerprint {shown(text)}: expected a SHA-256 (64 hex digits)")
    return value


def client_profile(name: str | None) -> str | None:
    """--client NAME (contract/cli.md): one of the client profiles (clientsim/profiles.toml, the
    same table `scan` replays); an unknown name is refused with the closest known ones."""
    if name is None:
        return None
    from tlsdoctor.clientsim.profiles import profile_names

    names = profile_names()
    if name in names:
        return name
    near = difflib.get_close_matches(str(name).lower(), names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else f"; one of: {', '.join(names)}"
    raise UsageError(f"unknown --client {shown(str(name))}{hint}")


def _proxy(host: str, proxy: str | None, no_proxy: bool, environ: Mapping[str, str] | None) -> None:
    """The proxy that will be used (--proxy, else the environment's) parses, now rather than mid-run."""
    if proxy is not None and no_proxy:
        raise UsageError("--proxy and --no-proxy exclude each other")
    if proxy is None and (no_proxy or not any(k.lower() == "https_proxy" for k in (environ or os.environ))):
        return
    from tlsdoctor.net.proxy import parse_proxy_url, proxy_for

    if proxy is not None:
        parse_proxy_url(proxy)
    else:
        proxy_for(host, None, no_proxy)


def diagnose_options(
    target: str,
    *,
    port: object = None,
    servername: str | None = None,
    connect_to: str | None = None,
    resolver: Iterable[str] | str = (),
    ca_file: Path | str | None = None,
    proxy: str | None = None,
    no_proxy: bool = False,
    timeout: object = 5.0,
    repeat: object = None,
    ntp: str | None = None,
    cert: Path | str | None = None,
    key: Path | str | None = None,
    starttls: str | None = None,
    idle: object = None,
    expect_fingerprint: str | None = None,
    client: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Options:
    """Validate diagnose's (and scan's) arguments into Options; the first bad one raises
    UsageError or InputError with the one-line message the CLI prints."""
    from tlsdoctor.context import Options

    parsed = parse_target(target, None if port is None else count(port, 1, 65535, "--port"))
    resolvers = [resolver] if isinstance(resolver, str) else list(resolver)
    if len(resolvers) > MAX_RESOLVERS:
        raise UsageError(f"too many --resolver: {len(resolvers)} given, at most {MAX_RESOLVERS} are asked")
    if starttls is not None and starttls not in STARTTLS_PROTOCOLS:
        raise UsageError(f"invalid --starttls {shown(starttls)}: one of {', '.join(STARTTLS_PROTOCOLS)}")
    step_timeout = seconds(timeout)
    idle_limit = None if idle is None else seconds(idle, "--idle")
    client_name = client_profile(client)
    repeats = 0 if repeat is None else count(repeat, 1, MAX_REPEAT, "--repeat")
    _proxy(parsed.host, proxy, no_proxy, environ)
    cert_path, key_path = client_identity(cert, key)
    address, connect_port = connect_address(connect_to, parsed.host, parsed.port) if connect_to else (None, 0)
    return Options(
        host=parsed.host,
        port=connect_port or parsed.port,
        servername=normalize_host(servername, "--servername")[0] if servername else None,
        connect_to=address,
        resolvers=tuple(dict.fromkeys(resolver_address(r) for r in resolvers)),
        ca_file=ca_bundle(ca_file) if ca_file is not None else None,
        proxy=proxy,
        no_proxy=no_proxy,
        timeout=step_timeout,
        repeat=repeats,
        ntp=ntp_server(ntp) if ntp is not None else None,
        cert=cert_path,
        key=key_path,
        host_is_ip=parsed.is_ip,
        scheme=parsed.scheme,
        starttls=starttls,
        expect_fingerprint=fingerprint(expect_fingerprint),
        idle=idle_limit,
        client=client_name,
    )
