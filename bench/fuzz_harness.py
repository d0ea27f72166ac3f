"""What every ``bench/fuzz_*.py`` target shares: the atheris set-up, the seed corpus, the limits.

A target defines ``test_one_input(data: bytes)`` (raise on a crash, return otherwise) and a list
of seed inputs, then calls :func:`main`. The invariant is the project's rule for hostile input:
any bytes end in a value or one of the documented exceptions, in bounded time and memory.
libFuzzer enforces the bounds, with defaults :func:`main` adds unless the command line sets them:

- ``-timeout=10``: one input that runs longer than 10 s is a hang (a crash report with the stack);
- ``-rss_limit_mb=1024``: the process growing past 1 GiB is a crash (memory growth);
- ``-print_final_stats=1``: iterations (``stat::number_of_executed_units``) and peak RSS
  (``stat::peak_rss_mb``) at the end, for the record.

Run one: ``nice -n 19 .venv/bin/python bench/fuzz_dns.py -max_total_time=600 /tmp/corpus-dns``
(``.venv/bin/pip install atheris``; the corpus directory is seeded on start and grows as the fuzzer
finds new coverage). ``bench/fuzz_all.sh`` runs every target and collects the numbers.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

try:
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]
except ImportError:  # the regression tests replay saved crashes through the targets without atheris
    atheris = types.SimpleNamespace(instrument_imports=lambda **_: contextlib.nullcontext())

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
DEFAULTS = ("-timeout=10", "-rss_limit_mb=1024", "-print_final_stats=1")


def golden_flights() -> list[bytes]:
    """The recorded server flights and client hellos of tests/golden (hex, '#' comments)."""
    samples = []
    for path in sorted(GOLDEN.glob("*.hex")):
        text = "".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
        samples.append(bytes.fromhex("".join(text.split())))
    return samples


def write_seeds(directory: Path, seeds: Iterable[bytes]) -> None:
    """Put the seeds into the corpus directory (kept across runs; existing entries stay)."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds):
        (directory / f"seed-{i:03d}").write_bytes(seed)


def main(test_one_input: Callable[[bytes], None], seeds: Callable[[], Iterable[bytes]]) -> Any:
    """Seed the corpus directory named on the command line (if any), then fuzz until told to stop."""
    argv = list(sys.argv)
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus and not Path(corpus[0]).is_file():  # a file is an input to replay, not a corpus
        write_seeds(Path(corpus[0]), seeds())
    for flag in DEFAULTS:
        if not any(a.startswith(flag.split("=")[0] + "=") for a in argv):
            argv.append(flag)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
