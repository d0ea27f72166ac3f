"""The middlebox lab itself: every fault, checked with standard clients from the client namespace.

These tests pin down what each fault looks like on the wire, independently of tlsdoctor: if one of them
fails, the lab (not the diagnosis) is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from cryptography import x509
from lab_clients import curl, s_client, tls_client

from tlsdoctor.testing.lab import (
    BLOCKED_NAME,
    CLIENT_IP,
    CLOSED_PORT,
    MID_CLIENT_IP,
    NAME,
    NXDOMAIN_NAME,
    SERVER_IP,
    SERVFAIL_NAME,
    Lab,
    cleanup_stale,
)
from tlsdoctor.testing.lab.netns import list_namespaces

pytestmark = pytest.mark.netns

MSS = 1448  # 1500 - 20 (IP) - 32 (TCP with timestamps)


def dig_status(lab: Lab, name: str) -> tuple[str, list[str]]:
    r = lab.run_in("client", ["dig", "+tries=1", "+time=3", f"@{SERVER_IP}", name, "A"], timeout=10)
    out = r.stdout.decode()
    m = re.search(r"status: (\w+)", out)
    answers = [ln.split()[-1] for ln in out.splitlines() if "\tIN\tA\t" in ln and not ln.startswith(";")]
    return (m.group(1) if m else "NO-ANSWER"), answers


def test_healthy_path(lab: Lab) -> None:
    with lab.capture("client", "tcp port 443") as cap:
        r = s_client(lab)
    assert r.returncode == 0, r.stderr
    assert "Verify return code: 0 (ok)" in r.stdout
    # The server's first flight (ServerHello .. Finished, with a 3-certificate RSA-4096 chain) spans
    # several full-size segments: the material a path-MTU black hole swallows.
    flow = cap.first_flow()
    (synack,) = flow.tcp("SA")
    assert synack.ttl == 63  # one routed hop (mid) from the server's 64
    server_bytes = sum(p.payload_len for p in flow.packets if p.src == SERVER_IP)
    assert server_bytes > 3 * MSS
    body = curl(lab, "--cacert", str(lab.ca_file), f"https://{NAME}/")
    assert body.returncode == 0, body.stderr
    assert body.stdout == f"tlsdoctor lab: {NAME}\n"
    assert s_client(lab, BLOCKED_NAME).returncode == 0


def test_dns_zone(lab: Lab) -> None:
    assert dig_status(lab, NAME) == ("NOERROR", [SERVER_IP])
    assert dig_status(lab, BLOCKED_NAME) == ("NOERROR", [SERVER_IP])
    assert dig_status(lab, NXDOMAIN_NAME)[0] == "NXDOMAIN"
    assert dig_status(lab, SERVFAIL_NAME)[0] == "SERVFAIL"


def test_inject_reset_comes_from_mid(lab: Lab) -> None:
    lab.set_fault("inject-reset")
    with lab.capture("client", "tcp port 443") as cap:
        r = s_client(lab)
    assert r.returncode != 0
    assert "errno=104" in r.stderr  # ECONNRESET
    flow = cap.first_flow()
    (synack,), (rst,) = flow.tcp("SA"), flow.tcp("R")
    assert rst.src == SERVER_IP  # forged with the server's address...
    assert (synack.ttl, rst.ttl) == (63, 64)  # ...but one hop closer: mid sent it
    c = curl(lab, "--cacert", str(lab.ca_file), f"https://{NAME}/")
    assert c.returncode == 35 and "Connection reset by peer" in c.stderr


def test_drop_hello(lab: Lab) -> None:
    lab.set_fault("drop-hello")
    (res,) = tls_client(lab, timeout=2)
    assert res["connect_s"] < 0.5  # TCP connects at once...
    assert res["stage"] == "handshake" and res["error"] == "TimeoutError"  # ...the hello vanishes
    with lab.capture("client", "tcp port 443") as cap, pytest.raises(subprocess.TimeoutExpired):
        s_client(lab, timeout=2)
    flow = cap.first_flow()
    assert flow.tcp("SA") and not any(p.payload_len for p in flow.packets if p.src == SERVER_IP)


def test_sni_filter(lab: Lab) -> None:
    lab.set_fault("sni-filter")
    blocked = s_client(lab, BLOCKED_NAME)
    assert blocked.returncode != 0 and "errno=104" in blocked.stderr
    assert s_client(lab, NAME).returncode == 0  # same address, other name: passes
    lab.clear_faults()
    lab.set_fault("sni-filter", action="drop")
    (res,) = tls_client(lab, BLOCKED_NAME, timeout=1.5)
    assert res["error"] == "TimeoutError" and res["stage"] == "handshake"


def test_large_hello(lab: Lab) -> None:
    lab.set_fault("large-hello", max_len=512)
    with lab.capture("client", "tcp dst port 443") as cap:
        small = s_client(lab)
    assert small.returncode == 0, small.stderr
    hello = next(p for p in cap.first_flow().packets if p.payload_len > 0)
    assert hello.length <= 512
    # Long ALPN names make a ~1.2 kB ClientHello in one segment (still one MTU).
    big = s_client(lab, NAME, "-alpn", ",".join(["http/1.1"] + ["x" * 200] * 4))
    assert big.returncode != 0 and "errno=104" in big.stderr


def test_mtu_blackhole(lab: Lab) -> None:
    lab.set_fault("mtu-blackhole", mtu=1280)
    with lab.capture("client", "tcp port 443") as cap, pytest.raises(subprocess.TimeoutExpired):
        s_client(lab, timeout=3)  # hangs...
    flow = cap.first_flow()
    assert flow.tcp("SA")  # ...after the TCP connect,
    assert any(p.payload_len for p in flow.packets if p.src == CLIENT_IP)  # the hello went out,
    assert all(p.length <= 1280 for p in flow.packets if p.src == SERVER_IP)  # no big segment came back
    (default,) = tls_client(lab, timeout=2)
    assert default["connect_s"] < 0.5 and default["stage"] == "handshake"
    assert default["error"] == "TimeoutError"
    (small,) = tls_client(lab, mss=536, timeout=2)
    assert small["ok"], small
    (medium,) = tls_client(lab, mss=1200, timeout=2)
    assert medium["ok"], medium
    # The server never learned the smaller path MTU (the ICMP "fragmentation needed" was dropped in mid).
    route = lab.run_in("server", ["ip", "route", "get", "198.18.1.2"], timeout=5).stdout.decode()
    assert "mtu" not in route
    counters = lab.run_in("mid", ["iptables", "-L", "TDLAB_OUT", "-v", "-x", "-n"], timeout=5).stdout.decode()
    dropped_icmp = int(counters.splitlines()[2].split()[0])
    assert dropped_icmp > 0  # mid did try to say "fragmentation needed"
    lab.clear_faults()  # MTU back to 1500: the same client passes again
    assert s_client(lab).returncode == 0


def test_loss(lab: Lab) -> None:
    lab.set_fault("loss", probability=0.3)
    out = lab.run_in(
        "client", ["ping", "-q", "-n", "-c", "60", "-i", "0.01", "-W", "1", SERVER_IP], timeout=20
    ).stdout.decode()
    loss = float(re.search(r"([\d.]+)% packet loss", out).group(1))  # type: ignore[union-attr]
    assert 20 <= loss <= 85, out  # both directions: expected 1 - 0.7**2 = 51 %
    lab.clear_faults()
    out = lab.run_in(
        "client", ["ping", "-q", "-n", "-c", "20", "-i", "0.01", "-W", "1", SERVER_IP], timeout=20
    ).stdout.decode()
    assert " 0% packet loss" in out


def test_block_direct_and_proxies(lab: Lab) -> None:
    info = lab.set_fault("block-direct")
    assert info["proxy_url"] == f"http://{MID_CLIENT_IP}:3128"
    ca = ["--cacert", str(lab.ca_file)]
    direct = curl(lab, *ca, f"https://{NAME}/")
    assert direct.returncode == 7  # the SYN is answered with RST: "Couldn't connect"
    via = curl(lab, *ca, "-x", lab.proxy_url("open"), f"https://{NAME}/")
    assert via.returncode == 0 and via.stdout == f"tlsdoctor lab: {NAME}\n", via.stderr
    auth = curl(lab, *ca, "-x", lab.proxy_url("auth"), f"https://{NAME}/")
    assert auth.returncode == 56 and "response 407" in auth.stderr
    user, password = lab.proxy_credentials
    authed = curl(lab, *ca, "-x", lab.proxy_url("auth"), "-U", f"{user}:{password}", f"https://{NAME}/")
    assert authed.returncode == 0, authed.stderr
    deny = curl(lab, *ca, "-x", lab.proxy_url("deny"), f"https://{NAME}/")
    assert deny.returncode == 56 and "response 403" in deny.stderr


def test_tcp_refused(lab: Lab) -> None:
    lab.set_fault("tcp-refused")
    with lab.capture("client", "tcp port 443") as cap:
        r = s_client(lab)
    assert "errno=111" in r.stderr  # ECONNREFUSED
    (rst,) = cap.first_flow().tcp("RA")
    assert rst.ttl == 63  # from the server's own kernel, like a closed port
    closed = curl(lab, f"https://{SERVER_IP}:{CLOSED_PORT}/")
    assert closed.returncode == 7


def test_tcp_timeout(lab: Lab) -> None:
    lab.set_fault("tcp-timeout")
    (res,) = tls_client(lab, timeout=1.5)
    assert res["stage"] == "connect" and res["error"] == "TimeoutError"
    assert res["elapsed"] >= 1.4


def test_host_unreachable(lab: Lab) -> None:
    lab.set_fault("host-unreachable")
    with lab.capture("client", "tcp port 443 or icmp") as cap:
        (res,) = tls_client(lab, timeout=2)
    assert res["stage"] == "connect" and res["errno"] == 113  # EHOSTUNREACH, at once
    assert res["elapsed"] < 0.5
    icmp = [p for p in cap.packets if p.proto == 1]
    assert icmp and (icmp[0].src, icmp[0].icmp_type, icmp[0].icmp_code) == (MID_CLIENT_IP, 3, 1)


def test_intercept(lab: Lab) -> None:
    info = lab.set_fault("intercept")
    assert "SSL Inspection" in info["issuer"]
    (trusting_lab_ca,) = tls_client(lab)  # the real root no longer verifies
    assert not trusting_lab_ca["ok"] and "CERTIFICATE_VERIFY_FAILED" in trusting_lab_ca["text"]
    (res,) = tls_client(lab, cafile=info["ca"])
    assert res["ok"], res
    assert res["issuer"]["commonName"] == "FortiGate CA SSL Inspection"
    r = s_client(lab, NAME, "-CAfile", info["ca"], "-showcerts")
    pem = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", r.stdout, re.S)
    assert pem is not None
    leaf = x509.load_pem_x509_certificate(pem.group(0).encode())
    age = dt.datetime.now(dt.UTC) - leaf.not_valid_before_utc
    assert dt.timedelta(seconds=30) < age < dt.timedelta(minutes=10)  # minted on the fly, backdated 1 min
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [NAME]
    # Through the relay the real server still answers.
    body = curl(lab, "--cacert", info["ca"], f"https://{NAME}/")
    assert body.stdout == f"tlsdoctor lab: {NAME}\n", body.stderr


def test_overloaded(lab: Lab) -> None:
    lab.set_fault("overloaded", workers=2, backlog=8, key_op=0.15)
    one = tls_client(lab, concurrency=1, timeout=5)
    many = tls_client(lab, concurrency=16, timeout=5)
    assert all(r["ok"] for r in one + many), many
    first = one[0]["handshake_s"] - one[0]["connect_s"]
    waits = sorted(r["handshake_s"] - r["connect_s"] for r in many)
    assert waits[-1] > 4 * first  # the ServerHello comes later as concurrency grows
    connects = sorted(r["connect_s"] for r in many)
    assert connects[len(connects) // 2] < 0.1  # while most TCP accepts stay immediate


def test_backlog_full(lab: Lab) -> None:
    """A hung accept loop with a backlog of 2: the kernel completes 3 connects (backlog + 1), none is
    answered, every later SYN is dropped, and closing ours does not drain the queue."""
    lab.set_fault("backlog-full", backlog=2)
    code = (
        "import socket,sys,time\n"
        "def one():\n"
        "  s=socket.socket();s.settimeout(1.5);t=time.monotonic()\n"
        "  try:\n"
        "    s.connect((sys.argv[1],443));return s,'ok'\n"
        "  except OSError:\n"
        "    s.close();return None,'timeout'\n"
        "held=[one() for _ in range(5)]\n"
        "print(' '.join(r for _,r in held))\n"
        "held[0][0].settimeout(0.5)\n"
        "try:\n"
        "  held[0][0].send(b'hello');print('answer',held[0][0].recv(10))\n"
        "except OSError:\n"
        "  print('answer none')\n"
        "for s,_ in held:\n"
        "  s and s.close()\n"
        "time.sleep(0.2);print('after',one()[1])\n"
    )
    r = lab.run_python("client", code, SERVER_IP, timeout=30)
    lines = r.stdout.decode().splitlines()
    assert lines == ["ok ok ok timeout timeout", "answer none", "after timeout"], r.stdout + r.stderr


def test_cleanup_and_stale_namespaces(netns_ok: None) -> None:
    # A stale lab: a namespace whose creating PID is dead.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"tdlab-{dead.pid}-abcdef-client"
    subprocess.run(["ip", "netns", "add", stale], check=True, timeout=10)
    workdir = None
    with pytest.raises(RuntimeError, match="boom"), Lab.create(key_bits=2048, services=False) as small:
        assert stale not in list_namespaces()  # create() removed it
        names, workdir = list(small.ns.names.values()), small.workdir
        small.spawn_in("mid", ["sleep", "60"])
        raise RuntimeError("boom")
    present = list_namespaces()
    assert not any(n in present for n in names)
    assert workdir is not None and not workdir.exists()
    assert stale not in cleanup_stale()
