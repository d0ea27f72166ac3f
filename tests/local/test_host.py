"""`tlsdoctor host` in a subprocess, under real conditions: a process out of file descriptors
(lowered RLIMIT_NOFILE), a diagnose whose socket() fails with EMFILE, an openssl.cnf with a strict
policy (OPENSSL_CONF, checked against what OpenSSL itself applied), proxy credentials in the
environment, TIME_WAIT sockets in /proc/net/tcp, and bad input."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tlsdoctor import runner
from tlsdoctor.context import Context, Options
from tlsdoctor.host.base import DEADLINE_S
from tlsdoctor.host.ports import PortCheck
from tlsdoctor.host.trust import TrustCheck, system_bundle_path
from tlsdoctor.observations.host import SocketStates, TrustStoreDiff
from tlsdoctor.testing.tlsservers import TlsServer

CLI = [sys.executable, "-m", "tlsdoctor"]


def run(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, check=False, env=env, **kw
    )


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.stdout, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def check(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    (found,) = [c for c in data["checks"] if c["id"] == check_id]
    return found


def observations(data: dict[str, Any], check_id: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in check(data, check_id)["data"]["observations"] if o["kind"] == kind]


def test_host_envelope_on_this_machine() -> None:
    proc = run("host", "--no-ntp", "--json")
    data = report(proc)
    assert data["schema"] == "tlsdoctor.report/1" and data["command"] == "host" and data["target"] is None
    assert proc.returncode == (0 if data["verdict"] == "healthy" else 1)
    ids = [c["id"] for c in data["checks"]]
    for expected in ("host.time-sync", "clock", "host.fds", "host.ports", "host.interfaces", "host.proxy",
                     "host.trust", "host.tls-policy", "host.versions"):  # fmt: skip
        assert expected in ids
    assert check(data, "clock")["status"] == "skip"
    (usage,) = observations(data, "host.fds", "fd-usage")
    assert usage["soft"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0] and usage["open"] >= 3
    (ports,) = observations(data, "host.ports", "port-usage")
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert (ports["low"], ports["high"]) == (low, high)
    names = {o["name"] for o in observations(data, "host.interfaces", "interface")}
    assert "lo" in names and names == set(os.listdir("/sys/class/net"))
    (python,) = [o for o in observations(data, "host.versions", "library-version") if o["name"] == "python"]
    assert python["version"] == ".".join(map(str, sys.version_info[:3]))
    system = observations(data, "host.trust", "trust-bundle")[0]
    assert system["name"] == "system" and system["anchors"] > 10


@pytest.fixture
def starved() -> Iterator[int]:
    """A real process that used up its descriptors: RLIMIT_NOFILE 64, /dev/null opened until EMFILE."""
    script = textwrap.dedent(
        """
        import os, resource, sys, time
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as exc:
            print(exc.strerror, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "Too many open files"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_host_pid_out_of_descriptors(starved: int) -> None:
    proc = run("host", "--no-ntp", "--pid", str(starved), "--json")
    data = report(proc)
    assert proc.returncode == 1 and data["verdict"] == "fault"
    top = data["causes"][0]
    assert top["id"] == "client-fd-exhaustion" and top["confidence"] >= 0.85
    assert f"process {starved}: 64 file descriptors open, limit 64" in top["evidence"][0]["observation"]


def test_host_near_miss_same_process_with_room(tmp_path: Path) -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        data = report(run("host", "--no-ntp", "--pid", str(idle.pid), "--json"))
    finally:
        idle.kill()
        idle.wait(timeout=10)
    assert "client-fd-exhaustion" not in [c["id"] for c in data["causes"]]
    (usage,) = observations(data, "host.fds", "fd-usage")
    assert usage["pid"] == idle.pid and usage["open"] < 10


def test_host_itself_under_a_lowered_limit() -> None:
    """`host` started by a process whose limit is 100 with 90 descriptors held and inherited (the
    lowest numbers, as a leaking parent would hold them): the run itself nearly has none left."""
    wrapper = textwrap.dedent(
        """
        import os, resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))
        for _ in range(90):
            os.set_inheritable(os.open(os.devnull, os.O_RDONLY), True)
        os.execv(sys.executable, [sys.executable, "-m", "tlsdoctor", "host", "--no-ntp", "--json"])
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=60, check=False
    )
    data = report(proc)
    (usage,) = observations(data, "host.fds", "fd-usage")
    assert usage["soft"] == 100 and usage["open"] >= 93
    # Every check still ends in an observation, none in a crash (curl cannot even be started).
    assert [c["id"] for c in data["checks"] if c["status"] == "error"] == []
    assert proc.returncode == 1 and data["causes"][0]["id"] == "client-fd-exhaustion"


DIAGNOSE_STARVED = """
import asyncio, os, resource, sys
from tlsdoctor import cli
from tlsdoctor.commands.diagnose import diagnose
from tlsdoctor.context import Context
from tlsdoctor.inputs import diagnose_options
import tlsdoctor.host.fds, tlsdoctor.host.ports, tlsdoctor.report.envelope

resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
target = sys.argv[1]
# A first, healthy run loads every module the run needs: a process out of descriptors cannot import.
asyncio.run(diagnose(Context(options=diagnose_options(target, servername="localhost", timeout=3))))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
for fd in held[-3:]:  # the event loop's epoll and self-pipe: the run itself starts, its sockets do not
    os.close(fd)
argv = ["diagnose", target, "--servername", "localhost", "--timeout", "3", "--json", *sys.argv[2:]]
sys.exit(cli.main(argv))
"""


@pytest.mark.parametrize("via_proxy", [False, True], ids=["direct", "proxy"])
def test_diagnose_when_socket_fails_with_emfile(via_proxy: bool) -> None:
    with TlsServer() as server:
        # The proxy is never reached: its socket() fails first. Any loopback port stands for it.
        proxy = ["--proxy", f"http://127.0.0.1:{server.port}"] if via_proxy else []
        proc = subprocess.run(
            [sys.executable, "-c", DIAGNOSE_STARVED, f"127.0.0.1:{server.port}", *proxy],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    data = report(proc)
    assert proc.returncode == 1 and data["verdict"] == "fault"
    top = data["causes"][0]
    assert top["id"] == "client-fd-exhaustion" and top["confidence"] >= 0.95
    said = " ".join(e["observation"] for e in top["evidence"])
    assert "EMFILE" in said and "256 file descriptors open, limit 256" in said
    assert check(data, "host.fds")["status"] == "warn"


def test_openssl_conf_policy_read_as_openssl_applies_it(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    main = tmp_path / "openssl.cnf"
    main.write_text("openssl_conf = init\n[init]\nssl_conf = ssl_sect\n.include conf.d\n")
    (tmp_path / "conf.d" / "strict.cnf").write_text(
        "[ssl_sect]\nsystem_default = strict\n[strict]\nMinProtocol = TLSv1.3\n"
        "CipherString = DEFAULT:@SECLEVEL=3\nOptions = UnsafeLegacyRenegotiation\n"
    )
    env = {**os.environ, "OPENSSL_CONF": str(main), "OPENSSL_CONF_INCLUDE": str(tmp_path)}
    data = report(run("host", "--no-ntp", "--json", env=env))
    (policy,) = observations(data, "host.tls-policy", "tls-policy")
    assert policy["config"] == str(main) and len(policy["files"]) == 2
    assert (policy["min_protocol"], policy["security_level"]) == ("TLSv1.3", 3)
    assert policy["legacy_renegotiation"] is True
    assert policy["python_minimum"] is not None and policy["python_security_level"] is not None
    summary = check(data, "host.tls-policy")["summary"]
    assert check(data, "host.tls-policy")["status"] == "warn" and "SECLEVEL=3" in summary
    # The same file, as OpenSSL itself applies it: `openssl s_client` refuses a TLS 1.2-only server.
    with TlsServer(tweak=tls12_only) as server:
        strict = s_client(server.port, env)
        default = s_client(server.port, {**os.environ, "OPENSSL_CONF": str(tmp_path / "none.cnf")})
    assert "Protocol version: TLSv1.2" in default and "CONNECTION ESTABLISHED" not in strict
    assert "alert protocol version" in strict


def tls12_only(ctx: ssl.SSLContext) -> None:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2


def s_client(port: int, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief"],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
        check=False,
    )
    return proc.stdout + proc.stderr


def test_openssl_conf_near_miss_default_policy(tmp_path: Path) -> None:
    main = tmp_path / "openssl.cnf"
    main.write_text("openssl_conf = init\n[init]\n")
    data = report(run("host", "--no-ntp", "--json", env={**os.environ, "OPENSSL_CONF": str(main)}))
    (policy,) = observations(data, "host.tls-policy", "tls-policy")
    assert policy["min_protocol"] is None and policy["legacy_renegotiation"] is False
    assert check(data, "host.tls-policy")["status"] == "pass"


def test_proxy_credentials_never_shown() -> None:
    env = {
        **os.environ,
        "HTTPS_PROXY": "http://alice:s3cret@127.0.0.1:3128",
        "https_proxy": "http://alice:s3cret@127.0.0.1:3129",
        "NO_PROXY": "localhost,.corp",
    }
    human = run("host", "--no-ntp", env=env)
    machine = run("host", "--no-ntp", "--json", env=env)
    for out in (human.stdout, machine.stdout):
        assert "s3cret" not in out and "alice" not in out
        assert "***@127.0.0.1:3128" in out
    data = report(machine)
    values = {o["name"]: o["value"] for o in observations(data, "host.proxy", "proxy-setting")}
    assert values["HTTPS_PROXY"] == "http://***@127.0.0.1:3128" and values["NO_PROXY"] == "localhost,.corp"
    assert check(data, "host.proxy")["status"] == "warn"  # the two spellings disagree
    assert "clients pick different ones" in " ".join(human.stdout.split())


def test_time_wait_sockets_are_counted() -> None:
    """A real loopback connection closed by the client first leaves it in TIME_WAIT."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn, _ = listener.accept()
            client.close()  # the active close: the client side waits in TIME_WAIT
            time.sleep(0.05)
            conn.close()
        _, _, found = PortCheck().collect()
    finally:
        listener.close()
    (states,) = [o for o in found if isinstance(o, SocketStates)]
    assert states.counts.get("TIME_WAIT", 0) >= 3
    per_port = {(s, p): n for s, p, n in states.top}
    assert per_port.get(("TIME_WAIT", port), 0) >= 3 or len(states.top) == 5


@pytest.mark.parametrize(
    "args",
    [
        ["--pid", "0"],
        ["--pid", "abc"],
        ["--pid", "4194303"],
        ["--ntp", "127.0.0.1", "--no-ntp"],
        ["--timeout", "-1"],
        ["--ntp", "bad host name!"],
    ],
)
def test_bad_input(args: list[str]) -> None:
    proc = run("host", *args)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_trust_stores_compared(tmp_path: Path) -> None:
    """A corporate CA added to one bundle and a root missing from it: counted on each side."""
    system = tmp_path / "system.pem"
    bundle = system_bundle_path()
    assert bundle is not None
    blocks = Path(bundle).read_text().split("-----END CERTIFICATE-----")
    roots = [b + "-----END CERTIFICATE-----\n" for b in blocks if "BEGIN CERTIFICATE" in b]
    system.write_text("".join(roots))
    corporate = trustme.CA().cert_pem.bytes().decode()
    other = tmp_path / "other.pem"
    other.write_text("".join(roots[1:]) + corporate)
    status, _, found = TrustCheck(system=str(system), certifi=str(other)).collect()
    (diff,) = [o for o in found if isinstance(o, TrustStoreDiff)]
    assert (diff.only_first, diff.only_second, diff.common) == (1, 1, len(roots) - 1)
    assert status.value == "pass"
    # Near miss made real: the same bundle, last updated three years ago, is stale.
    three_years = time.time() - 3 * 365 * 86400
    os.utime(system, (three_years, three_years))
    status, summary, _ = TrustCheck(system=str(system), certifi=str(other)).collect()
    assert status.value == "warn" and "last updated 1095 days ago" in summary


def test_trust_check_with_no_descriptor_left_says_so() -> None:
    """Finding certifi imports it, and an import needs descriptors: with none left (the state
    `test_host_itself_under_a_lowered_limit` puts the whole run in) each bundle says why it is
    unreadable, and the check ends in a status, not a crash."""
    script = textwrap.dedent(
        """
        import json, os, resource, sys
        from tlsdoctor.host.trust import TrustCheck
        assert "certifi" not in sys.modules
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        status, summary, found = TrustCheck().collect()
        for fd in held:
            os.close(fd)
        print(json.dumps([status.value, summary, [o.to_data() for o in found]]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    status, summary, found = json.loads(proc.stdout)
    assert status == "fail" and "Too many open files" in summary
    assert {o["name"]: o["problem"] for o in found} == {
        "system": "Too many open files",
        "certifi": "Too many open files",
    }


def test_no_descriptor_left_to_start_is_one_line_exit_3() -> None:
    """A process with every descriptor taken cannot build an event loop: one line naming the limit,
    exit 3, and none of Python's own noise about the half-built loop."""
    script = textwrap.dedent(
        """
        import os, resource, sys
        from tlsdoctor import cli
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        try:
            while True:
                os.open(os.devnull, os.O_RDONLY)
        except OSError:
            pass
        sys.exit(cli.main(["host", "--no-ntp", "--json"]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no file descriptor left" in proc.stderr
    assert "limit is 64" in proc.stderr


def test_missing_system_bundle_fails(tmp_path: Path) -> None:
    status, summary, _ = TrustCheck(system=str(tmp_path / "gone.pem")).collect()
    assert status.value == "fail" and "No such file" in summary


def test_library_check_host() -> None:
    import tlsdoctor
    from tlsdoctor.report.envelope import envelope

    for _ in range(2):  # callable again after its first call
        found = tlsdoctor.check_host(no_ntp=True, pid=os.getpid())
        assert found.command == "host" and envelope(found)["command"] == "host"
        usage = [o for c in found.checks for o in c.observations if o.kind == "fd-usage"]
        assert len(usage) == 1 and usage[0].to_data()["pid"] == os.getpid()

    async def inside_a_loop() -> str:
        return tlsdoctor.check_host(no_ntp=True).command

    assert asyncio.run(inside_a_loop()) == "host"
    with pytest.raises(ValueError, match="--pid"):
        tlsdoctor.check_host(pid=0)
    with pytest.raises(ValueError, match="contradict"):
        tlsdoctor.check_host(ntp="127.0.0.1", no_ntp=True)


def test_a_read_that_never_returns_costs_one_deadline(tmp_path: Path) -> None:
    """A "bundle" that is a FIFO with no writer: open() blocks for ever. The check ends at its
    deadline with status error, and the run (asyncio.run included) returns right after."""
    fifo = tmp_path / "bundle.pem"
    os.mkfifo(fifo)
    ctx = Context(options=Options(host=""))
    started = time.monotonic()
    try:
        result = asyncio.run(runner.run_one(TrustCheck(system=str(fifo)), ctx))
        elapsed = time.monotonic() - started
    finally:  # release the abandoned reader: a writer appears and closes at once (EOF)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert result.status.value == "error" and "deadline" in result.summary
    assert elapsed < DEADLINE_S + 1.0
