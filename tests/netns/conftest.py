"""Fixtures for the middlebox lab: one Lab per module, faults cleared after every test.

Tests here need root and ``ip netns``; elsewhere they skip with the reason. They drive REAL standard clients
(openssl s_client, curl, dig, ping) inside the ``client`` namespace, plus one tiny Python client
(``lab_clients.py``) for what those cannot do (a small TCP_MAXSEG, connect/handshake timings, concurrency).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdoctor.testing.lab import Lab, netns_available

LAB_PACKAGES = Path(__file__).resolve().parents[2] / ".ci" / "lab-packages.txt"


def missing_lab_packages(listing: Path = LAB_PACKAGES) -> list[str]:
    """The Debian packages of .ci/lab-packages.txt ("package command...") whose commands are not
    on PATH, the PATH the lab will run them from."""
    missing = []
    for line in listing.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and any(shutil.which(command) is None for command in words[1:]):
            missing.append(words[0])
    return missing


@functools.cache
def _missing_reason() -> str | None:
    missing = missing_lab_packages()
    if not missing:
        return None
    return (
        f"the lab needs Debian packages that are not installed: {' '.join(missing)} "
        f"(as root: apt-get install {' '.join(missing)}, or bash scripts/test.sh)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip every lab test for missing packages from here, not from a fixture: pytest folds skips
    raised at one place into one line ("SKIPPED [34] ...: reason"), while a fixture's skip is
    reported at each test's own line, burying the reason under dozens of them."""
    if (reason := _missing_reason()) is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def netns_ok() -> None:
    ok, reason = netns_available()
    if not ok:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(netns_ok: None) -> Iterator[Lab]:
    with Lab.create() as the_lab:
        yield the_lab


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").clear_faults()
