"""Bad input, secrets and names (issue 10 items 6-8): each case's exit status, wall time, error line.

Run by hand, against this checkout or another tree (an older commit exported with git archive):

    python bench/bad_input_table.py                 # this checkout
    python bench/bad_input_table.py /tmp/old/src    # another tree's src/, through PYTHONPATH

Prints a Markdown table. Makes its files with the openssl command line and runs `openssl s_server`
on a loopback port for the cases that used to reach a probe; all of it is removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

SRC = sys.argv[1] if len(sys.argv) > 1 else None
SECRET = "s3cret"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cases(d: str, t: str) -> list[tuple[str, list[str], dict[str, str]]]:
    proxy_env = f"http://user:{SECRET}@127.0.0.1:9"
    return [
        ("url [::1/", ["https://[::1/"], {}),
        ("--proxy http://[::1", [t, "--proxy", "http://[::1"], {}),
        ("--proxy http://a..b:3128", [t, "--proxy", "http://a..b:3128"], {}),
        ("4301-digit port", ["127.0.0.1:" + "1" * 4301], {}),
        ("--port 4301 digits", ["127.0.0.1", "--port", "1" * 4301], {}),
        ("--ca-file key only", [t, "--ca-file", f"{d}/other.key"], {}),
        ("--cert without --key", [t, "--cert", f"{d}/cli.pem"], {}),
        ("--cert/--key mismatch", [t, "--cert", f"{d}/cli.pem", "--key", f"{d}/other.key"], {}),
        ("--ntp a..b", [t, "--ntp", "a..b"], {}),
        ("--report dir", [t, "--report", "/tmp"], {}),
        ("--report /dev/full", [t, "--report", "/dev/full"], {}),
        ("--proxy ''", [t, "--proxy", ""], {}),
        ("--proxy http://h:0", [t, "--proxy", "http://h:0"], {}),
        ("target :٤٤٣", ["127.0.0.1:٤٤٣"], {}),
        ("--timeout ٢", [t, "--timeout", "٢"], {}),
        ("--resolver [::1]junk", ["localhost:1", "--resolver", "[::1]junk"], {}),
        ("100 KB --resolver", ["localhost:1", "--resolver", "c" * 100_000], {}),
        ("17 MiB --ca-file", [t, "--ca-file", f"{d}/big.pem"], {}),
        ("--repeat 0", [t, "--repeat", "0"], {}),
        ("--proxy socks5 with credentials", [t, "--proxy", f"socks5://user:{SECRET}@h:1080"], {}),
        ("HTTPS_PROXY socks5 with credentials", [t], {"HTTPS_PROXY": f"socks5://user:{SECRET}@h:1080"}),
        (
            "HTTPS_PROXY http credentials, dead proxy",
            [t, "--json", "--timeout", "1"],
            {"HTTPS_PROXY": proxy_env},
        ),
        ("straße.de (--connect-to, --json)", ["straße.de:1", "--connect-to", "127.0.0.1", "--json"], {}),
        ("☃.example", ["☃.example"], {}),
    ]


LIBRARY = [
    ("library timeout=nan", "timeout=float('nan')"),
    ("library timeout=0", "timeout=0"),
    ("library timeout=inf", "timeout=float('inf')"),
    ("library repeat=0", "repeat=0"),
    ("library resolver='[::1]junk'", "resolver='[::1]junk'"),
]
LIBRARY_CODE = """import sys, tlsdoctor
try:
    report = tlsdoctor.diagnose({target!r}, {kwargs})
    print("verdict", report.verdict, file=sys.stderr)
except (ValueError, TypeError) as exc:
    print(type(exc).__name__ + ":", exc, file=sys.stderr)
"""


def last_line(text: str, width: int = 110) -> str:
    lines = text.strip().splitlines()
    line = lines[-1] if lines else ""
    return f"{line[:width]}... ({len(line)} chars)" if len(line) > width else line


def environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if SRC:
        env["PYTHONPATH"] = SRC
    return env | extra


def table(d: str, t: str) -> None:
    print("| case | exit | wall s | stderr (last line) |\n|---|---|---|---|")
    for name, argv, extra in cases(d, t):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "tlsdoctor", "diagnose", *argv],
            capture_output=True,
            text=True,
            env=environment(extra),
            timeout=120,
            check=False,
        )
        wall = time.monotonic() - started
        note = ""
        if "--json" in argv and proc.stdout.startswith("{"):
            note = f" [JSON target.host={json.loads(proc.stdout)['target']['host']}]"
        if SECRET in proc.stdout + proc.stderr:
            note += " [PASSWORD SHOWN]"
        print(f"| {name} | {proc.returncode} | {wall:.2f} | {last_line(proc.stderr)}{note} |")
    for name, kwargs in LIBRARY:
        code = LIBRARY_CODE.format(target=t, kwargs=kwargs)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=environment({}),
            timeout=120,
            check=False,
        )
        print(f"| {name} | {proc.returncode} | {time.monotonic() - started:.2f} | {last_line(proc.stderr)} |")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tlsdoctor-badinput-") as d:
        rsa = ["-newkey", "rsa:2048", "-nodes", "-days", "2"]
        openssl(
            "req", "-x509", *rsa, "-keyout", f"{d}/srv.key", "-out", f"{d}/srv.pem", "-subj", "/CN=localhost"
        )
        openssl(
            "req", "-x509", *rsa, "-keyout", f"{d}/cli.key", "-out", f"{d}/cli.pem", "-subj", "/CN=client"
        )
        openssl("genpkey", "-algorithm", "RSA", "-out", f"{d}/other.key")
        with open(f"{d}/srv.pem", "rb") as fh:
            block = fh.read()
        with open(f"{d}/big.pem", "wb") as fh:
            while fh.tell() < 17 << 20:
                fh.write(block)
        port = free_port()
        serve = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-www", "-quiet"]
        server = subprocess.Popen(
            [*serve, "-cert", f"{d}/srv.pem", "-key", f"{d}/srv.key"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            table(d, f"127.0.0.1:{port}")
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=5)
            if server.poll() is None:
                server.kill()
                server.wait(timeout=5)


if __name__ == "__main__":
    main()
