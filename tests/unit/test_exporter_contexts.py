"""The exporter and batch mode diagnose thousands of targets with one module: the TLS client
contexts (0.9 MB and ~20 ms of CPU each with the system store) are shared by every target whose
context would be built alike, not rebuilt per target or per per-step timeout."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from tlsdoctor.checks.handshake import DEFAULT, VARIANTS, build_context
from tlsdoctor.context import Context
from tlsdoctor.inputs import diagnose_options


def test_targets_with_the_same_settings_share_one_context() -> None:
    first = Context(options=diagnose_options("a.example:8443", servername="svc.example"))
    other = Context(options=diagnose_options("b.example:9443", servername="other.example", timeout=2))
    assert build_context(first, DEFAULT) is build_context(other, DEFAULT)
    shorter = Context(options=dataclasses.replace(first.options, timeout=0.7))
    assert build_context(shorter, VARIANTS[0]) is build_context(first, VARIANTS[0])


def test_what_goes_into_a_context_still_tells_them_apart() -> None:
    named = Context(options=diagnose_options("a.example:5000"))
    by_ip = Context(options=diagnose_options("192.0.2.1:5000"))  # no name to check: check_hostname off
    https = Context(options=diagnose_options("a.example:443"))  # ALPN offered on an HTTPS port
    keylog = Path(tempfile.mkdtemp()) / "keys.log"
    recording = Context(options=dataclasses.replace(named.options, keylog_file=keylog))  # --capture
    contexts = {id(build_context(c, DEFAULT)) for c in (named, by_ip, https, recording)}
    assert len(contexts) == 4
    assert build_context(recording, DEFAULT).keylog_filename == str(keylog)
    assert build_context(by_ip, DEFAULT).check_hostname is False
    assert build_context(named, DEFAULT).check_hostname is True
