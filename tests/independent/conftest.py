"""Fixtures of the independent corpus: an nginx that serves AIA issuers, and the tools it needs.

The corpus is kept apart from ``tlsdoctor.testing`` on purpose: its certificates come from the
`openssl` command line and bare ``cryptography``, its servers are `openssl s_server` and nginx, and
its expectations are checked against `openssl s_client` and curl. Other engineers may add test files
here; PKI and server helpers live in independent_pki.py, the certificate cases in independent_cases.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import independent_pki as pki
import pytest
from independent_cases import register_aia

TOOLS = ("openssl", "nginx", "faketime", "curl")


@pytest.fixture(scope="session")
def corpus_tools() -> None:
    """Skip, naming what is missing, when the other tools are not installed (.ci installs them)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"the independent corpus needs {', '.join(missing)}")


@pytest.fixture(scope="session")
def aia(tmp_path_factory: pytest.TempPathFactory, corpus_tools: None) -> Iterator[str]:
    """The base URL of an nginx serving AIA caIssuers files (plain HTTP on 127.0.0.1)."""
    base = tmp_path_factory.mktemp("aia")
    files = base / "files"
    files.mkdir()
    with pki.nginx(base, root=files) as port:
        url = f"http://127.0.0.1:{port}"
        register_aia(url, files)
        yield url


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    """A directory named after the test, so AIA file names stay unique across cases."""
    d = tmp_path / "case"
    d.mkdir()
    return d
