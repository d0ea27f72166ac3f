"""Every realistic sample: the right top cause, or the right candidates and an inconclusive verdict."""

from __future__ import annotations

from collections import Counter

import pytest
from explain_samples_clients import CLIENT_SAMPLES, Sample
from explain_samples_servers import SERVER_SAMPLES

from tlsdoctor.commands.explain import run_explain
from tlsdoctor.model import Verdict

SAMPLES = CLIENT_SAMPLES + SERVER_SAMPLES


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_sample(sample: Sample) -> None:
    report = run_explain(sample.text)
    ranked = [(c.id, c.confidence) for c in report.causes]
    assert report.causes, f"no cause for {sample.name}"
    if sample.top:
        assert report.causes[0].id == sample.top, ranked
        assert report.verdict is Verdict.FAULT, ranked
    else:
        top3 = {c.id for c in report.causes[:3]}
        assert set(sample.vague) <= top3, ranked
        assert report.causes[0].confidence < 0.5, ranked
        assert report.verdict is Verdict.INCONCLUSIVE
    if sample.target:
        assert report.extra["detected_target"] == sample.target
    assert report.extra["next_checks"], "every explained text suggests a next command"


def test_at_least_three_samples_per_family() -> None:
    counts = Counter(s.family for s in SAMPLES)
    families = {
        "openssl",
        "curl",
        "git",
        "python",
        "pip",
        "node",
        "go",
        "java",
        "dotnet",
        "gnutls",
        "nginx",
        "haproxy",
        "apache",
        "psql",
    }
    assert {f: n for f, n in counts.items() if f in families and n < 3} == {}
    assert families <= set(counts)
