"""``tlsdoctor diagnose --targets FILE``: many endpoints, a bounded number at a time.

Every line of the file (``-``: standard input) is a TARGET as ``diagnose`` takes it; blank lines and
``#`` comments are skipped. All of them are validated before the first probe, with the options of the
command line, so a typo on line 900 is one line on stderr and exit status 2, not a failure after
minutes of probing. Each target then gets what the exporter's probes get (exporter/probe.py): the
default client's handshake, and the whole diagnose playbook only when that fails, so a thousand mostly
healthy endpoints cost about a thousand handshakes. ``--concurrency`` bounds the targets in flight.

Output: with ``--json``, one JSON report per line (JSON Lines) on stdout as each target finishes; else
one line per target. A live progress bar on stderr when it is a terminal, and a table of the causes
found at the end (on stderr with ``--json``, which keeps stdout pure JSON Lines). Exit status 1 when
any target is not healthy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.report.escape import escape_controls
from tlsdoctor.target import shown

if TYPE_CHECKING:
    from tlsdoctor.context import Options
    from tlsdoctor.model import Report
    from tlsdoctor.runner import LoopWatch

MAX_TARGETS = 100_000
MAX_LINE = 2048  # characters: a URL is rarely over a few hundred
MAX_FILE_BYTES = 16 << 20
MAX_CONCURRENCY = 1024


def read_targets(source: str) -> list[tuple[int, str]]:
    """(line number, target) for every target line of FILE (``-``: stdin)."""
    if source == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("--targets - reads the targets from standard input, and none is piped in")
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        where = "standard input"
    else:
        path = Path(source)
        if path.is_dir():
            raise InputError(f"cannot read --targets {shown(source)}: it is a directory")
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read --targets {shown(source)}: {exc.strerror or exc}") from None
        where = f"--targets {shown(source)}"
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{where} is over {MAX_FILE_BYTES >> 20} MiB")
    if b"\x00" in data[:4096]:
        raise InputError(f"{where} looks like binary data, not a list of targets")
    targets: list[tuple[int, str]] = []
    for number, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        line = raw.strip()
        for mark in (" #", "\t#"):  # a comment after a target (a URL may hold "#" itself)
            line = line.split(mark, 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE:
            raise InputError(f"{where} line {number}: a target of {len(line)} characters")
        targets.append((number, line))
        if len(targets) > MAX_TARGETS:
            raise InputError(f"{where}: more than {MAX_TARGETS} targets")
    if not targets:
        raise UsageError(f"{where} holds no target (one per line; # starts a comment)")
    return targets


def validated(
    targets: list[tuple[int, str]], source: str, validate: Callable[[str], Options]
) -> list[tuple[str, Options]]:
    """Every target checked, with the line it is on named when one is bad."""
    where = "standard input" if source == "-" else f"--targets {shown(source)}"
    out: list[tuple[str, Options]] = []
    for number, target in targets:
        try:
            out.append((target, validate(target)))
        except (UsageError, InputError) as exc:
            raise type(exc)(f"{where} line {number}: {exc}") from None
    return out


def run_batch(args: argparse.Namespace, validate: Callable[[str], Options]) -> int:
    """The whole batch: validate, diagnose, print; the exit status."""
    from tlsdoctor.inputs import count

    if args.target is not None:
        raise UsageError("give TARGET or --targets FILE, not both")
    if getattr(args, "report", None):
        raise UsageError("--report writes one endpoint's report: not with --targets (use --json)")
    concurrency = count(args.concurrency, 1, MAX_CONCURRENCY, "--concurrency")
    work = validated(read_targets(args.targets), args.targets, validate)
    return asyncio.run(_batch(work, concurrency, as_json=args.json))


async def _batch(work: list[tuple[str, Options]], concurrency: int, *, as_json: bool) -> int:
    from tlsdoctor.exporter.paths import FULL_AT_ONCE
    from tlsdoctor.model import Verdict

    slots = asyncio.Semaphore(FULL_AT_ONCE)
    causes: Counter[str] = Counter()
    faulty = 0
    queue: asyncio.Queue[tuple[str, Options]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    async with _heartbeat() as watch:
        with _progress(len(work)) as advance:

            async def worker() -> None:
                nonlocal faulty
                while True:
                    try:
                        target, options = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    report = await _one(options, slots)
                    if stalled_by_us(report):  # our stall, not an answer: once more, on a quiet loop
                        await _quiet(watch)
                        report = await _again(options, slots)
                    top = report.causes[0].id if report.causes else report.verdict.value
                    causes[top] += 1
                    faulty += report.verdict is not Verdict.HEALTHY
                    _emit(target, report, as_json=as_json)
                    advance(target)

            async with asyncio.TaskGroup() as group:
                for _ in range(min(concurrency, len(work))):
                    group.create_task(worker())
    _summary(causes, len(work), to_stderr=as_json)
    return 1 if faulty else 0


# A target whose diagnosis our own stall made doubtful (inconclusive, resting on a check the runner
# marked with LoopStall) is diagnosed once more, after the event loop has kept time for QUIET_S: a
# stall is usually a burst (a pile of playbooks starting at once on the one loop), and the re-run, on
# a calmer loop, gets the answer the network really has. The re-runs are not queued behind each other
# (a silent target's playbook mostly waits, and a queue of them would be the batch's tail); their
# busy starts share the FULL_AT_ONCE slots of every playbook. A machine that never calms down (other
# processes starving ours) gets the re-run after MAX_HOLD_S all the same, so the batch still ends;
# the re-run's own doubt, if any, is in its report.
QUIET_S = 0.5
MAX_HOLD_S = 1.0


@contextlib.asynccontextmanager
async def _heartbeat() -> AsyncIterator[LoopWatch]:
    """The runner's heartbeat (runner.LoopWatch) on batch mode's loop, for the whole batch."""
    from tlsdoctor.runner import LoopWatch

    watch = LoopWatch()
    beat = asyncio.create_task(watch.beat())
    try:
        yield watch
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)


async def _quiet(watch: LoopWatch) -> None:
    """Wait until the loop has kept time for ``QUIET_S`` (at most ``MAX_HOLD_S``)."""
    from tlsdoctor.runner import TICK_S

    give_up = time.monotonic() + MAX_HOLD_S
    while watch.stalls and watch.stalls[-1][1] > time.monotonic() - QUIET_S:
        if time.monotonic() >= give_up:
            return
        await asyncio.sleep(TICK_S)


def stalled_by_us(report: Report) -> bool:
    """Whether an inconclusive report rests on a check our own stall made doubtful: a re-run on a
    quiet loop may give the answer the network really has."""
    from tlsdoctor.model import Verdict

    if report.verdict is not Verdict.INCONCLUSIVE:  # a fault stood above the doubt, or no fault
        return False
    path = sys.modules.get("tlsdoctor.observations.path")
    if path is None:
        return False
    notes = (o for check in report.checks for o in check.observations)
    return any(isinstance(o, path.LoopStall) and not o.reliable for o in notes)


async def _one(options: Options, slots: asyncio.Semaphore) -> Report:
    from tlsdoctor.exporter.paths import fast_then_full

    report, _path = await fast_then_full(options, budget=None, full_slots=slots)
    return report


async def _again(options: Options, slots: asyncio.Semaphore) -> Report:
    """A re-run: the handshake already failed once, so straight to the playbook."""
    from tlsdoctor.exporter.paths import full_path

    return await full_path(options, full_slots=slots)


def _emit(target: str, report: Report, *, as_json: bool) -> None:
    """One target's result on stdout: a JSON line, or a line for a person."""
    if as_json:
        from tlsdoctor.report.envelope import dumps, envelope

        line = dumps(envelope(report), compact=True)
    else:
        top = report.causes[0] if report.causes else None
        cause = f"{top.id} ({top.confidence:.0%}): {top.summary}" if top else report.verdict.value
        line = f"{report.verdict.value:<12} {target}  {cause}"
        line = escape_controls(line)
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        from tlsdoctor.report.output import stdout_gone

        stdout_gone()


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr when a person watches it (a terminal), else nothing at all."""
    from tlsdoctor.report.progress import wanted

    if not wanted(json_output=False):
        yield lambda _target: None
        return
    import os

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))
    columns = (TextColumn("diagnosing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=total)

        def advance(target: str) -> None:
            bar.update(task, advance=1, description=escape_controls(target)[:60])

        yield advance


def _summary(causes: Counter[str], total: int, *, to_stderr: bool) -> None:
    """The table of causes, most frequent first."""
    from rich.console import Console
    from rich.table import Table

    from tlsdoctor.report.output import make_console

    table = Table(title=f"{total} targets", title_justify="left")
    table.add_column("cause")
    table.add_column("targets", justify="right")
    table.add_column("share", justify="right")
    for cause, n in causes.most_common():
        table.add_row(cause, str(n), f"{n / total:.0%}")
    console = make_console(stderr=to_stderr)
    assert isinstance(console, Console)
    with contextlib.suppress(BrokenPipeError):
        console.print(table)
