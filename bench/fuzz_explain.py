"""Atheris fuzz target for ``explain``'s input: arbitrary bytes as stdin gives them
(``commands.explain.read_input``) through the whole command (``run_explain``: prefilter, regex
patterns, errno and OpenSSL code decoders, target detection, ranking), then through both reporters.

Invariant: text ends in a Report or an ``InputError`` (empty or binary input), in bounded time (a
regex that backtracks on some text is a hang: libFuzzer's ``-timeout``); the JSON report keeps the
text, and the human report written for a terminal carries no raw control character from it.
Seeds: every sample error text of tests/unit/explain.
Run: ``nice -n 19 .venv/bin/python bench/fuzz_explain.py -max_total_time=600 -max_len=16384 /tmp/fz/explain``.
"""

from __future__ import annotations

import io
import sys

from fuzz_harness import ROOT, atheris, main

sys.path.insert(0, str(ROOT / "tests" / "unit" / "explain"))

with atheris.instrument_imports(include=["tlsdoctor"]):
    from rich.console import Console

    from tlsdoctor.commands.explain import read_input, run_explain
    from tlsdoctor.errors import InputError
    from tlsdoctor.report import envelope, human


def test_one_input(raw: bytes) -> None:
    try:
        report = run_explain(read_input(raw))
    except InputError:
        return
    envelope.to_json(report)
    out = io.StringIO()
    human.render(report, Console(file=out, width=100, force_terminal=True, color_system=None))
    text = out.getvalue()
    bad = [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, f"raw control characters reached the terminal: {bad[:5]!r}"


def seeds() -> list[bytes]:
    from explain_samples_clients import CLIENT_SAMPLES
    from explain_samples_servers import SERVER_SAMPLES

    return [s.text.encode() for s in [*CLIENT_SAMPLES, *SERVER_SAMPLES]]


if __name__ == "__main__":
    main(test_one_input, seeds)
