"""Fixtures for the middlebox lab: one Lab per module, faults cleared after every test.

Tests here need root and ``ip netns``; elsewhere they skip with the reason. They drive REAL standard clients
(openssl s_client, curl, dig, ping) inside the ``client`` namespace, plus one tiny Python client
(``lab_clients.py``) for what those cannot do (a small TCP_MAXSEG, connect/handshake timings, concurrency).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tlsdoctor.testing.lab import Lab, netns_available


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
