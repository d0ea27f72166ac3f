"""An overloaded TLS server, for the ``overloaded`` fault: a prefork-style server that is too small.

Each of ``--workers`` threads loops accept -> handshake -> answer, like Apache prefork or a small thread pool.
Every handshake costs ``--key-op`` seconds of waiting on a slow private-key backend (an HSM / keyless-SSL
signer under load: the server's signature over the handshake cannot be produced faster). One connection alone
is fine; with more concurrent handshakes than workers they queue in the kernel's accept queue: the TCP
handshake completes at once (the kernel answers the SYN), but the ServerHello comes later and later. When the
accept queue (``--backlog``) is full the kernel drops further SYNs, so connects too start to retry (1 s, 3 s).
With ``--workers 0`` nothing is ever accepted (an accept loop that hung): the first ``backlog + 1``
connections complete in the kernel and never hear a ServerHello; every later SYN is dropped.

    python -m tlsdoctor.testing.lab.slowtls --listen 198.18.2.2:4443 --cert chain.pem --key leaf.key
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import ssl
import threading
import time

BODY = b"tlsdoctor lab: overloaded server\n"


def make_context(cert: str, key: str, key_op: float) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def slow_signer(_obj: object, _name: str | None, _ctx: ssl.SSLContext) -> None:
        # The handshake blocks this worker until the (modelled) key backend answers.
        time.sleep(key_op)

    ctx.sni_callback = slow_signer
    return ctx


def serve_one(conn: socket.socket, ctx: ssl.SSLContext) -> None:
    conn.settimeout(10)
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 16384:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                data += chunk
            tls.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
            )
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def worker(lsock: socket.socket, ctx: ssl.SSLContext) -> None:
    while True:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        serve_one(conn, ctx)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--backlog", type=int, default=8)
    p.add_argument("--key-op", type=float, default=0.15, help="seconds the key backend takes per handshake")
    args = p.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    lsock.listen(args.backlog)
    ctx = make_context(args.cert, args.key, args.key_op)
    if args.workers == 0:  # a hung accept loop: the kernel queues connections until the backlog is full
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        return
    threads = [threading.Thread(target=worker, args=(lsock, ctx), daemon=True) for _ in range(args.workers)]
    for t in threads:
        t.start()
    with contextlib.suppress(KeyboardInterrupt):
        for t in threads:
            t.join()


if __name__ == "__main__":
    main()
