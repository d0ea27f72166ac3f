"""Score ``tlsdoctor explain`` on the real-world corpus (reports.toml).

Each report is explained twice: the error text alone, and the error text followed by the
reporter's own description (what a user pastes when asking for help). A report scores top-1
when its confirmed cause ranks first, top-3 when it is among the first three. The held-out
reports are only ever summed up, never listed, so tuning cannot look at them.

``python tests/corpus/explain/evaluate.py`` prints the summary; ``--misses`` lists the tuning
reports whose cause is not first; ``--per-cause`` adds the table per cause id (all reports).
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from tlsdoctor.commands.explain import run_explain

CORPUS = Path(__file__).with_name("reports.toml")


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """One real report: what the user pasted and the cause the thread confirmed."""

    id: str
    source: str
    error_text: str
    description: str
    confirmed_cause: str
    held_out: bool

    def paste(self, with_description: bool) -> str:
        """What explain is given: the error, then (optionally) the reporter's own words."""
        return f"{self.error_text}\n\n{self.description}" if with_description else self.error_text


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """Where the confirmed cause ranked (None: not listed at all)."""

    report: Report
    rank: int | None
    ranked: tuple[str, ...]

    @property
    def top1(self) -> bool:
        return self.rank == 1

    @property
    def top3(self) -> bool:
        return self.rank is not None and self.rank <= 3


def load(path: Path = CORPUS) -> list[Report]:
    """Every report of the corpus."""
    with path.open("rb") as f:
        raw = tomllib.load(f)["report"]
    return [
        Report(
            id=r["id"],
            source=r["source"],
            error_text=r["error_text"],
            description=r["description"],
            confirmed_cause=r["confirmed_cause"],
            held_out=bool(r.get("held_out", False)),
        )
        for r in raw
    ]


def outcome(report: Report, with_description: bool) -> Outcome:
    """Explain one report and find its confirmed cause in the ranking."""
    ranked = tuple(c.id for c in run_explain(report.paste(with_description)).causes)
    rank = ranked.index(report.confirmed_cause) + 1 if report.confirmed_cause in ranked else None
    return Outcome(report, rank, ranked)


@dataclasses.dataclass(frozen=True, slots=True)
class Score:
    """Top-1 and top-3 counts over a set of reports."""

    n: int
    top1: int
    top3: int

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Score:
        got = list(outcomes)
        return cls(len(got), sum(o.top1 for o in got), sum(o.top3 for o in got))

    def pct(self, k: int) -> float:
        return 100.0 * k / self.n if self.n else 0.0

    def __str__(self) -> str:
        return (
            f"top-1 {self.top1}/{self.n} ({self.pct(self.top1):.0f}%)  "
            f"top-3 {self.top3}/{self.n} ({self.pct(self.top3):.0f}%)"
        )


def evaluate(reports: Sequence[Report], with_description: bool) -> list[Outcome]:
    return [outcome(r, with_description) for r in reports]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list tuning reports not ranked first")
    parser.add_argument("--per-cause", action="store_true", help="table per cause id (all reports)")
    args = parser.parse_args()
    reports = load()
    results = {wd: evaluate(reports, wd) for wd in (False, True)}
    for wd, label in ((False, "error text only"), (True, "with description")):
        tuning = [o for o in results[wd] if not o.report.held_out]
        held = [o for o in results[wd] if o.report.held_out]
        print(f"{label:17}  tuning: {Score.of(tuning)}   held-out: {Score.of(held)}")
    if args.misses:
        for wd in (False, True):
            print(f"\n-- misses ({'with description' if wd else 'error text only'}, tuning set)")
            for o in results[wd]:
                if not o.report.held_out and not o.top1:
                    r = o.report
                    print(f"{r.id:28} {r.confirmed_cause:24} rank={o.rank} {list(o.ranked[:3])}")
    if args.per_cause:
        causes = sorted({r.confirmed_cause for r in reports})
        print("\n| cause id | n | top-1 text | top-3 text | top-1 +desc | top-3 +desc |")
        print("|---|---|---|---|---|---|")
        for cause in causes:
            a = Score.of(o for o in results[False] if o.report.confirmed_cause == cause)
            b = Score.of(o for o in results[True] if o.report.confirmed_cause == cause)
            print(f"| {cause} | {a.n} | {a.top1} | {a.top3} | {b.top1} | {b.top3} |")


if __name__ == "__main__":
    main()
