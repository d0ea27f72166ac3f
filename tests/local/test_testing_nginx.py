"""tlsdoctor.testing.nginx and .processes, the launchers every nginx and ``openssl s_server`` of the tests
and benchmarks goes through, checked with the stdlib ``ssl`` client only: nginx serves what it was given
(several server blocks, chosen by SNI), a configuration nginx refuses is reported with nginx's own words,
and the process is gone when the block ends."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tlsdoctor.testing import LeafSpec, Pki
from tlsdoctor.testing.nginx import NGINX, Site, running
from tlsdoctor.testing.processes import serving, stop, talk

pytestmark = pytest.mark.skipif(NGINX is None, reason="needs nginx (Debian package)")


def fetch(port: int, name: str, ca_file: Path, version: ssl.TLSVersion | None = None) -> tuple[str, str]:
    """(the TLS version, the HTTP answer's body) of one verified request to ``name`` at 127.0.0.1."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return str(tls.version()), data.split(b"\r\n\r\n", 1)[1].decode()


def test_sites_on_one_port_are_chosen_by_sni_with_their_own_certificates(tmp_path: Path) -> None:
    """Two server blocks: each name gets its own certificate (verified against its name) and answer; the
    TLS directives of the default server hold for the handshake (nginx picks the version before SNI)."""
    with Pki() as pki:
        a = pki.issue("a", LeafSpec(sans=("a.test",)))
        b = pki.issue("b", LeafSpec(sans=("b.test",)))
        sites = (
            Site(cert=a.chain_file, key=a.key_file, name="a.test", listen=" default_server",
                 tls="ssl_protocols TLSv1.2;", answer='return 200 "site a";'),
            Site(cert=b.chain_file, key=b.key_file, name="b.test", answer='return 200 "site b";'),
        )  # fmt: skip
        with running(tmp_path / "nginx", *sites) as port:
            assert fetch(port, "a.test", a.ca_file) == ("TLSv1.2", "site a")
            assert fetch(port, "b.test", b.ca_file) == ("TLSv1.2", "site b")
            with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
                fetch(port, "b.test", b.ca_file, ssl.TLSVersion.TLSv1_3)
        assert (tmp_path / "nginx" / "nginx.conf").read_text().count("server {") == 2
    with pytest.raises(OSError):  # stopped: nothing listens on the port any more
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_configuration_nginx_refuses_is_reported_in_its_words(tmp_path: Path) -> None:
    refused = running(tmp_path, Site(tls="no_such_directive on;"))
    with (
        pytest.raises(RuntimeError, match=r"nginx exited .*unknown directive \"no_such_directive\""),
        refused,
    ):
        pass


def test_serving_waits_for_the_port_and_stops_the_program_by_its_pid(tmp_path: Path) -> None:
    with Pki() as pki:
        files = pki.issue("s", LeafSpec())
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(files.chain_file),
               "-key", str(files.key_file), "-www", "-quiet"]  # fmt: skip
        with serving(cmd, port, "openssl s_server") as proc:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # s_server sends the leaf alone
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
                assert tls.version() is not None  # it was listening when serving() returned
            pid = proc.pid
        assert proc.returncode is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_talk_types_each_line_into_a_separate_read_and_ends_the_input(tmp_path: Path) -> None:
    """s_client acts on each read of its stdin (a read starting with "k" is a KeyUpdate): a reader that logs
    its reads sees one per line, then the end of its input (so it exits before talk's timeout)."""
    reads = tmp_path / "reads"
    logger = (
        "import os, sys\n"
        "with open(sys.argv[1], 'w') as out:\n"
        "    while b := os.read(0, 1024):\n"
        "        out.write(repr(b) + '\\n')\n"
    )
    talk([sys.executable, "-c", logger, str(reads)], b"first\n", b"k\n", pause=0.3, timeout=5)
    assert reads.read_text().splitlines() == ["b'first\\n'", "b'k\\n'"]


def test_stop_asks_a_master_with_sigterm_first() -> None:
    """With grace, SIGTERM comes first: a shell that traps it exits 0 instead of being killed (-9)."""
    script = "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    proc = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # the trap is set
        stop(proc, grace=5.0)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
