"""Bad input (issue 10 items 6-8): exit 2 with one short line, before any probe runs.

Every case runs the real CLI against a listening socket of the test's own and then checks that
nothing ever connected to it: the error came before the first probe. The library raises
ValueError with the very same message (one validation for both: tlsdoctor.inputs).
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tlsdoctor
from tlsdoctor.report import envelope
from tlsdoctor.testing import FaultServer
from tlsdoctor.testing.processes import tinyproxy

CLI = [sys.executable, "-m", "tlsdoctor"]
SECRET = "s3cr3t-Pa55"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, check=False, env=env or clean_env()
    )


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port that records whether anything connected (it never accepts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def nobody_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files made by the openssl command line: a certificate and its key, a key of another pair."""
    d = tmp_path_factory.mktemp("pem")
    for name in ("client", "other"):
        key, cert = str(d / f"{name}.key"), str(d / f"{name}.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key,
                "-out",
                cert,
                "-days",
                "2",
                "-subj",
                f"/CN={name}",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    mangled = d / "mangled.pem"  # a good certificate, then one cut short by a bad paste
    mangled.write_text((d / "client.pem").read_text() + "-----BEGIN CERTIFICATE-----\nMIIB!!\n")
    big = d / "big.pem"
    with big.open("wb") as fh:  # sparse: the size alone must be refused, before reading
        fh.truncate(17 << 20)
    return {
        "cert": d / "client.pem",
        "key": d / "client.key",
        "other_key": d / "other.key",
        "big": big,
        "mangled": mangled,
    }


# (name, argv after the target, message fragment); "{t}" is the listener's host:port.
CASES: list[tuple[str, list[str], str]] = [
    ("url-unclosed-bracket", ["https://[::1/"], "missing ']'"),
    ("proxy-unclosed-bracket", ["{t}", "--proxy", "http://[::1"], "missing ']'"),
    ("proxy-empty-label", ["{t}", "--proxy", "http://a..b:3128"], "bad label"),
    ("port-4301-digits", ["127.0.0.1:" + "1" * 4301], "(4301 characters)"),
    ("--port-4301-digits", ["127.0.0.1", "--port", "1" * 4301], "(4301 characters)"),
    ("ca-file-key-only", ["{t}", "--ca-file", "{other_key}"], "holds no certificate"),
    ("cert-without-key", ["{t}", "--cert", "{cert}"], "no private key"),
    ("key-does-not-match", ["{t}", "--cert", "{cert}", "--key", "{other_key}"], "does not match"),
    ("key-without-cert", ["{t}", "--key", "{key}"], "--key needs --cert"),
    ("ntp-empty-label", ["{t}", "--ntp", "a..b"], "--ntp"),
    ("report-directory", ["{t}", "--report", "{tmp}"], "directory"),
    ("report-dev-full", ["{t}", "--report", "/dev/full"], "No space left"),
    ("proxy-empty", ["{t}", "--proxy", ""], "--no-proxy"),
    ("proxy-port-0", ["{t}", "--proxy", "http://h:0"], "from 1 to 65535"),
    ("arabic-digits-port", ["127.0.0.1:٤٤٣"], "'٤٤٣'"),
    ("arabic-digits---port", ["127.0.0.1", "--port", "٤٤٣"], "--port"),
    ("arabic-digits-timeout", ["{t}", "--timeout", "٢"], "--timeout"),
    ("timeout-nan", ["{t}", "--timeout", "nan"], "--timeout"),
    ("timeout-inf", ["{t}", "--timeout", "inf"], "--timeout"),
    ("timeout-exponent", ["{t}", "--timeout", "1e3"], "--timeout"),
    ("timeout-negative", ["{t}", "--timeout", "-1"], "--timeout"),
    ("resolver-junk-after-bracket", ["localhost:1", "--resolver", "[::1]junk"], "after ']'"),
    ("resolver-port-0", ["localhost:1", "--resolver", "127.0.0.1:0"], "from 1 to 65535"),
    ("repeat-0", ["{t}", "--repeat", "0"], "--repeat"),
    ("repeat-negative", ["{t}", "--repeat", "-1"], "--repeat"),
    ("repeat-too-many", ["{t}", "--repeat", "1001"], "--repeat"),
    ("target-100kb", ["a" * 100_000 + ":x"], "invalid port"),
    ("servername-100kb", ["{t}", "--servername", "b" * 100_000], "100000 characters"),
    ("resolver-100kb", ["localhost:1", "--resolver", "c" * 100_000], "(100000 characters)"),
    ("starttls-100kb", ["{t}", "--starttls", "d" * 100_000], "cut"),
    ("ca-file-17mib", ["{t}", "--ca-file", "{big}"], "the limit is 16 MiB"),
    ("ca-file-mangled", ["{t}", "--ca-file", "{mangled}"], "certificate 2 is not valid PEM"),
    ("connect-to-name", ["{t}", "--connect-to", "localhost"], "expected an IP address"),
    (
        "connect-to-other-host",
        ["h.example:443", "--connect-to", "other.example:443:127.0.0.1:1"],
        "not the target",
    ),
    (
        "connect-to-other-port",
        ["h.example:443", "--connect-to", "h.example:80:127.0.0.1:1"],
        "not the target",
    ),
    ("connect-to-port-0", ["h.example:443", "--connect-to", "127.0.0.1:0"], "from 1 to 65535"),
    ("idna-disallowed-snowman", ["☃.example"], "not a valid internationalised name"),
    ("servername-snowman", ["{t}", "--servername", "☃.example"], "--servername"),
]


@pytest.mark.parametrize(("name", "argv", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_before_any_probe(
    name: str,
    argv: list[str],
    fragment: str,
    listener: socket.socket,
    pem: dict[str, Path],
    tmp_path: Path,
) -> None:
    host, port = listener.getsockname()
    values = {k: str(v) for k, v in pem.items()} | {"t": f"{host}:{port}", "tmp": str(tmp_path)}
    started = time.monotonic()
    proc = run("diagnose", *(a.format(**values) if "{" in a else a for a in argv))
    elapsed = time.monotonic() - started
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:], proc.stdout[-500:])
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("tlsdoctor: error: "), lines
    assert len(lines[0]) <= 400, f"{len(lines[0])} characters"
    assert fragment in lines[0], lines[0]
    assert proc.stdout == ""
    assert nobody_connected(listener), "a probe ran before the input was refused"
    assert elapsed < 20, elapsed  # a backstop only: refusing input never waits on the network


def test_report_file_not_created_when_the_run_is_refused(tmp_path: Path) -> None:
    """The --report probe (a zero-byte write) leaves nothing behind when a later check refuses."""
    report = tmp_path / "r.html"
    proc = run("diagnose", "127.0.0.1:1", "--report", str(report), "--timeout", "nan")
    assert proc.returncode == 2
    assert not report.exists()


LIBRARY_CASES: list[tuple[str, dict[str, object], list[str]]] = [
    ("timeout-nan", {"timeout": math.nan}, ["--timeout", "nan"]),
    ("timeout-0", {"timeout": 0}, ["--timeout", "0"]),
    ("timeout-negative", {"timeout": -1.5}, ["--timeout", "-1.5"]),
    ("timeout-inf", {"timeout": math.inf}, ["--timeout", "inf"]),
    ("repeat-0", {"repeat": 0}, ["--repeat", "0"]),
    ("resolver-junk", {"resolver": ["[::1]junk"]}, ["--resolver", "[::1]junk"]),
    ("proxy-empty", {"proxy": ""}, ["--proxy", ""]),
    ("port-unicode", {"port": "٤٤٣"}, ["--port", "٤٤٣"]),
]


@pytest.mark.parametrize(("name", "kwargs", "argv"), LIBRARY_CASES, ids=[c[0] for c in LIBRARY_CASES])
def test_library_raises_value_error_with_the_cli_message(
    name: str, kwargs: dict[str, object], argv: list[str], listener: socket.socket
) -> None:
    host, port = listener.getsockname()
    target = "127.0.0.1" if "port" in kwargs else f"{host}:{port}"
    with pytest.raises(ValueError) as raised:
        tlsdoctor.diagnose(target, **kwargs)
    cli = run("diagnose", target, *argv)
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"tlsdoctor: error: {raised.value}"
    assert nobody_connected(listener)


def test_library_accepts_a_bool_as_no_number() -> None:
    with pytest.raises(ValueError, match="--timeout"):
        tlsdoctor.diagnose("127.0.0.1:1", timeout=True)


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connecting is refused at once


def test_idna2008_name_stays_sharp_s(refused_port: int) -> None:
    """UTS 46 nontransitional, as browsers and curl: ß is kept (xn--strae-oqa), not mapped to ss."""
    proc = run(
        "diagnose", f"straße.de:{refused_port}", "--connect-to", "127.0.0.1", "--json", "--timeout", "2"
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["target"]["host"] == "xn--strae-oqa.de"
    assert report["target"]["servername"] == "xn--strae-oqa.de"


@pytest.mark.parametrize("form", ["{port}", "localhost:443:{port}", "::{port}"])
def test_connect_to_with_a_port_as_the_contract_says(healthy: FaultServer, form: str) -> None:
    """--connect-to ADDR:PORT and curl's HOST:PORT:ADDR:PORT (contract/cli.md): the name stays the
    target's (SNI, certificate), the connection goes to ADDR:PORT."""
    mapping = form.replace("{port}", f"127.0.0.1:{healthy.port}")
    proc = run(
        "diagnose", "localhost:443", "--connect-to", mapping, "--ca-file", str(healthy.ca_file), "--json"
    )
    report = json.loads(proc.stdout)
    assert report["causes"][0]["id"] == "healthy", report["causes"]
    assert report["target"]["servername"] == "localhost"
    assert report["target"]["addresses"] == ["127.0.0.1"] and report["target"]["port"] == healthy.port


TINYPROXY = shutil.which("tinyproxy")


@pytest.fixture
def auth_proxy(tmp_path: Path) -> Iterator[int]:
    """Debian's tinyproxy on loopback, demanding Basic credentials other than the ones we send."""
    if TINYPROXY is None:
        pytest.skip("tinyproxy is not installed (apt-get install tinyproxy)")
    with tinyproxy(tmp_path, "BasicAuth lab labpass", program=TINYPROXY) as port:
        yield port


def assert_no_secret(*texts: str, user: str = "user", password: str = SECRET) -> None:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    for text in texts:
        assert password not in text
        assert encoded not in text


@pytest.mark.parametrize(
    ("user", "password", "top"), [("user", SECRET, "proxy-error"), ("lab", "labpass", "healthy")]
)
def test_proxy_credentials_from_the_environment_never_shown(
    auth_proxy: int, healthy: FaultServer, tmp_path: Path, user: str, password: str, top: str
) -> None:
    """HTTPS_PROXY with credentials, through a real proxy (wrong ones: 407; right ones: a working
    tunnel): the JSON report, the human report, the HTML report and stderr name the proxy but
    never its password, nor the Basic token made of it."""
    env = clean_env(HTTPS_PROXY=f"http://{user}:{password}@127.0.0.1:{auth_proxy}")
    common = [f"127.0.0.1:{healthy.port}", "--servername", "localhost", "--ca-file", str(healthy.ca_file)]
    common += ["--timeout", "3"]
    as_json = run("diagnose", *common, "--json", env=env)
    html = tmp_path / "r.html"
    human = run("diagnose", *common, "--report", str(html), env=env)
    report = json.loads(as_json.stdout)
    assert report["causes"][0]["id"] == top, report["causes"]
    assert f"127.0.0.1:{auth_proxy}" in as_json.stdout  # the proxy is named...
    texts = (as_json.stdout, as_json.stderr, human.stdout, human.stderr, html.read_text())
    assert_no_secret(*texts, user=user, password=password)  # ...its credentials never


@pytest.mark.parametrize("source", ["--proxy", "HTTPS_PROXY", "https_proxy"])
@pytest.mark.parametrize(
    "url",
    [
        f"socks5://user:{SECRET}@127.0.0.1:1080",
        f"socks5h://user:{SECRET}@[::1",
        f"http://user:{SECRET}@h:99999",
        f"http://user:{SECRET}@a..b:3128",
        f"user:{SECRET}@h:0",
    ],
)
def test_proxy_credentials_redacted_in_errors(source: str, url: str) -> None:
    if source == "--proxy":
        proc = run("diagnose", "127.0.0.1:1", "--proxy", url)
    else:
        proc = run("diagnose", "127.0.0.1:1", env=clean_env(**{source: url}))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert_no_secret(proc.stderr, proc.stdout)


PASTED = (
    f"* Uses proxy env variable https_proxy == 'http://user:{SECRET}@proxy.example:3128'\n"
    f"> Proxy-Authorization: Basic {base64.b64encode(f'user:{SECRET}'.encode()).decode()}\n"
    f"curl: (56) CONNECT tunnel failed, response 407 via proxy http://user:{SECRET}@proxy.example:3128\n"
)


def test_explain_never_quotes_credentials_back() -> None:
    """explain quotes the pasted text in its evidence: the proxy URL's password and the Basic
    token are redacted first, from the argument, from standard input and in the library."""
    as_arg = run("explain", PASTED, "--json")
    from_stdin = subprocess.run(
        [*CLI, "explain"], input=PASTED, capture_output=True, text=True, timeout=60, check=False
    )
    library = envelope.to_json(tlsdoctor.explain(PASTED))
    assert json.loads(as_arg.stdout)["causes"][0]["id"] == "proxy-error"
    assert "***@proxy.example:3128" in as_arg.stdout  # the proxy quoted, its credentials not
    assert_no_secret(as_arg.stdout, as_arg.stderr, from_stdin.stdout, from_stdin.stderr, library)


@pytest.mark.parametrize(
    ("kwargs", "argv"),
    [
        ({"timeout": math.nan}, ["--timeout", "nan"]),
        ({"max_time": 0}, ["--max-time", "0"]),
        ({"max_connections": 0}, ["--max-connections", "0"]),
        ({"port": "٤٤٣"}, ["--port", "٤٤٣"]),
    ],
)
def test_library_scan_validates_as_the_cli(
    kwargs: dict[str, object], argv: list[str], listener: socket.socket
) -> None:
    host, port = listener.getsockname()
    target = "127.0.0.1" if "port" in kwargs else f"{host}:{port}"
    with pytest.raises(ValueError) as raised:
        tlsdoctor.scan(target, **kwargs)
    cli = run("scan", target, *argv)
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"tlsdoctor: error: {raised.value}"
    assert nobody_connected(listener)


def test_library_scan_of_a_healthy_endpoint(healthy: FaultServer) -> None:
    report = tlsdoctor.scan(
        f"127.0.0.1:{healthy.port}", servername="localhost", ca_file=healthy.ca_file, timeout=3
    )
    assert report.command == "scan"
    assert report.exit_status == 0, report.causes
