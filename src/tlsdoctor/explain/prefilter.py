"""Literal keywords that every match of a regex must contain, to skip hopeless searches.

Python's backtracking engine spends a few milliseconds per 100 KB per pattern even when
nothing matches, which across ~200 patterns and a 1 MiB log is seconds. A substring test
(``"alert" in text``) is C-speed, so each pattern carries the set of literals one of which
any match must contain, derived from the regex itself (never written by hand, so it
cannot drift): a pattern runs only when one of them is present.

The derivation is conservative: anything it does not understand yields "no keyword
known" (None), which means "always run the regex", never a missed match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tlsdoctor.errors import InternalError

Keywords = frozenset[str] | None
_ZERO_WIDTH = frozenset("bBAZ")
_CLASSES = frozenset("dDsSwW")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v"}
MIN_KEYWORD = 3


def lower_ascii(text: str) -> str:
    """Lower-case A-Z only: same length as ``text``, so match spans map back to it.

    ``str.lower`` would also fold non-ASCII letters (and may change the length); bytes.lower
    folds only ASCII, and UTF-8 multi-byte sequences have no ASCII bytes, so the round trip
    is exact and far faster than ``str.translate`` on a long paste.
    """
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


# Words that are in almost every TLS error text or log: a requirement made of them lets the
# regex run nearly everywhere, so a rarer literal of the same regex is preferred (both are
# required, so either is a correct prefilter; this only picks the faster one).
COMMON_WORDS = frozenset(
    {
        *("certificate", "connection", "connect", "error", "failed", "failure", "server", "client"),
        *("request", "requests", "status", "http", "https", "proxy", "alert", "version", "handshake"),
        *("host", "network", "cert", "timeout", "tls", "ssl", "open", "load", "fail", "work", "works"),
        *("only", "after", "port"),
    }
)


def _selectivity(keyword: str) -> int:
    return 1 if keyword.strip(" :_-/.") in COMMON_WORDS else len(keyword)


def _better(a: Keywords, b: Keywords) -> Keywords:
    """The more selective requirement: longest shortest keyword (common words count as short), then fewest."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b, key=lambda k: (min(map(_selectivity, k)), -len(k)))


def _quantifier(s: str, i: int) -> tuple[int, bool, int]:
    """(minimum repeat, whether a quantifier is present, next index) at ``i``."""
    if i >= len(s) or s[i] not in "?*+{":
        return 1, False, i
    if s[i] == "{":
        m = re.match(r"\{(\d*)(?:,(\d*))?\}", s[i:])
        if m is None:  # a literal "{"
            return 1, False, i
        low, i = int(m.group(1) or 0), i + m.end()
    else:
        low, i = (1 if s[i] == "+" else 0), i + 1
    if i < len(s) and s[i] in "?+":
        i += 1
    return low, True, i


def _class_end(s: str, i: int) -> int:
    """Index after the character class starting at ``i`` ("[")."""
    j = i + 1
    if j < len(s) and s[j] == "^":
        j += 1
    if j < len(s) and s[j] == "]":
        j += 1
    while j < len(s) and s[j] != "]":
        j += 2 if s[j] == "\\" else 1
    return j + 1


def _group_start(s: str, i: int) -> tuple[int, bool]:
    """(index of the group's body, whether it is zero-width) for "(" at ``i``."""
    if not s.startswith("(?", i):
        return i + 1, False
    for prefix in ("(?=", "(?!", "(?<=", "(?<!", "(?#"):
        if s.startswith(prefix, i):
            return i + len(prefix), True
    if s.startswith("(?P<", i):
        return s.index(">", i) + 1, False
    m = re.match(r"\(\?[aiLmsux-]*([:)])", s[i:])
    if m is None:
        raise ValueError("unknown group")
    return i + m.end(), m.group(1) == ")"


def _sequence(s: str, i: int) -> tuple[Keywords, int]:
    """The best requirement of one alternative: a literal run or a required group."""
    best: Keywords = None
    run: list[str] = []

    def flush() -> None:
        nonlocal best, run
        if len(run) >= MIN_KEYWORD:
            best = _better(best, frozenset({"".join(run)}))
        run = []

    while i < len(s) and s[i] not in "|)":
        c = s[i]
        literal: str | None = None
        group: Keywords = None
        zero_width = False
        if c == "\\":
            esc = s[i + 1]
            if esc == "x":
                literal, i = chr(int(s[i + 2 : i + 4], 16)), i + 4
            else:
                i += 2
                if esc in _ZERO_WIDTH:
                    zero_width = True
                elif esc in _SIMPLE:
                    literal = _SIMPLE[esc]
                elif esc not in _CLASSES and not esc.isalnum():
                    literal = esc
        elif c == "[":
            i = _class_end(s, i)
        elif c == "(":
            body, zero_width = _group_start(s, i)
            if s.startswith("(?#", i) or s[body - 1] == ")":
                i = s.index(")", i) + 1
            else:
                inner, j = _alternation(s, body)
                if j >= len(s) or s[j] != ")":
                    raise ValueError("unbalanced group")
                i, group = j + 1, (None if zero_width else inner)
        elif c in "^$":
            zero_width, i = True, i + 1
        else:
            literal, i = (None if c == "." else c), i + 1
        low, quantified, i = _quantifier(s, i)
        if zero_width:
            continue  # asserts consume nothing: the run stays contiguous
        if literal is not None and not quantified:
            run.append(literal)
            continue
        if literal is not None and low >= 1:
            run.append(literal)  # "ab+c" contains "ab" and "bc", never surely "abc"
            flush()
            run = [literal]
            continue
        flush()
        if group is not None and low >= 1:
            best = _better(best, group)
    flush()
    return best, i


def _alternation(s: str, i: int) -> tuple[Keywords, int]:
    options: list[Keywords] = []
    while True:
        req, i = _sequence(s, i)
        options.append(req)
        if i < len(s) and s[i] == "|":
            i += 1
            continue
        break
    if any(o is None for o in options):
        return None, i
    return frozenset().union(*(o for o in options if o is not None)), i


# Derived keywords by regex source: filled by keywords(), saved and restored by the knowledge
# cache (knowledge.py) so a new process does not parse ~400 regexes again.
KEYWORD_CACHE: dict[str, Keywords] = {}


def keywords(source: str) -> Keywords:
    """Literals (as written in the regex) one of which every match contains; None if unknown."""
    if source in KEYWORD_CACHE:
        return KEYWORD_CACHE[source]
    try:
        found, _ = _alternation(source, 0)
    except (ValueError, IndexError):
        found = None
    KEYWORD_CACHE[source] = found
    return found


# Every pattern is bounded (a test checks each one's maximum width), so a match that
# contains a keyword lies within WINDOW characters of it: long texts are searched only in
# windows around keyword occurrences.
WINDOW = 2048
MAX_OCCURRENCES = 256


def _windows(text: str, words: frozenset[str]) -> list[tuple[int, int]] | None:
    """Merged [start, end) spans around keyword occurrences; None when too many to bother."""
    spans: list[tuple[int, int]] = []
    for word in words:
        at = text.find(word)
        while at >= 0:
            spans.append((max(0, at - WINDOW), at + len(word) + WINDOW))
            if len(spans) > MAX_OCCURRENCES:
                return None
            at = text.find(word, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Rx:
    """A regex that first checks its keywords with a substring test.

    Compiled on first use: a typical error text holds the keywords of a few dozen
    patterns, so most of the ~250 are never compiled in a run (tests compile them all).
    """

    __slots__ = ("_compiled", "flags", "keywords", "source")

    def __init__(self, source: str, flags: int, keywords: Keywords) -> None:
        self.source = source
        self.flags = flags
        self.keywords = keywords
        self._compiled: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, source: str, flags: int, *, lower: bool) -> Rx:
        """A lazily compiled regex (compiled at once when it has no keywords to wait for)."""
        kws = keywords(source)
        if kws is not None and lower:
            kws = frozenset(k.lower() for k in kws)
        if kws is None:
            return cls(source, flags, None).compiled()
        return cls(source, flags, kws)

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (compiling it now if needed)."""
        if self._compiled is None:
            try:
                self._compiled = re.compile(self.source, self.flags)
            except re.error as e:  # a data-file bug; tests compile every pattern
                raise InternalError(f"explain knowledge: bad regex {self.source!r}: {e}") from e
        return self._compiled

    def compiled(self) -> Rx:
        """Compile now; returns self."""
        _ = self.regex
        return self

    def possible(self, text: str) -> bool:
        """Whether a match is possible at all (one keyword present)."""
        return self.keywords is None or any(k in text for k in self.keywords)

    def search(self, text: str) -> re.Match[str] | None:
        """The first match, like ``re.search``."""
        return next(self.finditer(text), None)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Every match, like ``re.finditer``, searching only near keywords in long texts."""
        if not self.possible(text):
            return
        spans = None
        if self.keywords is not None and len(text) > 8 * WINDOW:
            spans = _windows(text, self.keywords)
        if spans is None:
            yield from self.regex.finditer(text)
            return
        for start, end in spans:
            yield from self.regex.finditer(text, start, end)
