"""Every input a fuzz target (bench/fuzz_*.py) ever crashed on, replayed through that target.

tests/fuzz_crashes/<target>/ holds the inputs exactly as libFuzzer saved them (or as written by
hand for a crash found by reading the code, named for what it holds). The target's own
``test_one_input`` runs each one, so the invariant is the fuzzer's: a value or a documented
exception, never anything else. atheris is not needed: the harness runs the targets uninstrumented.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CRASHES = ROOT / "tests" / "fuzz_crashes"
CASES = sorted((p.parent.name, p) for p in CRASHES.glob("*/*") if p.is_file())


def target(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module(f"fuzz_{name}")
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_every_target_has_a_directory_of_crashes_or_none() -> None:
    assert CASES, "the regression corpus is empty"
    for name, _ in CASES:
        assert (ROOT / "bench" / f"fuzz_{name}.py").is_file(), f"no fuzz target for {name}"


@pytest.mark.parametrize(("name", "path"), CASES, ids=[f"{n}/{p.name}" for n, p in CASES])
def test_saved_crash_replays_cleanly(name: str, path: Path) -> None:
    target(name).test_one_input(path.read_bytes())


def test_undecodable_certificate_is_a_finding_not_a_crash() -> None:
    """A leaf whose public key does not decode (found by fuzz_certs) is an 'unparseable' finding."""
    from tlsdoctor.certs.analysis import analyse_chain
    from tlsdoctor.observations.cert import CertificateProblem, ProblemKind

    raw = (CRASHES / "certs" / "crash-56121c5dbb3f8ddfcbf2ebdcf09693d71d376e5b").read_bytes()
    chain = target("certs").chain_of(raw[1:])
    found = analyse_chain(chain, "fuzz.example", [], dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    problems = [o for o in found if isinstance(o, CertificateProblem)]
    assert any(p.problem is ProblemKind.UNPARSEABLE and "does not parse" in p.detail for p in problems)


def test_status_code_must_be_three_ascii_digits() -> None:
    """'²'.isdigit() is true and int('²') raises: both HTTP readers refuse such a status line."""
    from tlsdoctor.net.http import parse_response
    from tlsdoctor.wire.connect_proxy import NotHttp, parse_connect_response

    assert isinstance(parse_connect_response(b"HTTP/1.1 \xb2 x\r\n\r\n"), NotHttp)
    assert parse_response(b"HTTP/1.1 \xb2 x\r\n\r\n", 100).status is None
    assert parse_connect_response(b"HTTP/1.1 200 OK\r\n\r\n").status == 200  # type: ignore[union-attr]
