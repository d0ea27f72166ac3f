"""The probe's time budget from Prometheus' scrape-timeout header: honoured, bounded, never trusted."""

from __future__ import annotations

import pytest

from tlsdoctor.exporter.server import DEFAULT_SCRAPE_TIMEOUT_S, MAX_BUDGET_S, MIN_BUDGET_S, budget


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("10", 9.5),
        ("2.5", 2.0),
        (" 4 ", 3.5),
        (None, DEFAULT_SCRAPE_TIMEOUT_S - 0.5),  # no header: Prometheus' own default
        ("0.6", MIN_BUDGET_S),  # too short to diagnose anything: the floor
        ("1e9", MAX_BUDGET_S),
        ("nan", DEFAULT_SCRAPE_TIMEOUT_S - 0.5),
        ("inf", DEFAULT_SCRAPE_TIMEOUT_S - 0.5),
        ("-3", DEFAULT_SCRAPE_TIMEOUT_S - 0.5),
        ("soon", DEFAULT_SCRAPE_TIMEOUT_S - 0.5),
        ("9" * 400, DEFAULT_SCRAPE_TIMEOUT_S - 0.5),
    ],
)
def test_budget(header: str | None, expected: float) -> None:
    headers = {} if header is None else {"X-Prometheus-Scrape-Timeout-Seconds": header}
    assert budget(headers, 0.5) == pytest.approx(expected)
