"""The exporter as users run it: ``tlsdoctor exporter`` in a subprocess, on a free loopback port."""

from __future__ import annotations

import contextlib
import re
import selectors
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

LISTENING = re.compile(rb"listening on http://([0-9.]+:[0-9]+)/")


@contextlib.contextmanager
def exporter(*args: str, config: Path | None = None) -> Iterator[str]:
    """Start ``tlsdoctor exporter --listen 127.0.0.1:0`` and yield its base URL; stop it by PID after."""
    command = [sys.executable, "-m", "tlsdoctor", "exporter", "--listen", "127.0.0.1:0", *args]
    if config is not None:
        command += ["--config", str(config)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield f"http://{_bound(proc)}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()


def _bound(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 20
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline and b"\n" not in seen:
            if sel.select(timeout=0.2):
                chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
                if not chunk:
                    break
                seen += chunk
    found = LISTENING.search(seen)
    if found is None:
        raise AssertionError(f"the exporter did not start: {seen.decode(errors='replace')}")
    return found.group(1).decode()


def get(url: str, *, scrape_timeout: float | None = None, timeout: float = 30) -> tuple[int, str, float]:
    """(status, body, seconds) of one GET, as Prometheus sends it."""
    headers = {} if scrape_timeout is None else {"X-Prometheus-Scrape-Timeout-Seconds": str(scrape_timeout)}
    start = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as answer:
            return answer.status, answer.read().decode(), time.monotonic() - start
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), time.monotonic() - start


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """name -> [(labels, value)], parsed by prometheus-client's parser."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def value(parsed: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    (only,) = parsed[name]
    return only[1]


def top_cause(parsed: dict[str, list[tuple[dict[str, str], float]]]) -> str:
    causes = sorted(parsed.get("tlsdoctor_cause", []), key=lambda s: -s[1])
    return causes[0][0]["cause"] if causes else ""
