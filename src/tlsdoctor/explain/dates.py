"""Dates in the text, compared: is it the certificate or the clock?

"certificate has expired or is not yet valid" does not say which side is wrong; the dates
around it often do. Go prints both times ("current time 2022-07-22T18:55:59+12:00 is before
2022-07-22T07:45:55Z"); users paste `date` output or a system-info block ("Date | Tue Dec 31
2069"); logs carry build and release dates that must lie in the past. This module reads those
dates and turns the comparisons into clues (the time.* patterns of families.toml), with the
dates in the meaning so the report shows the reasoning.

The plausible range of a working clock is judged against ``now`` (the machine running explain):
a local date before 2005 (RTC-less boards boot in 1970 or at their image date) or after next
year is a clock fault, whatever the certificate says.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterator

from tlsdoctor.explain.hit import Hit
from tlsdoctor.explain.knowledge import Knowledge
from tlsdoctor.explain.prefilter import Rx, lower_ascii

UTC = datetime.UTC
EARLIEST_PLAUSIBLE = 2005
SMALL_GAP = datetime.timedelta(days=1)
BEHIND_MARGIN = datetime.timedelta(days=30)
MAX_DATES = 64

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
# Each shape a clock or a log prints a date in; every one yields year, month and day.
_SHAPES = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[t ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"),
    re.compile(
        _MON
        + r" {1,2}(?P<d>\d{1,2}),? (?:(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})[^\n\d]{0,12})?(?P<y>\d{4})\b"
    ),
    re.compile(
        r"\b(?P<d>\d{1,2}) "
        + _MON
        + r",? (?:(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})[^\n\d]{0,12})?(?P<y>\d{4})\b"
    ),
    re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\b"),
    re.compile(r"\b(?P<y>\d{4})\.(?P<m>\d{2})\.(?P<d>\d{2})\b"),
)
_GO_TIMES_SOURCE = (
    r"current time (?P<cur>\d{4}-\d{2}-\d{2}t[\d:.]{5,20}(?:z|[+-]\d{2}:?\d{2})?) is "
    r"(?P<rel>before|after) (?P<ref>\d{4}-\d{2}-\d{2}t[\d:.]{5,20}(?:z|[+-]\d{2}:?\d{2})?)"
)
# Where the text shows this machine's own date: a "Date | ..." row, `date` output, prose.
_LOCAL_SOURCE = (
    r"(?:^|\n)[ \t>*|-]{0,6}(?:date|system (?:date|time)|current (?:date|time)|local time|now)"
    r"[ \t]{0,8}[|:=][ \t]{0,8}"
    r"(?P<a>[^\n]{6,60})"
    r"|(?:^|\n)[^\n]{0,40}[$#] {0,2}date[ \t]{0,4}\n(?P<b>[^\n]{6,60})"
    r"|\b(?:system time|system clock|the date|the time|date|clock) (?:is|was|became|shows|turns back to|"
    r"set to|reset to|changed to|jumped to)(?: set)?(?: incorrectly)?(?: to)? (?:some time in )?"
    r"(?P<c>[^\n]{4,40})"
)
# Lines whose dates must lie in the past of a working clock: builds, releases, kernels.
_REFERENCE_SOURCE = r"\b(?:release-?date|released|built|build|kernel|smp|compiled)\b"


@functools.cache
def _rx(source: str) -> Rx:
    """The prefiltered regex for ``source``, built on first use (after the keyword cache loads)."""
    return Rx.compile(source, re.ASCII, lower=True)


def parse_dates(text: str) -> list[datetime.datetime]:
    """Every date found in ``text`` (lower-cased input), in order, as naive UTC."""
    found: list[tuple[int, datetime.datetime]] = []
    taken: list[range] = []
    for shape in _SHAPES:
        for m in shape.finditer(text):
            if any(m.start() in r for r in taken):
                continue
            when = _build(m)
            if when is not None:
                found.append((m.start(), when))
                taken.append(range(m.start(), m.end()))
            if len(found) >= MAX_DATES:
                break
    return [w for _, w in sorted(found, key=lambda t: t[0])]


def _build(m: re.Match[str]) -> datetime.datetime | None:
    g = m.groupdict()
    try:
        month = _MONTHS[g["mon"][:3]] if g.get("mon") else int(g["m"])
        return datetime.datetime(
            int(g["y"]), month, int(g["d"]), int(g.get("H") or 0), int(g.get("M") or 0), int(g.get("S") or 0)
        )
    except (ValueError, KeyError):
        return None


def _go_time(raw: str) -> datetime.datetime | None:
    try:
        when = datetime.datetime.fromisoformat(raw.upper())
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def _plausible(when: datetime.datetime, now: datetime.datetime) -> bool:
    return EARLIEST_PLAUSIBLE <= when.year <= now.year + 1


def _days(delta: datetime.timedelta) -> str:
    hours = abs(delta.total_seconds()) / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def date_hits(text: str, kb: Knowledge, now: datetime.datetime | None = None) -> Iterator[Hit]:
    """Clues from the dates of ``text``: the clock is implausible, behind, or the certificate is off."""
    now = (now or datetime.datetime.now(UTC)).replace(tzinfo=None)
    low = lower_ascii(text)
    yield from _go_comparisons(text, low, kb, now)
    yield from _local_dates(text, low, kb, now)


def _hit(kb: Knowledge, pid: str, text: str, m: re.Match[str], meaning: str) -> Hit:
    pattern = kb.by_id[pid]
    excerpt = " ".join(text[m.start() : m.end()].split())[:200]
    return Hit(pattern, m.start(), excerpt, f"{meaning} [{pattern.meaning}]")


def _go_comparisons(text: str, low: str, kb: Knowledge, now: datetime.datetime) -> Iterator[Hit]:
    for m in _rx(_GO_TIMES_SOURCE).finditer(low):
        cur, ref = _go_time(m.group("cur")), _go_time(m.group("ref"))
        if cur is None or ref is None:
            continue
        gap = _days(cur - ref)
        if not _plausible(cur, now):
            yield _hit(kb, "time.clock-implausible", text, m, f"the client's current time is {cur:%Y-%m-%d}")
        elif m.group("rel") == "after":
            yield _hit(
                kb, "time.expired", text, m, f"the certificate expired {gap} before {cur:%Y-%m-%d %H:%M} UTC"
            )
        elif cur - ref > -SMALL_GAP:
            yield _hit(
                kb, "time.not-yet-valid-soon", text, m, f"the certificate becomes valid only {gap} later"
            )
        else:
            yield _hit(kb, "time.not-yet-valid-far", text, m, f"the certificate becomes valid {gap} later")


def _local_dates(text: str, low: str, kb: Knowledge, now: datetime.datetime) -> Iterator[Hit]:
    references = [d for line in _reference_lines(low) for d in parse_dates(line)]
    for m in _rx(_LOCAL_SOURCE).finditer(low):
        raw = m.group("a") or m.group("b") or m.group("c") or ""
        dates = parse_dates(raw) or _year_only(raw)
        if not dates:
            continue
        local = dates[0]
        if not _plausible(local, now):
            yield _hit(kb, "time.clock-implausible", text, m, f"this machine's date is {local:%Y-%m-%d}")
            return
        later = [r for r in references if r - local > BEHIND_MARGIN and _plausible(r, now)]
        if later:
            ref = max(later)
            yield _hit(
                kb,
                "time.clock-behind",
                text,
                m,
                f"this machine's date {local:%Y-%m-%d} is before {ref:%Y-%m-%d},"
                " a build or release date the text names",
            )
            return


def _reference_lines(low: str) -> Iterator[str]:
    """The lines (at most 200 characters around the keyword) that name a build or release."""
    for count, m in enumerate(_rx(_REFERENCE_SOURCE).finditer(low)):
        if count >= MAX_DATES:
            return
        start = max(low.rfind("\n", 0, m.start()) + 1, m.start() - 100)
        stop = low.find("\n", m.end())
        yield low[start : min(stop if stop >= 0 else len(low), m.end() + 100)]


def _year_only(raw: str) -> list[datetime.datetime]:
    """A bare year ("some time in January 2018", "1970") when no full date is given."""
    m = re.search(r"\b(19[0-9]{2}|20[0-9]{2})\b", raw)
    return [datetime.datetime(int(m.group(1)), 1, 1)] if m else []
