"""Shared fixtures: a clean environment for every test, root detection, the built-in healthy endpoint."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tlsdoctor.testing import FaultServer, start_endpoint

PROXY_VARS = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxy settings, root lists or colour from the developer's shell leak into a test."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TLSDOCTOR_TRUST_STORES", raising=False)  # the user's root lists (certs/rootlists.py)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    yield


IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (CI runs as root)")


@pytest.fixture
def healthy() -> Iterator[FaultServer]:
    """The built-in healthy endpoint (tlsdoctor.testing), started for one test and stopped after it."""
    with start_endpoint("healthy") as server:
        yield server


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[FaultServer]:
    """The built-in endpoint the test names (``parametrize("endpoint", [...], indirect=True)``), stopped
    after it; the test fails when the server's own code raised (``unexpected``: a bug of the endpoint, which
    would make whatever the test concluded about the client worthless)."""
    with start_endpoint(request.param) as server:
        yield server
    assert server.unexpected == []
