"""Numbers in error text: errno values per OS and OpenSSL packed error codes.

A number alone is ambiguous: errno 60 is ETIMEDOUT on macOS but ENOSTR on Linux, and
`error:14094410` only means "alert 40 received" once its bit fields are unpacked. The
decoders here pick a reading and say why, so the report never hides a guess.
"""

from __future__ import annotations

import dataclasses
import re

from tlsdoctor.explain.knowledge import OS_LABELS, OSES, ErrnoEntry, Knowledge, knowledge
from tlsdoctor.explain.prefilter import lower_ascii

_EAI_CONTEXT = re.compile(r"gaierror|getaddrinfo|nodename nor servname", re.IGNORECASE)
_LIB_NAMES = {2: "system", 11: "X509", 20: "SSL"}


@dataclasses.dataclass(frozen=True, slots=True)
class ErrnoReading:
    """Which errno a number is, on which OS numbering, and why that reading was chosen."""

    number: int
    entry: ErrnoEntry
    os: str
    reason: str
    others: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.entry.name

    def describe(self) -> str:
        """E.g. "errno 54 read as ECONNRESET (macOS/BSD numbering: ...; on Linux 54 is EXFULL)"."""
        tail = "; ".join((self.reason, *self.others))
        return f"{self.number} read as {self.name} ({OS_LABELS[self.os]} numbering: {tail})"


_HINT_CACHE: list[tuple[str, Knowledge, tuple[str, str] | None]] = []


def _hinted_os(text: str, kb: Knowledge) -> tuple[str, str] | None:
    """The OS the text most mentions; remembered for the last text (read_errno asks per number)."""
    if _HINT_CACHE and _HINT_CACHE[0][0] is text and _HINT_CACHE[0][1] is kb:
        return _HINT_CACHE[0][2]
    found = _find_hinted_os(text, kb)
    _HINT_CACHE[:] = [(text, kb, found)]
    return found


def _find_hinted_os(text: str, kb: Knowledge) -> tuple[str, str] | None:
    """The OS the text most mentions (Darwin, C:\\, schannel...), with the word that said so."""
    best: tuple[int, str, str] | None = None
    text = lower_ascii(text)
    for os in OSES:
        hits = [m.group(0) for h in kb.os_hints.get(os, ()) if (m := h.search(text))]
        if hits and (best is None or len(hits) > best[0]):
            best = (len(hits), os, hits[0])
    return (best[1], best[2]) if best else None


def _other_readings(number: int, chosen: str, name: str, eai: bool, kb: Knowledge) -> tuple[str, ...]:
    """What the same number means on the other systems (when it differs)."""
    out: list[str] = []
    for os in OSES:
        if os == chosen:
            continue
        names = [e.name for e in kb.errnos if e.eai == eai and e.numbers.get(os) == number]
        if not eai and not names and number in kb.other_names.get(os, {}):
            names = [kb.other_names[os][number]]
        if names and names[0] != name:
            out.append(f"on {OS_LABELS[os]} {number} is {names[0]}")
    return tuple(out)


def read_errno(
    number: int,
    text: str = "",
    *,
    after: str = "",
    os: str | None = None,
    eai: bool = False,
    kb: Knowledge | None = None,
) -> ErrnoReading | None:
    """Read ``number`` as an errno (or EAI_* code when ``eai``).

    ``after`` is the text right after the number (where strerror is printed); ``text`` the
    whole input, searched for OS hints; ``os`` forces a numbering (WinError, WSA...).
    Preference: forced OS, Windows range, matching strerror, OS hints, the only OS with a
    network meaning, then Linux.
    """
    kb = kb or knowledge()
    cands = [(o, e) for e in kb.errnos if e.eai == eai for o, n in e.numbers.items() if n == number]
    if not cands:
        return None
    chosen: tuple[str, ErrnoEntry] | None = None
    reason = ""
    if os is None and number >= 10000:
        os = "windows"
    if os is not None:
        chosen = next(((o, e) for o, e in cands if o == os), None)
        reason = "the text says it is a Windows/Winsock code" if os == "windows" else "its context says so"
    if chosen is None and after:
        for o, e in cands:
            m = e.strerror.search(after) if e.strerror else None
            if m:
                chosen, reason = (o, e), f"the message beside it, {m.group(0)!r}, is {e.name}'s"
                break
    if chosen is None and (hint := _hinted_os(text, kb)):
        chosen = next(((o, e) for o, e in cands if o == hint[0]), None)
        reason = f"the text mentions {hint[1]!r}"
    if chosen is None:
        oses = {o for o, _ in cands}
        if len({e.name for _, e in cands}) == 1 and len(oses) > 1:
            pick = "linux" if "linux" in oses else sorted(oses)[0]
            chosen = next((o, e) for o, e in cands if o == pick)
            reason = "the same on " + " and ".join(OS_LABELS[o] for o in OSES if o in oses)
        elif len(oses) == 1:
            chosen = cands[0]
            reason = f"only the {OS_LABELS[chosen[0]]} numbering gives {number} a network meaning"
        else:
            chosen = next(((o, e) for o, e in cands if o == "linux"), cands[0])
            reason = "no hint in the text; Linux assumed"
    os_used, entry = chosen
    return ErrnoReading(number, entry, os_used, reason, _other_readings(number, os_used, entry.name, eai, kb))


@dataclasses.dataclass(frozen=True, slots=True)
class OpenSslCode:
    """An OpenSSL packed error code, unpacked (include/openssl/err.h)."""

    code: int
    version: str  # "1.x" or "3.x"
    lib: int
    func: int | None
    reason: int
    system_errno: int | None = None
    alert: int | None = None
    alert_name: str | None = None
    reason_name: str | None = None
    pattern_id: str | None = None

    def describe(self) -> str:
        """E.g. "error:14094410 is OpenSSL 1.x: library 20 (SSL), function 148, reason 1040 = alert 40..."."""
        parts = [f"library {self.lib} ({_LIB_NAMES.get(self.lib, '?')})"]
        if self.func is not None:
            parts.append(f"function {self.func}")
        what = f"reason {self.reason}"
        if self.system_errno is not None:
            what = f"system errno {self.system_errno}"
        elif self.alert is not None:
            what += f" = alert {self.alert} ({self.alert_name or 'unknown'}) received from the peer"
        elif self.reason_name:
            what += f" ({self.reason_name})"
        parts.append(what)
        return f"error:{self.code:08X} is an OpenSSL {self.version} code: " + ", ".join(parts)


def decode_openssl_code(
    code: str | int, *, func_field: str | None = None, kb: Knowledge | None = None
) -> OpenSslCode:
    """Unpack ``code`` (hex text like "14094410" or an int).

    1.x packs lib<<24 | func<<12 | reason (12 bits); 3.x packs lib<<23 | reason (23 bits)
    and prints an empty function field ("SSL routines::"); 3.x sets bit 31 for system
    errors, whose low bits are errno. ``func_field`` is the printed function name, when
    known, which tells the two formats apart.
    """
    kb = kb or knowledge()
    n = int(code, 16) if isinstance(code, str) else code
    if n & 0x80000000:
        return OpenSslCode(n, "3.x", kb.sys_lib, None, n & 0x7FFFFFFF, system_errno=n & 0x7FFFFFFF)
    v3_shape = (n >> 23) & 0xFF == kb.ssl_lib and n & 0x7FF000 == 0
    if func_field == "" or (func_field is None and (n >> 24) != kb.ssl_lib and v3_shape):
        version, lib, func, reason = "3.x", (n >> 23) & 0xFF, None, n & 0x7FFFFF
    else:
        version, lib, func, reason = "1.x", (n >> 24) & 0xFF, (n >> 12) & 0xFFF, n & 0xFFF
    if lib == kb.sys_lib:
        return OpenSslCode(n, version, lib, func, reason, system_errno=reason)
    if lib != kb.ssl_lib:
        return OpenSslCode(n, version, lib, func, reason)
    if kb.alert_offset <= reason < kb.alert_offset + 256:
        alert = reason - kb.alert_offset
        pid = f"alert.{alert}"
        return OpenSslCode(
            n,
            version,
            lib,
            func,
            reason,
            alert=alert,
            alert_name=kb.alerts.get(alert),
            pattern_id=pid if pid in kb.by_id else None,
        )
    ref = kb.ssl_reasons.get(reason)
    return OpenSslCode(
        n,
        version,
        lib,
        func,
        reason,
        reason_name=ref.name if ref else None,
        pattern_id=ref.pattern if ref else None,
    )


def eai_context(line: str) -> bool:
    """Whether a line is about name resolution, so a small number is an EAI_* code."""
    return _EAI_CONTEXT.search(line) is not None
