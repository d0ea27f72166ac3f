"""``tlsdoctor diagnose --targets FILE``: the CLI in a subprocess against the built-in endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.model import Report
from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.endpoints import running

CLI = [sys.executable, "-m", "tlsdoctor", "diagnose"]
NAMES = ("healthy", "reset-after-hello", "expired", "refused")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FaultServer]]:
    with running(*NAMES) as started:
        yield started


def batch(
    servers: dict[str, FaultServer], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    ca = str(servers["healthy"].ca_file)
    command = [*CLI, *args, "--servername", "localhost", "--ca-file", ca, "--timeout", "2"]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_json_lines_one_report_per_target(servers: dict[str, FaultServer], tmp_path: Path) -> None:
    listing = tmp_path / "targets.txt"
    lines = ["# the lab", ""] + [f"127.0.0.1:{servers[n].port}  # {n}" for n in NAMES]
    listing.write_text("\n".join(lines) + "\n")
    proc = batch(servers, "--targets", str(listing), "--json", "--concurrency", "4")
    assert proc.returncode == 1, proc.stderr  # some targets are faulty
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(reports) == len(NAMES)
    by_port = {r["target"]["port"]: r for r in reports}
    for name in NAMES:
        report = by_port[servers[name].port]
        assert report["schema"] == "tlsdoctor.report/1"
        assert report["causes"][0]["id"] == servers[name].expected, (name, report["causes"])
    # The summary table goes to stderr: stdout stays pure JSON Lines.
    assert "cert-expired" in proc.stderr and "4 targets" in proc.stderr


def test_all_healthy_from_stdin_exits_0(servers: dict[str, FaultServer]) -> None:
    port = servers["healthy"].port
    proc = batch(servers, "--targets", "-", stdin=f"127.0.0.1:{port}\nhttps://127.0.0.1:{port}/\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("healthy ")]
    assert len(rows) == 2
    assert "healthy" in proc.stdout.split("2 targets", 1)[1]  # the table of causes, after the rows


def test_a_bad_line_is_named_before_any_probe(servers: dict[str, FaultServer], tmp_path: Path) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text(f"127.0.0.1:{servers['healthy'].port}\n\nexample.com:99999\n")
    proc = batch(servers, "--targets", str(listing))
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert "line 3:" in line and "port" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["127.0.0.1:1", "--targets", "-"], "not both"),
        (["--targets", "/nonexistent/targets.txt"], "cannot read --targets"),
        (["--targets", "-", "--concurrency", "0"], "invalid --concurrency"),
        ([], "diagnose needs TARGET, or --targets FILE"),
    ],
)
def test_usage_errors(servers: dict[str, FaultServer], args: list[str], message: str) -> None:
    proc = batch(servers, *args, stdin="127.0.0.1:1\n")
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert message in line


def test_an_empty_list(servers: dict[str, FaultServer]) -> None:
    proc = batch(servers, "--targets", "-", stdin="# nothing\n\n")
    assert proc.returncode == 2 and "holds no target" in proc.stderr


def test_a_diagnosis_our_own_stall_made_doubtful_is_run_again_when_the_loop_is_quiet(
    servers: dict[str, FaultServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Batch mode's event loop is blocked (a real computation holding it, as a pile of playbooks
    starting at once does) until the first diagnosis of a broken target ends: that one is doubtful,
    and the target's answer comes from a second run on a quiet loop, not "inconclusive"."""
    import asyncio
    import time

    from tlsdoctor.commands import batch as batch_mode
    from tlsdoctor.exporter import paths
    from tlsdoctor.inputs import diagnose_options

    server = servers["reset-after-hello"]
    target = f"127.0.0.1:{server.port}"
    options = diagnose_options(target, servername="localhost", ca_file=servers["healthy"].ca_file, timeout=2)
    finished: list[str] = []  # the verdicts of the diagnoses run, in order
    first, again = paths.fast_then_full, paths.full_path

    async def counted_first(*args: Any, **kwargs: Any) -> tuple[Report, str]:
        report, path = await first(*args, **kwargs)
        finished.append(report.verdict.value)
        return report, path

    async def counted_again(*args: Any, **kwargs: Any) -> Report:
        report = await again(*args, **kwargs)
        finished.append(report.verdict.value)
        return report

    monkeypatch.setattr(paths, "fast_then_full", counted_first)
    monkeypatch.setattr(paths, "full_path", counted_again)

    async def hog() -> None:  # 0.3 s of CPU on the loop every 50 ms, until a diagnosis has ended
        deadline = time.monotonic() + 60
        while not finished and time.monotonic() < deadline:
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                pass
            await asyncio.sleep(0.05)

    async def main() -> int:
        blocker = asyncio.create_task(hog())
        try:
            return await batch_mode._batch([(target, options)], 1, as_json=True)
        finally:
            blocker.cancel()

    assert asyncio.run(main()) == 1
    report = json.loads(capsys.readouterr().out)
    assert finished == ["inconclusive", "fault"]  # the stall made the first run doubtful, not the second
    assert report["verdict"] == "fault"
    assert report["causes"][0]["id"] == server.expected, report["causes"]
