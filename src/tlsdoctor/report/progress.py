"""Live progress of a diagnosis on stderr, for a person watching a terminal.

A silent endpoint costs a whole timeout per phase; without a sign of life, five seconds of nothing
look like a hang. So while checks run, stderr shows which are running (and for how long) and how the
finished ones ended. Only a terminal gets it: piped or redirected stderr, ``TERM=dumb`` and ``--json``
get not one byte more, so scripts and logs see exactly what they saw before. The display is
transient (erased when the run ends): the report on stdout is the record.

The runner tells a :class:`tlsdoctor.context.CheckObserver` when each check starts and ends;
:class:`CheckProgress` is that observer. It is called on the event loop's thread and drawn by rich's
refresh thread, hence the lock. Check summaries quote servers, so they go through
:func:`tlsdoctor.report.escape.escape_controls` and ``Text`` (never rich markup).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tlsdoctor.model import CheckResult
from tlsdoctor.report.escape import escape_controls
from tlsdoctor.report.styles import STATUS_STYLE

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.text import Text

    from tlsdoctor.context import CheckObserver

SHOWN_RUNNING = 8  # at most this many running checks listed (the rest counted)
SHOWN_FINISHED = 6  # the last few finished checks, newest last


class CheckProgress:
    """The checks of one run as they start and finish; a rich renderable of that state."""

    def __init__(self, title: str) -> None:
        self.title = escape_controls(title)
        self._lock = threading.Lock()
        self._running: dict[str, list[float]] = {}  # id -> start times (an id may run twice: a re-run)
        self._finished: list[CheckResult] = []
        self._spinner: object | None = None

    def started(self, check_id: str) -> None:
        with self._lock:
            self._running.setdefault(check_id, []).append(time.monotonic())

    def finished(self, result: CheckResult) -> None:
        with self._lock:
            starts = self._running.get(result.id)
            if starts:
                starts.pop(0)
                if not starts:
                    del self._running[result.id]
            self._finished.append(result)

    def snapshot(self) -> tuple[list[tuple[str, float]], list[CheckResult], int]:
        """(running id and seconds so far, oldest first; the last finished; how many finished)."""
        now = time.monotonic()
        with self._lock:
            running = sorted(
                ((cid, now - min(starts)) for cid, starts in self._running.items()), key=lambda r: -r[1]
            )
            return running, self._finished[-SHOWN_FINISHED:], len(self._finished)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.spinner import Spinner
        from rich.text import Text

        if self._spinner is None:
            self._spinner = Spinner("dots", style="cyan")
        running, finished, done = self.snapshot()
        head = Text(f"{self.title}: {len(running)} running, {done} finished")
        assert isinstance(self._spinner, Spinner)
        self._spinner.update(text=head)
        yield self._spinner
        width = max((len(r.id) for r in finished), default=0)
        width = min(28, max([width, *(len(cid) for cid, _ in running[:SHOWN_RUNNING])]))
        for result in finished:
            line = Text(f"  {escape_controls(result.id):<{width}}  ")
            line.append(f"{result.status.value:<7}", style=STATUS_STYLE[result.status])
            line.append(f" {result.duration_ms:>6.0f} ms  {escape_controls(result.summary)}", style="dim")
            yield _one_line(line, options.max_width)
        for check_id, seconds in running[:SHOWN_RUNNING]:
            line = Text(f"  {escape_controls(check_id):<{width}}  ")
            line.append("running", style="cyan")
            line.append(f" {seconds:>6.1f} s")
            yield _one_line(line, options.max_width)
        if len(running) > SHOWN_RUNNING:
            yield Text(f"  and {len(running) - SHOWN_RUNNING} more running", style="dim")


def _one_line(line: Text, width: int) -> Text:
    """One terminal line, cut with an ellipsis: a wrapped line would break the live redraw."""
    line.truncate(max(1, width), overflow="ellipsis")
    line.no_wrap = True
    return line


def wanted(*, json_output: bool) -> bool:
    """Progress only for a person: stderr a terminal that can move its cursor, human output."""
    if json_output or os.environ.get("TERM") == "dumb":
        return False
    try:
        return os.isatty(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # stderr closed or replaced by an object without a fd
        return False


@contextlib.contextmanager
def shown_on_terminal(title: str, *, json_output: bool) -> Iterator[CheckObserver | None]:
    """A live progress display on stderr for the block, or None (nothing written) when not wanted.
    rich is imported only when the display is shown: ``--json`` and pipes keep their start-up time."""
    if not wanted(json_output=json_output):
        yield None
        return
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))
    progress = CheckProgress(title)
    with Live(
        progress,
        console=console,
        transient=True,
        refresh_per_second=8,
        redirect_stdout=False,
        redirect_stderr=False,
    ):
        yield progress
