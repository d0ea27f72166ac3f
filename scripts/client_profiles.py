#!/usr/bin/env python3
"""Regenerate src/tlsdoctor/clientsim/profiles.toml: the recorded ClientHellos of well-known clients.

Two sources, both recordings of real clients' first bytes (never hellos we composed):

* ``--ssllabs FILE``: Qualys SSL Labs' published client list (its API's getClients call: each
  client's recorded handshake bytes and the limits SSL Labs measured, e.g. the largest DH group Java 8
  accepts), as Debian's testssl.sh package ships it in /etc/testssl/client-simulation.txt.
* ``--testssl FILE --testssl-release TEXT``: a newer testssl.sh's etc/client-simulation.txt (same
  format; SSL Labs' captures plus testssl.sh's own wireshark captures of newer clients: Android 13-16,
  Java 21, current browsers), read for the clients of TESTSSL_NEWER only; the release is cited.
* ``--record``: clients installed on this machine (curl, Python's ssl, Node.js, GnuTLS, OpenSSL),
  each pointed at a loopback socket that keeps the first flight and closes. ``--keep-recorded``
  keeps the recordings already in profiles.toml instead (a re-recording changes every random).

Only the facts are kept: the hello bytes and the measured limits, with the source of each.
Run: python scripts/client_profiles.py --ssllabs /etc/testssl/client-simulation.txt \
    --testssl client-simulation.txt --testssl-release "3.3dev (git 9fdf8028, 2026-06-25)" --record
(the newer file from the testssl/testssl.sh repository, ``git show 9fdf8028:etc/client-simulation.txt``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "tlsdoctor" / "clientsim" / "profiles.toml"
SSLLABS_SOURCE = (
    "Qualys SSL Labs client list (API getClients), recorded handshake bytes and measured limits, "
    "as shipped by Debian's testssl.sh 3.0.8 (client-simulation.txt)"
)

# SSL Labs name -> (our profile name, trust store the client uses, what it stands for)
SSLLABS = {
    "Chrome 101 (Win 10)": ("chrome101", "system", "Chrome 101 on Windows 10 (BoringSSL)"),
    "Firefox 100 (Win 10)": ("firefox100", "mozilla", "Firefox 100 on Windows 10 (NSS)"),
    "Safari 15.4 (macOS 12.3.1)": ("safari15", "system", "Safari 15.4 on macOS 12.3"),
    "Edge 101 Win 10 21H2": ("edge101", "system", "Edge 101 on Windows 10 21H2"),
    "Android 7.0 (native)": ("android7", "system", "Android 7.0 native TLS stack"),
    "Android 8.1 (native)": ("android8", "system", "Android 8.1 native TLS stack"),
    "Android 9.0 (native)": ("android9", "system", "Android 9 native TLS stack"),
    "Android 10.0 (native)": ("android10", "system", "Android 10 native TLS stack"),
    "Android 11 (native)": ("android11", "system", "Android 11 native TLS stack"),
    "Android 12 (native)": ("android12", "system", "Android 12 native TLS stack"),
    "Java 8u161": ("java8", "java", "Java 8u161 (JSSE)"),
    "Java 11.0.2 (OpenJDK)": ("java11", "java", "OpenJDK 11.0.2 (JSSE)"),
    "Java 17.0.3 (OpenJDK)": ("java17", "java", "OpenJDK 17.0.3 (JSSE)"),
    "OpenSSL 1.1.1d (Debian)": ("openssl111", "system", "OpenSSL 1.1.1d s_client defaults (Debian)"),
    "OpenSSL 3.0.3 (git)": ("openssl3", "system", "OpenSSL 3.0.3 s_client defaults"),
    "go 1.17.8": ("go117", "system", "Go 1.17.8 crypto/tls"),
    "IE 11 Win 7": ("ie11-win7", "system", "Internet Explorer 11 on Windows 7 (Schannel)"),
    "IE 11 Win 10": ("ie11-win10", "system", "Internet Explorer 11 on Windows 10 (Schannel)"),
    "IE 8 XP": ("ie8-xp", "system", "Internet Explorer 8 on Windows XP (Schannel)"),
    "IE 6 XP": ("ie6-xp", "system", "Internet Explorer 6 on Windows XP (Schannel, SSLv2 hello)"),
    "Safari 12.1 (iOS 12.2)": ("safari-ios12", "system", "Safari on iOS 12.2"),
}
# Newer clients from a newer testssl.sh's client-simulation.txt (its name -> ours, trust, label).
# trust "android", "apple", "windows": the platform's root list (certs/rootlists.py) when installed,
# given only where the list is of that platform release (AOSP 16, iOS/macOS 26, today's Windows CTL).
TESTSSL_NEWER = {
    "Android 13/14 (native)": ("android13", "system", "Android 13/14 native TLS stack"),
    "Android 15/16 (native)": ("android15", "android", "Android 15/16 native TLS stack"),
    "Java 21.0.6 (OpenJDK)": ("java21", "java", "OpenJDK 21.0.6 (JSSE)"),
    "Java 8u442 (OpenJDK)": ("java8u442", "java", "OpenJDK 8u442 (JSSE, with the TLS 1.3 backport)"),
    "Chromium 137 (Win 11)": ("chrome137", "system", "Chromium 137 on Windows 11 (BoringSSL)"),
    "Firefox 137 (Win 11)": ("firefox137", "mozilla", "Firefox 137 on Windows 11 (NSS)"),
    "Edge 133 Win 11 23H2": ("edge133", "windows", "Edge 133 on Windows 11 23H2"),
    "Safari 26.4 (macOS/iOS/iPadOS 26.4)": ("safari26", "apple", "Safari 26.4 on macOS, iOS and iPadOS 26.4"),
    "OpenSSL 3.5.0 (git)": ("openssl35", "system", "OpenSSL 3.5.0 s_client defaults"),
}
TESTSSL_SOURCE = (
    "testssl.sh {release}, etc/client-simulation.txt (recorded handshake bytes and measured limits: "
    "SSL Labs' client list and testssl.sh's own captures)"
)
LIMITS = ("minDhBits", "maxDhBits", "minRsaBits", "maxRsaBits", "minEcdsaBits")


def ssllabs_profiles(
    path: Path, table: dict[str, tuple[str, str, str]] = SSLLABS, source: str = SSLLABS_SOURCE
) -> list[dict[str, object]]:
    text = path.read_text()
    found: list[dict[str, object]] = []
    for block in re.split(r"\n\s*\n", text):
        name = re.search(r'names\+=\("([^"]*)"\)', block)
        if name is None or name.group(1) not in table:
            continue
        fields = dict(re.findall(r"(\w+)\+=\(\"?([^\")]*)\"?\)", block))
        short, trust, label = table[name.group(1)]
        limits = {k: int(fields[k]) for k in LIMITS if k in fields and int(fields[k]) > 0}
        sha2 = any(fields.get(k) == "true" for k in fields if k.lower() == "requiressha2")
        found.append(
            {
                "name": short,
                "label": label,
                "source": f"{source}: '{name.group(1)}'",
                "trust": trust,
                "hello": fields["handshakebytes"],
                "requires_sha2": sha2,
                "lowest_version": int(fields["lowest_protocol"], 16),
                **{_snake(k): v for k, v in limits.items()},
            }
        )
    missing = set(v[0] for v in table.values()) - {str(p["name"]) for p in found}
    if missing:
        sys.exit(f"not in {path}: {sorted(missing)}")
    return found


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _first_flight(command: list[str]) -> bytes:
    """Run ``command`` ("{port}" replaced by the port) against a socket that keeps the client's first
    record and closes."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        port = server.getsockname()[1]
        argv = [a.replace("{port}", str(port)) for a in command]
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        try:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(10)
                data = b""
                while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data[: 5 + int.from_bytes(data[3:5], "big")]
        finally:
            proc.kill()
            proc.wait()


PY_CLIENT = (
    "import socket,ssl,sys;c=ssl.create_default_context();"
    "s=socket.create_connection(('127.0.0.1',int(sys.argv[1])));c.wrap_socket(s,server_hostname='example.com')"
)
JAVA_CLIENT = """
import javax.net.ssl.*;
import java.util.List;
public class Hello {
    public static void main(String[] a) throws Exception {
        SSLSocketFactory f = (SSLSocketFactory) SSLSocketFactory.getDefault();
        SSLSocket s = (SSLSocket) f.createSocket("127.0.0.1", Integer.parseInt(a[0]));
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("example.com")));
        s.setSSLParameters(p);
        try { s.startHandshake(); } catch (Exception e) { }
    }
}
"""
JAVA25 = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
NODE_CLIENT = (
    "require('tls').connect({host:'127.0.0.1',port:{port},servername:'example.com'}).on('error',()=>{})"
)

# CPython 3.7-3.9's ssl.create_default_context() on OpenSSL 1.1.1, as Modules/_ssl.c configures every
# SSLContext (its test_ssl checks these options) and PY_SSL_DEFAULT_CIPHER_STRING; no Python here links
# 1.1.1, so the same calls go through pyOpenSSL to the OpenSSL 1.1.1 of an old cryptography wheel
# (--python111: a python with cryptography==3.4.8 and pyOpenSSL==20.0.1, whose OpenSSL reads no config).
PY111_CLIENT = """
import socket, sys
from OpenSSL import SSL
lib = SSL._lib
c = SSL.Context(SSL.SSLv23_METHOD)  # TLS_method() in 1.1.1 (SSLv23_method is its alias)
c.set_options((lib.SSL_OP_ALL & ~lib.SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS) | lib.SSL_OP_NO_SSLv2
              | lib.SSL_OP_NO_SSLv3 | lib.SSL_OP_NO_COMPRESSION | lib.SSL_OP_CIPHER_SERVER_PREFERENCE
              | lib.SSL_OP_SINGLE_DH_USE | lib.SSL_OP_SINGLE_ECDH_USE)
c.set_cipher_list(b"DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK")
t = SSL.Connection(c, socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
t.set_tlsext_host_name(b"example.com")
t.set_connect_state()
try:
    t.do_handshake()
except Exception:
    pass
"""

# .NET's HttpClient, driven from Python through pythonnet on the .NET Core 3.1 runtime that PyPI's
# dotnetcore2 package carries (--dotnet: a python with dotnetcore2 and pythonnet). On Linux .NET's
# SslStream runs on the system's OpenSSL with .NET's own cipher and protocol defaults; 3.1 loads only
# OpenSSL 1.0/1.1, which Debian 12 lacks, so --dotnet-openssl names a directory holding
# libssl.so.1.1/libcrypto.so.1.1 (e.g. the OpenSSL 1.1.1 that psycopg2-binary 2.9.3's wheel bundles).
DOTNET_CLIENT = """
import os, sys
import dotnetcore2
from clr_loader import get_coreclr
from pythonnet import set_runtime
config = os.path.join(os.environ["TMPDIR_DOTNET"], "runtimeconfig.json")
with open(config, "w") as f:
    f.write('{"runtimeOptions": {"tfm": "netcoreapp3.1", "framework": '
            '{"name": "Microsoft.NETCore.App", "version": "3.1.23"}}}')
root = os.path.join(os.path.dirname(dotnetcore2.__file__), "bin")
set_runtime(get_coreclr(runtime_config=config, dotnet_root=root))
import clr
clr.AddReference("System.Net.Http")
from System.Net.Http import HttpClient
try:
    HttpClient().GetAsync("https://localhost:" + sys.argv[1] + "/").Wait()
except Exception:
    pass
"""

RECORDED_HOW = {  # how a recording was made, where the client is not simply run as installed
    "dotnet-core31": "; .NET Core 3.1.23's HttpClient (PyPI dotnetcore2 3.1.23) through pythonnet, on "
    "the OpenSSL 1.1.1l of psycopg2-binary 2.9.3's wheel: Debian 12 has no .NET and no OpenSSL 1.1",
    "python-openssl111": "; CPython 3.9's SSLContext options and cipher string (Modules/_ssl.c) applied "
    "through pyOpenSSL 20.0.1 to the OpenSSL 1.1.1l of cryptography 3.4.8's wheel: "
    "no Python here links 1.1.1",
}

# name -> (label, command, trust, policy of the library's defaults as shipped on this machine)
OPENSSL3_POLICY = {"min_dh_bits": 2048, "min_rsa_bits": 2048, "requires_sha2": True}
RECORDED = {
    "python-openssl3": (
        "Python {pyver} ssl.create_default_context() with OpenSSL 3 (Debian 12)",
        [sys.executable, "-c", PY_CLIENT, "{port}"],
        "system",
        OPENSSL3_POLICY,
    ),
    "curl": (
        "curl {curlver} with OpenSSL 3 (Debian 12)",
        [
            "curl",
            "-sk",
            "--max-time",
            "5",
            "--resolve",
            "example.com:{port}:127.0.0.1",
            "https://example.com:{port}/",
        ],
        "system",
        OPENSSL3_POLICY,
    ),
    "node20": (
        "Node.js {nodever} tls.connect defaults (its own OpenSSL 3 and compiled-in roots)",
        ["node", "-e", NODE_CLIENT],
        "node",
        # Node builds its TLS context at OpenSSL's security level 1 (a 1024-bit RSA key passes)
        {"min_dh_bits": 1024, "min_rsa_bits": 1024, "requires_sha2": True},
    ),
    "java25": (
        "Java {javaver} (Temurin) SSLSocketFactory defaults (JSSE)",
        [JAVA25, "{java_source}", "{port}"],
        "java",
        # its conf/security/java.security: jdk.tls.disabledAlgorithms "DH keySize < 1024, EC keySize < 224",
        # jdk.certpath.disabledAlgorithms "RSA keySize < 1024" (SHA-1 refused only under its own roots)
        {"min_dh_bits": 1024, "min_rsa_bits": 1024, "min_ecdsa_bits": 224},
    ),
    "python-openssl111": (
        "Python 3.9 ssl.create_default_context() settings on OpenSSL {py111ver} (upstream defaults, "
        "no distribution openssl.cnf: e.g. python.org's macOS builds)",
        ["{python111}", "-c", PY111_CLIENT, "{port}"],
        "system",
        # OpenSSL 1.1.1's default security level 1: RSA and DH of 1024 bits, SHA-1 signatures still pass
        {"min_dh_bits": 1024, "min_rsa_bits": 1024},
    ),
    "dotnet-core31": (
        ".NET Core 3.1 HttpClient defaults on Linux (SslStream over OpenSSL 1.1.1)",
        [
            "env",
            "LD_LIBRARY_PATH={dotnet_openssl}",
            "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1",
            "TMPDIR_DOTNET={tmp}",
            "{dotnet}",
            "-c",
            DOTNET_CLIENT,
            "{port}",
        ],
        "system",
        # .NET on Linux leaves certificate and key policy to OpenSSL 1.1.1's default security level 1
        {"min_dh_bits": 1024, "min_rsa_bits": 1024},
    ),
    "gnutls": (
        "gnutls-cli {gnutlsver} defaults (Debian 12)",
        ["gnutls-cli", "--insecure", "--sni-hostname=example.com", "-p", "{port}", "127.0.0.1"],
        "system",
        {"min_dh_bits": 2048, "min_rsa_bits": 2048, "requires_sha2": True},
    ),
}


def _fill(arg: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        arg = arg.replace(key, value)
    return arg


def _version(command: list[str], pattern: str, *, stderr: bool = False) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        out = done.stderr if stderr else done.stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    m = re.search(pattern, out)
    return m.group(1) if m else "?"


def recorded_profiles(
    only: list[str], python111: str | None, dotnet: tuple[str, str] | None = None
) -> list[dict[str, object]]:
    py111ver = "?"
    if python111:
        script = "from OpenSSL import SSL; print(SSL.SSLeay_version(SSL.SSLEAY_VERSION).decode())"
        py111ver = _version([python111, "-c", script], r"OpenSSL (\S+)")
    versions = {
        "py111ver": py111ver,
        "pyver": f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}",
        "curlver": _version(["curl", "--version"], r"curl (\S+)"),
        "nodever": _version(["node", "--version"], r"v(\S+)"),
        "gnutlsver": _version(["gnutls-cli", "--version"], r"gnutls-cli (\S+)"),
        "javaver": _version([JAVA25, "-version"], r'version "([^"]+)"', stderr=True),
    }
    source = Path(tempfile.mkdtemp()) / "Hello.java"
    source.write_text(JAVA_CLIENT)
    found: list[dict[str, object]] = []
    for name, (label, command, trust, policy) in RECORDED.items():
        if only and name not in only:
            continue
        if "{dotnet}" in command:
            if not dotnet:
                print(f"skipped {name}: no --dotnet/--dotnet-openssl given", file=sys.stderr)
                continue
            places = {"{dotnet}": dotnet[0], "{dotnet_openssl}": dotnet[1], "{tmp}": str(source.parent)}
            command = [_fill(a, places) for a in command]
        if command[0] == "{python111}":
            if not python111:
                print(f"skipped {name}: no --python111 given", file=sys.stderr)
                continue
            command = [python111, *command[1:]]
        if shutil.which(command[0]) is None:
            print(f"skipped {name}: {command[0]} is not installed", file=sys.stderr)
            continue
        hello = _first_flight([a.replace("{java_source}", str(source)) for a in command])
        if len(hello) < 50 or hello[0] != 0x16:
            sys.exit(f"{name}: no ClientHello recorded ({hello[:8].hex()})")
        found.append(
            {
                "name": name,
                "label": label.format(**versions),
                "source": "recorded on Debian 12 by scripts/client_profiles.py --record "
                "(first flight on loopback)" + RECORDED_HOW.get(name, ""),
                "trust": trust,
                "hello": hello.hex(),
                **policy,
            }
        )
    return found


def render(profiles: list[dict[str, object]]) -> str:
    lines = [
        "# Recorded ClientHellos of well-known clients, replayed by `scan` (scan.clients) and",
        "# `diagnose --client`. Generated by scripts/client_profiles.py; each entry names its source.",
        "# The hello is the client's first TLS record as recorded (hex); its SNI and random are replaced",
        "# when replayed. Limits are what the source measured or what the library's shipped defaults",
        "# enforce (absent: no limit known).",
        "",
    ]
    for p in profiles:
        lines.append("[[profile]]")
        for key, value in p.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{key} = {value}")
            else:
                lines.append(f'{key} = "{value}"')
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssllabs", type=Path, help="client-simulation.txt of Debian's testssl.sh")
    parser.add_argument("--testssl", type=Path, help="a newer testssl.sh's etc/client-simulation.txt")
    parser.add_argument("--testssl-release", default="", help="its release, cited in each profile")
    parser.add_argument(
        "--record", nargs="*", metavar="NAME", help="record the clients installed here (all, or NAMEs)"
    )
    parser.add_argument("--python111", help="a python with pyOpenSSL over OpenSSL 1.1.1 (python-openssl111)")
    parser.add_argument("--dotnet", help="a python with dotnetcore2 and pythonnet (dotnet-core31)")
    parser.add_argument("--dotnet-openssl", help="a directory with libssl.so.1.1 and libcrypto.so.1.1")
    parser.add_argument("--keep-recorded", action="store_true", help="keep profiles.toml's recordings")
    args = parser.parse_args()
    profiles: list[dict[str, object]] = []
    if args.ssllabs:
        profiles += ssllabs_profiles(args.ssllabs)
    if args.testssl:
        if not args.testssl_release:
            sys.exit("--testssl needs --testssl-release (cited in every profile)")
        source = TESTSSL_SOURCE.format(release=args.testssl_release)
        profiles += ssllabs_profiles(args.testssl, TESTSSL_NEWER, source)
    dotnet = (args.dotnet, args.dotnet_openssl) if args.dotnet and args.dotnet_openssl else None
    recorded = recorded_profiles(args.record, args.python111, dotnet) if args.record is not None else []
    if args.keep_recorded:  # the recordings already made, the new ones in their place or after them
        fresh = {str(p["name"]): p for p in recorded}
        kept = tomllib.loads(OUT.read_text())["profile"]
        kept = [fresh.pop(str(p["name"]), p) for p in kept if str(p["source"]).startswith("recorded on")]
        recorded = kept + list(fresh.values())
    profiles += recorded
    OUT.write_text(render(profiles))
    print(f"wrote {len(profiles)} profiles to {OUT}")


if __name__ == "__main__":
    main()
