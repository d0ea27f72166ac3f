"""A running lab as the faults and the packet captures use it: its namespaces, its work directory, a
way to run programs in a role, and the mid box's services started on demand.

:class:`~tlsdoctor.testing.lab.lab.Lab` is the one implementation; faults.py and capture.py are
written against this, so that the Lab can apply them without the two importing each other.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tlsdoctor.testing.lab.netns import Namespaces
from tlsdoctor.testing.lab.pki import InterceptPki


class LabHandle(Protocol):
    workdir: Path
    ns: Namespaces

    @property
    def intercept_pki(self) -> InterceptPki: ...

    def run_in(
        self,
        role: str,
        argv: Sequence[str],
        timeout: float = 10.0,
        *,
        check: bool = False,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]: ...

    def spawn_in(
        self,
        role: str,
        argv: Sequence[str],
        *,
        stdout: int | None = subprocess.DEVNULL,
        stderr: int | None = subprocess.DEVNULL,
    ) -> subprocess.Popen[bytes]: ...

    def proxy_url(self, kind: str = "open") -> str: ...

    def ensure_proxy(self) -> None: ...

    def ensure_relay(self) -> None: ...

    def ensure_slow_server(self, workers: int, backlog: int, key_op: float, fresh: bool = False) -> None: ...

    def ensure_delayer(self, one_way_ms: float, jitter_ms: float) -> None: ...
