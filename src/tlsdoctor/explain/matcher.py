"""Error text in, TextClue observations out.

Three passes over bounded input: numeric decoders (errno values, OpenSSL packed codes,
alert and X509 verify numbers), then every text pattern, then consolidation. The last
step matters for honest confidence: one reset is often printed three times (errno 104,
"Connection reset by peer", Node's ECONNRESET) and must count once, and a specific
reason ("certificate has expired") makes the generic one ("verify failed") moot. Both
keep the repeated clue as evidence with weight 0 instead of letting it compound in the
engine's noisy-OR.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterator, Sequence

from tlsdoctor.errors import InputError
from tlsdoctor.explain.dates import date_hits
from tlsdoctor.explain.decode import decode_openssl_code, eai_context, read_errno
from tlsdoctor.explain.focus import focus
from tlsdoctor.explain.hit import Hit
from tlsdoctor.explain.knowledge import FALLBACK_FAMILY, PROSE_FAMILY, Knowledge, Pattern, knowledge
from tlsdoctor.explain.prefilter import lower_ascii
from tlsdoctor.explain.target import DetectedTarget, detect_target
from tlsdoctor.model import Cause
from tlsdoctor.observations.text import TextClue

MAX_CHARS = 1 << 20  # 1 MiB: the tail of a longer log is kept (errors come last)
MAX_EXCERPT = 200
PLACEHOLDER = "HOST:PORT"
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")


@dataclasses.dataclass(frozen=True, slots=True)
class Analysis:
    """What explain found in one text."""

    clues: tuple[TextClue, ...]
    target: DetectedTarget | None
    truncated: bool
    focused: bool = False  # a long text: only its head, tail and relevant lines were read


def prepare(text: str) -> tuple[str, bool]:
    """Check and bound the input: InputError for empty or binary, keep the last 1 MiB."""
    if not text or not text.strip():
        raise InputError("explain: the input is empty; pass an error message as an argument or on stdin")
    truncated = len(text) > MAX_CHARS
    if truncated:
        text = text[-MAX_CHARS:]
    sample = text[:65536] + text[-65536:] if len(text) > 131072 else text
    nul = sample.count("\x00")
    if nul * 100 > len(sample) or len(_BINARY.findall(sample)) * 10 > len(sample):
        raise InputError("explain: the input looks binary (NUL or control bytes); give the error text")
    return text, truncated


def _line_rest(text: str, end: int, limit: int = 120) -> str:
    stop = text.find("\n", end, end + limit)
    return text[end : stop if stop >= 0 else end + limit]


def _excerpt(text: str, m: re.Match[str], more: int = 60) -> str:
    """The matched text as the user gave it, with the rest of its line (up to ``more``)."""
    return _clip(text[m.start() : m.end()] + _line_rest(text, m.end(), more))


def _clip(s: str) -> str:
    s = " ".join(s.split())
    return s if len(s) <= MAX_EXCERPT else s[: MAX_EXCERPT - 3] + "..."


def _errno_hits(text: str, low: str, kb: Knowledge) -> Iterator[Hit]:
    seen: set[tuple[int, str | None]] = set()
    for ctx in kb.errno_contexts:
        for m in ctx.regex.finditer(low):
            num, os, eai = int(m.group("num")), ctx.os, False
            if (num, os) in seen or len(seen) >= 16:  # the same number reads the same way
                continue
            seen.add((num, os))
            line_start = text.rfind("\n", 0, m.start()) + 1
            line = text[line_start : m.end()] + _line_rest(text, m.end())
            if num < 0:
                if ctx.sign == "eai":
                    eai, os = True, "linux"
                elif ctx.sign == "abs" and -num < 3000:
                    num = -num
                else:
                    continue
            elif 11001 <= num <= 11004 or (num <= 14 and eai_context(line)):
                eai = True
            after = _line_rest(text, m.end())
            reading = read_errno(num, text, after=after, os=os, eai=eai, kb=kb)
            if reading is None:
                continue
            pattern = kb.by_id[reading.entry.pattern_id]
            yield Hit(
                pattern,
                m.start(),
                _clip(text[m.start() : m.end()] + after[:60]),
                f"{pattern.meaning} [errno {reading.describe()}]",
            )


def _code_hits(text: str, low: str, kb: Knowledge) -> Iterator[Hit]:
    for m in kb.code_context.finditer(low):
        code = decode_openssl_code(m.group("code"), func_field=m.group("func"), kb=kb)
        if code.system_errno is not None:
            reading = read_errno(code.system_errno, text, after=_line_rest(text, m.end()), kb=kb)
            if reading is not None:
                pattern = kb.by_id[reading.entry.pattern_id]
                yield Hit(
                    pattern,
                    m.start(),
                    _excerpt(text, m),
                    f"{pattern.meaning} [{code.describe()}; errno {reading.describe()}]",
                )
            continue
        if code.pattern_id is None:
            continue
        pattern = kb.by_id[code.pattern_id]
        yield Hit(pattern, m.start(), _excerpt(text, m), f"{pattern.meaning} [{code.describe()}]")


def _number_hits(text: str, low: str, kb: Knowledge) -> Iterator[Hit]:
    for rx in kb.alert_contexts:
        for m in rx.finditer(low):
            pattern = kb.by_id.get(f"alert.{int(m.group('num'))}")
            if pattern is not None:
                yield Hit(pattern, m.start(), _excerpt(text, m, 40), pattern.meaning)
    for rx in kb.x509_contexts:
        for m in rx.finditer(low):
            ref = kb.x509_verify.get(int(m.group("num")))
            if ref is not None:
                pattern = kb.by_id[ref.pattern]
                yield Hit(
                    pattern,
                    m.start(),
                    _excerpt(text, m),
                    f"{pattern.meaning} [X509 verify error {m.group('num')}: {ref.name}]",
                )


def _curl_hits(text: str, low: str, kb: Knowledge) -> Iterator[Hit]:
    """libcurl error numbers (and CURLE_* names) in the shapes wrappers print them."""
    for rx in kb.curl_contexts:
        for m in rx.finditer(low):
            groups = m.groupdict()
            num = int(groups["num"]) if groups.get("num") else kb.curl_names.get(groups.get("name") or "")
            pid = kb.curl_codes.get(num) if num is not None else None
            if pid is not None:
                pattern = kb.by_id[pid]
                yield Hit(
                    pattern, m.start(), _excerpt(text, m, 60), f"{pattern.meaning} [libcurl error {num}]"
                )


def _text_hits(text: str, low: str, kb: Knowledge) -> Iterator[Hit]:
    for pattern in kb.patterns:
        if pattern.family != FALLBACK_FAMILY:
            yield from _pattern_hits(text, low, pattern)


def _pattern_hits(text: str, low: str, pattern: Pattern) -> list[Hit]:
    """The first place one pattern matches (its lower-case regex or its exact one)."""
    found = [
        m
        for m in (
            pattern.regex.search(low) if pattern.regex else None,
            pattern.exact.search(text) if pattern.exact else None,
        )
        if m is not None
    ]
    if not found:
        return []
    m = min(found, key=lambda m: m.start())
    excerpt = _prose_excerpt(text, m) if pattern.family == PROSE_FAMILY else _excerpt(text, m, 40)
    return [Hit(pattern, m.start(), excerpt, pattern.meaning)]


def _prose_excerpt(text: str, m: re.Match[str], words: int = 3) -> str:
    """The user's words that matched, with a few words either side, within the sentence."""
    before = re.split(r"[.!?\n]", text[max(0, m.start() - 60) : m.start()])[-1]
    after = re.split(r"[.!?\n]", text[m.end() : m.end() + 60])[0]
    head = re.search(rf"(?:\S+\s+){{0,{words}}}\S*$", before)
    tail = re.match(rf"^\S*(?:\s+\S+){{0,{words}}}", after)
    return _clip((head.group() if head else "") + text[m.start() : m.end()] + (tail.group() if tail else ""))


def _fill(commands: Sequence[str], target: DetectedTarget | None) -> list[str]:
    where = str(target) if target else PLACEHOLDER
    return [c.replace("{target}", where) for c in commands]


def _next_checks(
    causes: Sequence[tuple[str, float]], own: Sequence[str], kb: Knowledge, target: DetectedTarget | None
) -> tuple[str, ...]:
    """A clue's own commands: those testing its likelier causes, then its specific ones."""
    out: list[str] = []
    for cause, weight in causes:
        if weight >= 0.2:
            out += kb.cause_checks.get(cause, ())
    out += own
    return tuple(dict.fromkeys(_fill(out, target)))[:6]


def _consolidate(hits: list[Hit], kb: Knowledge, target: DetectedTarget | None) -> list[TextClue]:
    """One clue per pattern; one counted clue per group; superseded groups weigh nothing."""
    by_id: dict[str, list[Hit]] = {}
    for hit in hits:  # decoders first: their meaning (with the decoded reading) wins
        by_id.setdefault(hit.pattern.id, []).append(hit)
    ordered = sorted(by_id.values(), key=lambda hs: min(h.start for h in hs))
    firsts = [(hs[0], hs) for hs in ordered]
    moot = {g for hit, _ in firsts for g in hit.pattern.supersedes}
    groups: dict[str, list[Hit]] = {}
    for hit, _ in firsts:
        groups.setdefault(hit.pattern.group, []).append(hit)
    counted: dict[str, tuple[Hit, dict[str, float]]] = {}
    for group, members in groups.items():
        if group in moot:
            continue
        primary = max(members, key=lambda h: max((w for _, w in h.pattern.causes), default=0.0))
        merged: dict[str, float] = {}
        for member in members:
            for cause, weight in member.pattern.causes:
                merged[cause] = max(merged.get(cause, 0.0), weight)
        counted[group] = (primary, merged)
    supported = {c for _, merged in counted.values() for c, w in merged.items() if w > 0}
    clues: list[TextClue] = []
    for hit, all_hits in firsts:
        excerpts = list(dict.fromkeys(h.excerpt for h in all_hits))[:3]
        group = hit.pattern.group
        meaning = hit.meaning
        if group in counted and counted[group][0] is hit:
            causes = tuple(sorted(counted[group][1].items(), key=lambda cw: -cw[1]))
        elif group in counted:
            causes = tuple((c, 0.0) for c, _ in hit.pattern.causes)
            meaning += f" (the same event as {counted[group][0].pattern.id}; counted once)"
        else:
            causes = tuple((c, 0.0) for c, _ in hit.pattern.causes if c in supported)
            meaning += " (made moot by a more specific message)"
        clues.append(
            TextClue(
                pattern_id=hit.pattern.id,
                family=hit.pattern.family,
                excerpt=" | ".join(excerpts),
                meaning=meaning,
                causes=causes,
                next_checks=_next_checks(causes or hit.pattern.causes, hit.pattern.next, kb, target),
            )
        )
    return clues


def _fallback_hits(text: str, low: str, kb: Knowledge) -> list[Hit]:
    """For TLS or connection text that no known message explains: the usual suspects, weakly."""
    hits = [h for p in kb.patterns if p.family == FALLBACK_FAMILY for h in _pattern_hits(text, low, p)]
    return hits[:1]  # TLS vocabulary first (the patterns' order): one fallback clue is enough


def analyse(text: str, now: datetime.datetime | None = None) -> Analysis:
    """Clues and target of one text. Raises InputError for empty or binary input.

    ``now`` is the reference for judging dates the text shows (default: the system clock).
    """
    text, truncated = prepare(text)
    text, focused = focus(text)
    kb = knowledge()
    low = lower_ascii(text)
    hits = [
        *_errno_hits(text, low, kb),
        *_code_hits(text, low, kb),
        *_number_hits(text, low, kb),
        *_curl_hits(text, low, kb),
        *_text_hits(text, low, kb),
        *date_hits(text, kb, now),
    ]
    if not any(w > 0 for h in hits for _, w in h.pattern.causes):
        hits += _fallback_hits(text, low, kb)
    target = detect_target(text, kb)
    return Analysis(tuple(_consolidate(hits, kb, target)), target, truncated, focused)


def find_clues(text: str) -> list[TextClue]:
    """The known patterns in ``text`` as TextClue observations, in order of appearance."""
    return list(analyse(text).clues)


def suggest(causes: Sequence[Cause], clues: Sequence[TextClue], target: DetectedTarget | None) -> list[str]:
    """The next tlsdoctor commands, de-duplicated, ordered by the ranked causes they test."""
    kb = knowledge()
    out: list[str] = []
    for cause in causes:
        out += kb.cause_checks.get(cause.id, ())
        weighted = sorted(
            ((w, clue) for clue in clues for c, w in clue.causes if c == cause.id and w > 0),
            key=lambda t: -t[0],
        )
        for _, clue in weighted:
            pattern = kb.by_id.get(clue.pattern_id)
            out += pattern.next if pattern else ()
    if not out:
        out = ["tlsdoctor diagnose {target}"]
    return list(dict.fromkeys(_fill(out, target)))


_CREDENTIALS = re.compile(r"//[^/@\s]{1,200}@")


def diagnose_command(text: str, target: DetectedTarget | None) -> str:
    """The ``tlsdoctor diagnose`` command that would settle it, with the options the text suggests."""
    kb = knowledge()
    low = lower_ascii(text)
    options: dict[str, str] = {}
    for hint in kb.option_hints:
        flag = hint.option.split()[0]
        if flag in options or (m := hint.regex.search(low)) is None:
            continue
        value = _CREDENTIALS.sub("//", text[m.start(1) : m.end(1)]) if m.re.groups else ""
        options[flag] = hint.option.replace("{1}", value)
    return " ".join(["tlsdoctor diagnose", str(target) if target else PLACEHOLDER, *options.values()])
