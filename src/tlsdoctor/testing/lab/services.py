"""Configurations of the real daemons the lab runs: nginx and dnsmasq in ``server``, squid in ``mid``.

Each daemon runs in the foreground under :meth:`Namespaces.spawn_in` (so it is killed by PID on close), with
every file it writes inside the lab's temp dir, and is waited for by reading ``/proc/<pid>/net/{tcp,udp}``:
that file shows the sockets of the process's own namespace, so readiness costs no probe traffic.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

from tlsdoctor.testing.lab.netns import LabError, Namespaces, wait_for

ZONE = "lab.test"
SERVER_IP = "198.18.2.2"
MID_CLIENT_SIDE_IP = "198.18.1.1"
PROXY_PORTS = {"open": 3128, "auth": 3129, "deny": 3130}
PROXY_USER = ("lab", "labpass")
DNSFAIL_PORT = 5399
IDLE_PORT = 9443  # the same nginx with keepalive_timeout 1s: what `diagnose --idle` should catch


def listening(pid: int, ip: str, port: int, proto: str = "tcp") -> bool:
    """Whether the namespace of ``pid`` has a socket bound to ip:port (LISTEN for tcp, bound for udp)."""
    want = f"{struct.unpack('<I', socket.inet_aton(ip))[0]:08X}:{port:04X}"
    try:
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if fields[1] == want and (proto != "tcp" or fields[3] == "0A"):
            return True
    return False


def wait_listening(
    ns: Namespaces,
    proc: subprocess.Popen[bytes],
    ip: str,
    port: int,
    what: str,
    proto: str = "tcp",
    timeout: float = 15.0,
) -> None:
    def ready() -> bool:
        if proc.poll() is not None:
            raise LabError(f"{what} exited with rc={proc.returncode} before listening on {ip}:{port}")
        return listening(proc.pid, ip, port, proto)

    wait_for(ready, timeout, f"{what} to listen on {ip}:{port}/{proto}")


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type text/plain;
    server {{
        listen {ip}:443 ssl;
        listen {ip}:80;
        server_name www.{zone} blocked.{zone} {zone};
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{ return 200 "tlsdoctor lab: $ssl_server_name\\n"; }}
    }}
    server {{
        listen {ip}:{idle_port} ssl;
        server_name www.{zone} {zone};
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_timeout 1s;
        location / {{ return 200 "tlsdoctor lab: idle 1 s\\n"; }}
    }}
}}
"""


def start_nginx(ns: Namespaces, workdir: Path, chain: Path, key: Path) -> subprocess.Popen[bytes]:
    d = workdir / "nginx"
    d.mkdir(mode=0o755)
    conf = d / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(d=d, ip=SERVER_IP, zone=ZONE, chain=chain, key=key, idle_port=IDLE_PORT)
    )
    proc = ns.spawn_in("server", ["nginx", "-c", str(conf), "-e", str(d / "nginx-error.log")])
    wait_listening(ns, proc, SERVER_IP, 443, "nginx")
    wait_listening(ns, proc, SERVER_IP, IDLE_PORT, "nginx")
    return proc


def start_dnsmasq(ns: Namespaces, workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """dnsmasq authoritative-ish for ``lab.test``: known names answer, others NXDOMAIN, one name SERVFAILs.

    ``servfail.lab.test`` is forwarded to ``dnsfail`` on the server's loopback, which answers SERVFAIL,
    so dnsmasq relays a real SERVFAIL (no traffic leaves the namespace).
    """
    fail = ns.spawn_in(
        "server",
        [sys.executable, "-m", "tlsdoctor.testing.lab.dnsfail", "--listen", f"127.0.0.1:{DNSFAIL_PORT}"],
        env=env,
    )
    wait_listening(ns, fail, "127.0.0.1", DNSFAIL_PORT, "dnsfail", proto="udp")
    d = workdir / "dnsmasq"
    d.mkdir()
    argv = [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        f"--listen-address={SERVER_IP}",
        "--port=53",
        "--user=root",
        f"--pid-file={d / 'dnsmasq.pid'}",
        f"--log-facility={d / 'dnsmasq.log'}",
        "--log-queries",
        f"--local=/{ZONE}/",
        f"--address=/www.{ZONE}/{SERVER_IP}",
        f"--address=/blocked.{ZONE}/{SERVER_IP}",
        f"--host-record={ZONE},{SERVER_IP}",
        f"--server=/servfail.{ZONE}/127.0.0.1#{DNSFAIL_PORT}",
    ]
    proc = ns.spawn_in("server", argv)
    wait_listening(ns, proc, SERVER_IP, 53, "dnsmasq", proto="udp")
    return proc


SQUID_CONF = """\
http_port {ip}:{open} name=open
http_port {ip}:{auth} name=auth
http_port {ip}:{deny} name=deny
pid_filename {d}/squid.pid
cache_log {d}/cache.log
access_log stdio:{d}/access.log
cache deny all
cache_mem 8 MB
coredump_dir {d}
logfile_rotate 0
pinger_enable off
shutdown_lifetime 1 seconds
dns_nameservers {dns}
visible_hostname mid.{zone}
auth_param basic program /usr/lib/squid/basic_ncsa_auth {d}/passwd
auth_param basic realm tlsdoctor-lab
acl SSL_ports port 443
acl CONNECT method CONNECT
acl on_open myportname open
acl on_auth myportname auth
acl on_deny myportname deny
acl authed proxy_auth REQUIRED
http_access deny on_deny
http_access deny CONNECT !SSL_ports
http_access allow on_open
http_access deny on_auth !authed
http_access allow on_auth
http_access deny all
"""


def start_squid(ns: Namespaces, workdir: Path) -> subprocess.Popen[bytes]:
    """squid on 198.18.1.1: :3128 allows CONNECT to 443, :3129 needs Basic auth (407), :3130 denies (403)."""
    if shutil.which("squid") is None:
        raise LabError("squid is not installed (see .ci/lab-packages.txt)")
    d = workdir / "squid"
    d.mkdir()
    hashed = subprocess.run(
        ["openssl", "passwd", "-1", PROXY_USER[1]], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()
    (d / "passwd").write_text(f"{PROXY_USER[0]}:{hashed}\n")
    conf = d / "squid.conf"
    conf.write_text(
        SQUID_CONF.format(
            ip=MID_CLIENT_SIDE_IP,
            d=d,
            dns=SERVER_IP,
            zone=ZONE,
            open=PROXY_PORTS["open"],
            auth=PROXY_PORTS["auth"],
            deny=PROXY_PORTS["deny"],
        )
    )
    # squid refuses to run as root and drops to user `proxy`: it must own its files.
    uid, gid = _user_ids("proxy")
    for p in [d, *d.iterdir()]:
        os.chown(p, uid, gid)
    os.chmod(workdir, 0o755)
    proc = ns.spawn_in("mid", ["squid", "-N", "-f", str(conf)])
    wait_listening(ns, proc, MID_CLIENT_SIDE_IP, PROXY_PORTS["open"], "squid", timeout=20)
    return proc


def _user_ids(name: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid
