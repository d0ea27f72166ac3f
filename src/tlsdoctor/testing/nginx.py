"""Debian's nginx on 127.0.0.1, as the tests and the benchmarks run it: a server tlsdoctor did not write.

One configuration shape for all of them: nginx in the foreground (``daemon off``, so its PID is ours to
stop), every file it writes (pid, logs, temp paths) inside a directory of the caller's, one or more
``server`` blocks on a free port, each answering ``200 ok``. What differs between callers is data: the
certificates, the TLS directives, more ``listen`` options (``http2``, ``default_server``), the worker
model and the ``http``-level directives.

    with running(tmp, Site(cert=chain, key=key, tls="ssl_protocols TLSv1.2;")) as port:
        ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from tlsdoctor.testing.processes import HOST, free_port, serving

# Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
NGINX: str | None = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """One ``server`` block. ``cert`` is the chain file nginx sends (leaf first); None serves plain HTTP."""

    cert: Path | None = None
    key: Path | None = None
    tls: str = ""  # more directives in the block: ssl_protocols, ssl_ciphers, a second certificate...
    listen: str = ""  # more options of its listen line: " http2", " default_server", " backlog=4096"
    name: str | None = "localhost"  # its server_name; None: none
    answer: str = 'return 200 "ok";'  # what ``location /`` does

    def block(self, port: int) -> str:
        ssl = " ssl" if self.cert is not None else ""
        lines = [f"listen {HOST}:{port}{ssl}{self.listen};"]
        if self.name is not None:
            lines.append(f"server_name {self.name};")
        if self.cert is not None:
            lines.append(f"ssl_certificate {self.cert}; ssl_certificate_key {self.key};")
        if self.tls:
            lines.append(self.tls)
        lines.append(f"location / {{ {self.answer} }}")
        return "  server {\n" + "".join(f"    {line}\n" for line in lines) + "  }\n"


def config(
    directory: Path,
    port: int,
    sites: Sequence[Site],
    *,
    http: str = "",
    workers: int = 1,
    master: bool = False,
    connections: int = 256,
) -> str:
    """The whole nginx.conf. ``master``: a master process and ``workers`` worker processes (the way a
    production nginx runs, for the benchmarks); else one process that serves itself."""
    d = directory
    return (
        f"daemon off;\nmaster_process {'on' if master else 'off'};\nworker_processes {workers};\n"
        f"pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
        f"events {{ worker_connections {connections}; }}\n"
        "http {\n  access_log off;\n"
        f"  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;\n"
        f"  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n"
        + (f"  {http}\n" if http else "")
        + "".join(site.block(port) for site in sites)
        + "}\n"
    )


@contextlib.contextmanager
def running(
    directory: Path,
    *sites: Site,
    http: str = "",
    workers: int = 1,
    master: bool = False,
    connections: int = 256,
) -> Iterator[int]:
    """nginx serving ``sites`` on one free port (yielded) until the block ends; stopped by its PID.
    ``directory`` (created when missing) holds its configuration, logs and temp files."""
    if NGINX is None:
        raise RuntimeError("nginx is not installed (Debian package nginx)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(
        config(directory, port, sites, http=http, workers=workers, master=master, connections=connections)
    )
    cmd = [NGINX, "-c", str(conf), "-p", str(directory), "-e", str(directory / "error.log")]
    with serving(cmd, port, "nginx", grace=5.0 if master else 0.0):  # a master stops its workers on SIGTERM
        yield port
