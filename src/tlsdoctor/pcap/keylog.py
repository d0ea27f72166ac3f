"""Read an SSLKEYLOGFILE: the per-connection secrets that curl, browsers, Go and Python's
``SSLContext.keylog_filename`` write, keyed by the ClientHello's random.

The format is NSS's (and Wireshark's): one ``LABEL <client random hex> <secret hex>`` per line,
``#`` comments and blank lines ignored. The labels used by TLS 1.3 (RFC 8446 §7.1 names the
secrets) and the TLS 1.2 master secret (``CLIENT_RANDOM``) are kept; other labels (``RSA``
pre-master lines, ECH secrets) are counted and otherwise ignored, as Wireshark does.

A key log is user input, possibly large (a browser's grows for weeks) and possibly not a key
log at all: the file is read in bounded lines, at most :data:`MAX_FILE_BYTES` and
:data:`MAX_SESSIONS` sessions, and anything that is not a key log ends in an
:class:`~tlsdoctor.errors.InputError` with one clear line. Malformed lines inside an otherwise
valid file are skipped and counted, never fatal: one truncated last line must not cost the
user every other session.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from tlsdoctor.errors import InputError

__all__ = [
    "LABELS",
    "MAX_FILE_BYTES",
    "MAX_LINE",
    "MAX_SESSIONS",
    "KeyLog",
    "SessionSecrets",
    "parse_keylog",
    "read_keylog",
]

MAX_FILE_BYTES = 256 << 20
MAX_LINE = 1024  # a real line is under 250 bytes (label, 64 + 96 hex digits)
# About 800 bytes each in memory (measured: 100k sessions, an 89 MiB key log, 113 MiB peak RSS): the cap
# keeps `pcap --keylog` near its 200 MB budget.
MAX_SESSIONS = 100_000
_MAX_BAD_LINES_NOTED = 5

# label -> SessionSecrets field. RFC 8446 §7.1 derives these; NSS's key log format names them.
LABELS: dict[str, str] = {
    "CLIENT_RANDOM": "master_secret",  # TLS <= 1.2 (RFC 5246 §8.1), 48 bytes
    "CLIENT_EARLY_TRAFFIC_SECRET": "client_early",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "client_handshake",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": "server_handshake",
    "CLIENT_TRAFFIC_SECRET_0": "client_traffic_0",
    "SERVER_TRAFFIC_SECRET_0": "server_traffic_0",
    "EARLY_EXPORTER_SECRET": "early_exporter",
    "EARLY_EXPORTER_MASTER_SECRET": "early_exporter",  # older NSS spelling
    "EXPORTER_SECRET": "exporter",
}
_FIELD_LABEL = {name: label for label, name in reversed(LABELS.items())}
# Labels real key logs carry that we cannot use: skipped without calling the line malformed.
# OpenSSL logs each KeyUpdate's secret as *_TRAFFIC_SECRET_N; we derive those ourselves (RFC 8446 §7.2).
_KNOWN_UNUSED = frozenset(
    {
        "RSA",
        "PMS_CLIENT_RANDOM",
        "ECH_SECRET",
        "ECH_CONFIG",
        "CLIENT_TRAFFIC_SECRET_N",
        "SERVER_TRAFFIC_SECRET_N",
    }
)
# A TLS 1.3 secret is one hash output: 32 (SHA-256, SM3) or 48 (SHA-384) bytes.
_SECRET_LENGTHS = frozenset({32, 48})
_MASTER_SECRET_LEN = 48
_HEX = re.compile(rb"[0-9a-fA-F]+")
# A well-formed line: label, 32-byte client random, a 32- or 48-byte secret (CRLF and blanks tolerated).
_GOOD_LINE = re.compile(rb"\s*([A-Z0-9_]{1,40}) ([0-9a-fA-F]{64}) ([0-9a-fA-F]{96}|[0-9a-fA-F]{64})\s*")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SessionSecrets:
    """Everything the key log knows about one connection (one ClientHello.random)."""

    client_random: bytes
    master_secret: bytes | None = None
    client_early: bytes | None = None
    client_handshake: bytes | None = None
    server_handshake: bytes | None = None
    client_traffic_0: bytes | None = None
    server_traffic_0: bytes | None = None
    early_exporter: bytes | None = None
    exporter: bytes | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The key-log labels present, for a report ("has handshake secrets, no traffic secrets")."""
        return tuple(label for name, label in _FIELD_LABEL.items() if getattr(self, name) is not None)


@dataclasses.dataclass(frozen=True, slots=True)
class KeyLog:
    """Parsed key log: sessions by client random, and what was skipped (for the report)."""

    sessions: dict[bytes, SessionSecrets]
    lines: int = 0
    bad_lines: int = 0
    bad_examples: tuple[str, ...] = ()  # "line 7: secret is not hex", at most a few
    unused_labels: int = 0

    def get(self, client_random: bytes) -> SessionSecrets | None:
        return self.sessions.get(client_random)

    def __len__(self) -> int:
        return len(self.sessions)

    def describe(self) -> str:
        text = f"{len(self.sessions)} session(s) in {self.lines} line(s)"
        if self.bad_lines:
            text += f"; {self.bad_lines} malformed line(s) skipped ({'; '.join(self.bad_examples)})"
        return text


def _parse_line(line: bytes) -> tuple[str, bytes, bytes] | str | None:
    """(label, client random, secret); None for a line to ignore; a str says what is wrong."""
    fast = _GOOD_LINE.fullmatch(line)  # nearly every line: one regex, then the slow path only to say why not
    if fast is not None:
        label = fast[1].decode("ascii")
        if label in LABELS and (label != "CLIENT_RANDOM" or len(fast[3]) == 2 * _MASTER_SECRET_LEN):
            return label, bytes.fromhex(fast[2].decode("ascii")), bytes.fromhex(fast[3].decode("ascii"))
    line = line.strip()
    if not line or line.startswith(b"#"):
        return None
    if len(line) > MAX_LINE:
        return f"longer than {MAX_LINE} bytes"
    parts = line.split()
    if len(parts) != 3:
        return f"{len(parts)} fields, expected LABEL CLIENT_RANDOM SECRET"
    raw_label, random_hex, secret_hex = parts
    if not raw_label.isascii() or not raw_label.replace(b"_", b"").isalnum():
        return "label is not a key-log label"
    label = raw_label.decode("ascii")
    if label in _KNOWN_UNUSED:
        return label
    if label not in LABELS:
        return f"unknown label {label[:40]}"
    if not _HEX.fullmatch(random_hex) or len(random_hex) != 64:
        return "client random is not 64 hex digits"
    if not _HEX.fullmatch(secret_hex) or len(secret_hex) % 2:
        return "secret is not hex"
    secret = bytes.fromhex(secret_hex.decode("ascii"))
    expected = {_MASTER_SECRET_LEN} if label == "CLIENT_RANDOM" else _SECRET_LENGTHS
    if len(secret) not in expected:
        return f"{label} secret of {len(secret)} bytes"
    return label, bytes.fromhex(random_hex.decode("ascii")), secret


def parse_keylog(lines: Iterable[bytes], *, source: str = "key log") -> KeyLog:
    """Parse key-log lines (bytes, as read; no I/O here). Raises :class:`InputError` when
    nothing in them is a key log, or when they hold more than :data:`MAX_SESSIONS` sessions."""
    found: dict[bytes, dict[str, bytes]] = {}
    count = bad = unused = 0
    examples: list[str] = []
    first_problem: str | None = None
    for count, line in enumerate(lines, 1):
        parsed = _parse_line(line)
        if parsed is None:
            continue
        if isinstance(parsed, str):
            if parsed in _KNOWN_UNUSED:
                unused += 1
                continue
            bad += 1
            first_problem = first_problem or f"line {count}: {parsed}"
            if len(examples) < _MAX_BAD_LINES_NOTED:
                examples.append(f"line {count}: {parsed}")
            continue
        label, client_random, secret = parsed
        entry = found.get(client_random)
        if entry is None:
            if len(found) >= MAX_SESSIONS:
                raise InputError(
                    f"{source}: more than {MAX_SESSIONS} sessions; keep only the lines of the "
                    "capture's time span (the client randoms of its ClientHellos)"
                )
            entry = found[client_random] = {}
        entry[LABELS[label]] = secret  # a repeated line: the last one wins
    if not found and not unused:
        if count == 0:
            raise InputError(f"{source} is empty")
        if bad:
            raise InputError(f"{source} is not an SSLKEYLOGFILE ({first_problem})")
        raise InputError(f"{source} holds no secrets (only comments or blank lines)")
    sessions = {cr: SessionSecrets(client_random=cr, **fields) for cr, fields in found.items()}
    return KeyLog(sessions, count, bad, tuple(examples), unused)


def _bounded_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Split chunks into lines, holding at most MAX_LINE bytes of an unfinished line: an endless
    line is yielded cut (so reported as too long) and the rest of it is dropped unread."""
    pending = b""
    skipping = False  # inside the tail of an overlong line
    for chunk in chunks:
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        for line in parts:
            if skipping:
                skipping = False
                continue
            yield line
        if len(pending) > MAX_LINE:
            if not skipping:
                yield pending[: MAX_LINE + 1]
            skipping, pending = True, b""
    if pending and not skipping:
        yield pending


def read_keylog(path: str | Path) -> KeyLog:
    """Read and parse the key log at ``path``; every failure is an :class:`InputError`."""
    source = f"key log {str(path)!r}"
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            if size > MAX_FILE_BYTES:
                raise InputError(
                    f"{source} is {size >> 20} MiB, over the {MAX_FILE_BYTES >> 20} MiB limit; keep only "
                    "the lines of the capture's time span"
                )
            f.seek(0)
            chunks = iter(lambda: f.read(1 << 16), b"")
            return parse_keylog(_bounded_lines(chunks), source=source)
    except InputError:
        raise
    except IsADirectoryError:
        raise InputError(f"{source} is a directory") from None
    except OSError as exc:
        raise InputError(f"{source} cannot be read: {exc.strerror or exc}") from None
