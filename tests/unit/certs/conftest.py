"""Fixtures for certificate tests (helpers live in certkit.py)."""

from __future__ import annotations

import pytest
from certkit import NOW, Pki

from tlsdoctor.clock import FixedClock


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)
