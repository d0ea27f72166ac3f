"""``tlsdoctor explain``: interpret an error message or log excerpt, offline.

The playbook: bound and check the text, find the clues, let the engine rank the causes
they support, then suggest the tlsdoctor commands that would confirm the top causes.
An explain report is never "healthy": text can show a fault, never its absence.
"""

from __future__ import annotations

import time

from tlsdoctor.errors import InputError
from tlsdoctor.explain import analyse, suggest
from tlsdoctor.explain.matcher import diagnose_command
from tlsdoctor.explain.rank import diagnose_clues
from tlsdoctor.model import CheckResult, Report, Status, TargetInfo

CHECK_ID = "explain.text"


def read_input(data: bytes) -> str:
    """Decode raw input (stdin or a file) as text; binary input is an InputError."""
    if b"\x00" in data[:65536] and data[:65536].count(b"\x00") * 100 > len(data[:65536]):
        raise InputError("explain: the input looks binary (NUL bytes); give the error text")
    return data.decode("utf-8", errors="replace")


def run_explain(text: str) -> Report:
    """Explain ``text``: ranked causes, the clues as evidence, next checks in ``extra``."""
    start = time.perf_counter()
    found = analyse(text)
    clues = found.clues
    if clues:
        families = ", ".join(dict.fromkeys(c.family for c in clues))
        summary = f"{len(clues)} known message(s) found ({families})"
        status = Status.FAIL
    else:
        summary = "no known TLS or network error message found in the text"
        status = Status.WARN
    if found.truncated:
        summary += "; input over 1 MiB, only its end was read"
    if found.focused:
        summary += "; long input: its head, its tail and the lines around TLS and connection words were read"
    elapsed = (time.perf_counter() - start) * 1000
    result = CheckResult(
        id=CHECK_ID, status=status, summary=summary, duration_ms=round(elapsed, 1), observations=clues
    )
    verdict, causes = diagnose_clues([result])
    target = found.target
    return Report(
        command="explain",
        target=TargetInfo(host=target.host, port=target.port) if target else None,
        verdict=verdict,
        causes=tuple(causes),
        checks=(result,),
        duration_ms=round((time.perf_counter() - start) * 1000, 1),
        extra={
            "next_checks": list(
                dict.fromkeys([diagnose_command(text, target), *suggest(causes, clues, target)])
            ),
            "detected_target": str(target) if target else None,
        },
    )
