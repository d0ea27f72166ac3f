"""Prober.pace: the schedule follows what the version wave measured, answers against our CPU."""

from __future__ import annotations

from tlsdoctor.scan.probe import ProbeResult
from tlsdoctor.scan.prober import PARALLEL_PAYS, Prober, ScanTarget


def prober() -> Prober:
    return Prober(ScanTarget(address="127.0.0.1", port=443, servername=None, verify_name="127.0.0.1"))


def wave(*elapsed_ms: float, silent: int = 0) -> list[ProbeResult]:
    answered = [ProbeResult(end="hello", elapsed_ms=ms, bytes_received=900) for ms in elapsed_ms]
    return answered + [ProbeResult(end="timeout", elapsed_ms=5000.0) for _ in range(silent)]


def test_answers_within_a_few_probes_cpu_make_the_chains_serial() -> None:
    p = prober()
    assert p.serial is False and p.idle()  # until measured: the long-path schedule
    p.pace(wave(3.0, 2.5, 4.0, 9.0, 12.0, 3.1), cpu_s=0.006)  # 1 ms of CPU a probe
    assert p.serial is True and not p.idle()  # and no forks either


def test_a_long_path_keeps_the_chains_side_by_side() -> None:
    p = prober()
    p.pace(wave(113.0, 112.7, 118.9, 113.0, 112.9, 112.7), cpu_s=0.006)
    assert p.serial is False and p.idle()


def test_the_bar_is_the_fastest_answer_against_the_cpu_a_probe_costs() -> None:
    near, far = prober(), prober()
    per_probe_ms = 2.0
    near.pace(wave(PARALLEL_PAYS * per_probe_ms * 0.9, 500.0), cpu_s=2 * per_probe_ms / 1000)
    far.pace(wave(PARALLEL_PAYS * per_probe_ms * 1.1, 500.0), cpu_s=2 * per_probe_ms / 1000)
    assert near.serial is True and far.serial is False


def test_a_wave_without_an_answer_decides_nothing() -> None:
    p = prober()
    p.pace(wave(silent=6), cpu_s=0.006)
    assert p.serial is False
