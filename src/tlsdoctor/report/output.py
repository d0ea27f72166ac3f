"""Where the reports go: stdout (the JSON envelope, or rich's human rendering), the --report HTML file,
and a stdout whose reader has gone. Shared by every command's output, so it lives under report/, not
in cli.py (commands import it; the CLI imports the commands).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from tlsdoctor.model import Report

PIPED_WIDTH = 120


def make_console(stderr: bool = False) -> Console:
    """A rich console for the human output (stdout, or stderr), that leaves a gone reader to emit()
    and, piped, does not fold lines at 80 columns."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            """rich's default ends the process with status 1 (SystemExit) when the reader of stdout
            has gone (``| head``); the exit status is the diagnosis's, so let emit() decide."""
            self.quiet = True
            raise BrokenPipeError

    no_color = bool(os.environ.get("NO_COLOR"))
    console = PipeConsole(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped into a file or a pager: no screen to wrap at, so do not fold evidence lines at 80.
        console.width = PIPED_WIDTH
    return console


def emit(report: Report, args: argparse.Namespace) -> int:
    """Print the report (JSON or human), write --report, return the exit status.
    rich and the human renderer are imported only for the human output (--json skips them).
    A reader that stops reading (``| head -1``) changes nothing: the status is the diagnosis's."""
    if getattr(args, "report", None):
        from tlsdoctor.report import html

        try:
            Path(args.report).write_text(html.render(report), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write --report {args.report}: {exc.strerror or exc}") from None
    try:
        if args.json:
            from tlsdoctor.report import envelope

            sys.stdout.write(envelope.to_json(report) + "\n")
            sys.stdout.flush()
        else:
            from tlsdoctor.report import human

            console = make_console()
            human.render(report, console, verbose=getattr(args, "verbose", False))
    except BrokenPipeError:
        stdout_gone()
    return report.exit_status


def stdout_gone() -> None:
    """The reader of stdout has gone: point fd 1 at /dev/null, so that no later write or the
    interpreter's final flush fails again (Python's advice in the docs of the signal module, "Note
    on SIGPIPE"); what was not read is dropped, as ``| head`` asked."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
