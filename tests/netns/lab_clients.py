"""Standard clients run from the lab's client namespace (openssl s_client, curl) and one tiny Python TLS
client for what those cannot do: a small TCP_MAXSEG, separate connect/handshake timings, concurrency."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tlsdoctor.testing.lab import NAME, SERVER_IP, Lab


def s_client(
    lab: Lab, name: str = NAME, *extra: str, timeout: float = 8.0
) -> subprocess.CompletedProcess[str]:
    """``openssl s_client`` from the client namespace; stdin is empty, so it quits after the handshake."""
    argv = [
        "openssl",
        "s_client",
        "-connect",
        f"{SERVER_IP}:443",
        "-servername",
        name,
        "-CAfile",
        str(lab.ca_file),
        *extra,
    ]
    r = lab.run_in("client", argv, timeout=timeout, input=b"")
    return subprocess.CompletedProcess(
        r.args, r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    )


def curl(lab: Lab, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    r = lab.run_in("client", ["curl", "-sS", "--max-time", str(timeout - 2), *args], timeout=timeout)
    return subprocess.CompletedProcess(
        r.args, r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    )


TLS_CLIENT = r"""
import json, socket, ssl, sys, time, threading
host, port, sni, mss, timeout, cafile, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), \
    float(sys.argv[5]), sys.argv[6], int(sys.argv[7])
def one():
    res = {"ok": False}
    t0 = time.monotonic()
    s = socket.socket()
    if mss:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except OSError as e:
        s.close()
        return {**res, "stage": "connect", "error": type(e).__name__, "errno": e.errno,
                "elapsed": time.monotonic() - t0}
    res["connect_s"] = time.monotonic() - t0
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with ctx.wrap_socket(s, server_hostname=sni) as tls:
            res.update(ok=True, handshake_s=time.monotonic() - t0, version=tls.version(),
                       issuer=dict(x[0] for x in tls.getpeercert()["issuer"]))
    except (OSError, ssl.SSLError) as e:
        res.update(stage="handshake", error=type(e).__name__, errno=e.errno, text=str(e))
    finally:
        s.close()
    res["elapsed"] = time.monotonic() - t0
    return res
out = [None] * n
def run(i):
    out[i] = one()
threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(out))
"""


def tls_client(
    lab: Lab,
    name: str = NAME,
    *,
    mss: int = 0,
    timeout: float = 3.0,
    cafile: str | None = None,
    concurrency: int = 1,
    port: int = 443,
) -> list[dict[str, Any]]:
    """Python TLS client(s) in ``client``: connect and handshake timed separately, optional TCP_MAXSEG."""
    r = lab.run_python(
        "client",
        TLS_CLIENT,
        SERVER_IP,
        str(port),
        name,
        str(mss),
        str(timeout),
        cafile or str(lab.ca_file),
        str(concurrency),
        timeout=2 * timeout + 10,
    )
    assert r.returncode == 0, r.stderr.decode()
    return list(json.loads(r.stdout))
