"""`demo --lab` without root: one line on stderr, exit status 2, nothing built."""

from __future__ import annotations

import os

import pytest

from tlsdoctor import cli


def test_demo_lab_needs_root(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cli.main(["demo", "--lab"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_demo_lab_unknown_scenario(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert cli.main(["demo", "--lab", "--only", "no-such-fault"]) == 2
    assert "unknown lab scenario" in capsys.readouterr().err
