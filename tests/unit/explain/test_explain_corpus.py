"""explain on real users' reports (tests/corpus/explain): the targets of issue 15, measured.

The corpus holds 153 reports from public issue trackers, each with the cause its thread
confirmed; 30 were set aside by a seeded draw before tuning and are only scored in aggregate.
Targets (issue 15, "Done when"): with the description, the confirmed cause first in >= 80% and
in the top three in >= 95%; the error text alone in the top three in >= 85%; the held-out 30
within 10 points of those.
"""

from __future__ import annotations

import pytest
from corpus.explain.evaluate import Outcome, Report, Score, evaluate, load

TARGETS = {  # (with description?, "top1"/"top3") -> minimum share
    (True, "top1"): 0.80,
    (True, "top3"): 0.95,
    (False, "top3"): 0.85,
}
HELD_OUT_SLACK = 0.10


@pytest.fixture(scope="module")
def reports() -> list[Report]:
    return load()


@pytest.fixture(scope="module")
def outcomes(reports: list[Report]) -> dict[bool, list[Outcome]]:
    return {wd: evaluate(reports, wd) for wd in (False, True)}


def _share(outcomes: list[Outcome], which: str) -> float:
    score = Score.of(outcomes)
    return (score.top1 if which == "top1" else score.top3) / score.n


def test_corpus_shape(reports: list[Report]) -> None:
    assert len(reports) >= 150
    assert sum(r.held_out for r in reports) == 30
    assert len({r.id for r in reports}) == len(reports)
    assert all(r.source.startswith("https://") and r.error_text.strip() for r in reports)


@pytest.mark.parametrize(("with_description", "which"), sorted(TARGETS))
def test_tuning_set_meets_the_targets(
    outcomes: dict[bool, list[Outcome]], with_description: bool, which: str
) -> None:
    tuning = [o for o in outcomes[with_description] if not o.report.held_out]
    assert _share(tuning, which) >= TARGETS[with_description, which], Score.of(tuning)


@pytest.mark.parametrize(("with_description", "which"), sorted(TARGETS))
def test_held_out_within_ten_points(
    outcomes: dict[bool, list[Outcome]], with_description: bool, which: str
) -> None:
    held = [o for o in outcomes[with_description] if o.report.held_out]
    assert _share(held, which) >= TARGETS[with_description, which] - HELD_OUT_SLACK, Score.of(held)


def test_description_helps_and_never_hurts_much(outcomes: dict[bool, list[Outcome]]) -> None:
    text_only, described = Score.of(outcomes[False]), Score.of(outcomes[True])
    assert described.top1 > text_only.top1
    assert described.top3 >= text_only.top3
