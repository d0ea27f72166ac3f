"""OpenSSL's system-wide TLS policy: the openssl.cnf it loads, and the ``system_default`` section.

OpenSSL (1.1.0 and later) loads one configuration file at start-up: OPENSSL_CONF, else
OPENSSLDIR/openssl.cnf. Its ``openssl_conf`` names an init section, whose ``ssl_conf`` names a
section, whose ``system_default`` names the commands applied to every SSL_CTX: MinProtocol,
CipherString (with ``@SECLEVEL=N``), Options (``UnsafeLegacyRenegotiation``). Those are what make
a host refuse a server another host accepts. Syntax after config(5): ``[section]``, ``name =
value``, ``#`` comments, ``$var``/``${section::var}`` references and ``.include [=] path`` (a file,
or a directory's ``*.cnf``/``*.conf``; relative paths against OPENSSL_CONF_INCLUDE, else the
``.pragma includedir``, else the current directory). Reading is bounded in depth, files and bytes.
"""

from __future__ import annotations

import dataclasses
import os
import re
import ssl
from collections.abc import Mapping
from pathlib import Path

from tlsdoctor.host.base import Collected, FactCheck, read_text
from tlsdoctor.model import Status
from tlsdoctor.observations.host import TlsPolicy

MAX_DEPTH = 8
MAX_FILES = 32
MAX_BYTES = 1 << 20
MAX_CHAIN = 8  # section -> section references followed at most
_SECTION = re.compile(r"^\[\s*([^\]]*?)\s*\]")
_ASSIGN = re.compile(r"^([A-Za-z0-9_.;:!*$-]+)\s*=\s*(.*)$")
_INCLUDE = re.compile(r"^\.include\s*=?\s*(.+)$")
_PRAGMA = re.compile(r"^\.pragma\s*=?\s*(.+)$")
_VAR = re.compile(r"\$(?:\{([^}]*)\}|\(([^)]*)\)|([A-Za-z0-9_]+(?:::[A-Za-z0-9_]+)?))")
LEGACY_OPTIONS = ("UnsafeLegacyRenegotiation", "UnsafeLegacyServerConnect")


@dataclasses.dataclass
class Config:
    """Sections of name -> value pairs (in order), plus which files were read and what went wrong."""

    sections: dict[str, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    files: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def get(self, section: str, name: str) -> str | None:
        """The last value of ``name`` in ``section`` (as OpenSSL's lookup gives)."""
        found = None
        for key, value in self.sections.get(section, []):
            if key == name:
                found = value
        return found


def _strip(value: str) -> str:
    """A value without its comment and surrounding quotes ("a#b" keeps its #)."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        if end > 0:
            return value[1:end]
    return value.split("#", 1)[0].strip()


def _expand(config: Config, section: str, value: str) -> str:
    def lookup(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        where, _, key = name.rpartition("::")
        found = config.get(where or section, key)
        if found is None and not where:
            found = config.get("default", key)
        return found if found is not None else m.group(0)

    return _VAR.sub(lookup, value)


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Parse ``path`` and its includes into one Config (bounded; problems become notes)."""
    environ = os.environ if environ is None else environ
    config = Config()
    state = {"section": "default", "includedir": environ.get("OPENSSL_CONF_INCLUDE", "")}
    _read(config, Path(path), 0, state)
    return config


def _include_targets(target: str, includedir: str) -> list[Path]:
    path = Path(target)
    if not path.is_absolute() and includedir:
        path = Path(includedir) / path
    if path.is_dir():
        try:
            return sorted(p for p in path.iterdir() if p.suffix in (".cnf", ".conf"))
        except OSError:
            return []
    return [path]


def _read(config: Config, path: Path, depth: int, state: dict[str, str]) -> None:
    if depth > MAX_DEPTH or len(config.files) >= MAX_FILES:
        config.notes.append(
            f"{path}: not read (more than {MAX_DEPTH} levels or {MAX_FILES} files of includes)"
        )
        return
    if str(path) in config.files:
        config.notes.append(f"{path}: included twice (a loop), read once")
        return
    text = read_text(path, MAX_BYTES)
    if text is None:
        config.notes.append(f"{path}: cannot be read")
        return
    config.files.append(str(path))
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):  # a continued line
            pending = line[:-1]
            continue
        if not line or line.startswith("#"):
            continue
        if m := _INCLUDE.match(line):
            target = _strip(m.group(1))
            for included in _include_targets(target, state["includedir"]):
                _read(config, included, depth + 1, state)
        elif m := _PRAGMA.match(line):
            pragma = _strip(m.group(1))
            if pragma.startswith("includedir:"):
                state["includedir"] = pragma[len("includedir:") :].strip()
        elif m := _SECTION.match(line):
            state["section"] = m.group(1)
            config.sections.setdefault(state["section"], [])
        elif m := _ASSIGN.match(line):
            section = state["section"]
            value = _expand(config, section, _strip(m.group(2)))
            config.sections.setdefault(section, []).append((m.group(1).strip(), value))


def system_default(config: Config) -> tuple[list[tuple[str, str]], list[str]]:
    """The commands of the ``system_default`` section, following openssl_conf -> ssl_conf -> it."""
    notes: list[str] = []
    init = config.get("default", "openssl_conf")
    if init is None:
        return [], ["no openssl_conf in the default section: OpenSSL's built-in policy applies"]
    ssl_section = config.get(init, "ssl_conf")
    if ssl_section is None:
        return [], [f"[{init}] has no ssl_conf: OpenSSL's built-in policy applies"]
    target = config.get(ssl_section, "system_default")
    if target is None:
        return [], [f"[{ssl_section}] has no system_default: OpenSSL's built-in policy applies"]
    if target not in config.sections:
        notes.append(f"system_default names [{target}], which does not exist")
    return config.sections.get(target, []), notes


def config_path(environ: Mapping[str, str] | None = None) -> str:
    """The file OpenSSL loads: OPENSSL_CONF, else OPENSSLDIR/openssl.cnf (OPENSSLDIR is the directory
    of the library's compiled-in default CA file, as ``openssl version -d`` prints it)."""
    environ = os.environ if environ is None else environ
    if environ.get("OPENSSL_CONF"):
        return environ["OPENSSL_CONF"]
    return str(Path(ssl.get_default_verify_paths().openssl_cafile).parent / "openssl.cnf")


_SECLEVEL = re.compile(r"@SECLEVEL=(\d)")
_VERSIONS = {
    ssl.TLSVersion.MINIMUM_SUPPORTED: "default",
    ssl.TLSVersion.SSLv3: "SSLv3",
    ssl.TLSVersion.TLSv1: "TLSv1",
    ssl.TLSVersion.TLSv1_1: "TLSv1.1",
    ssl.TLSVersion.TLSv1_2: "TLSv1.2",
    ssl.TLSVersion.TLSv1_3: "TLSv1.3",
}


def policy(path: str, environ: Mapping[str, str] | None = None) -> TlsPolicy:
    """The policy the file sets (what curl and other OpenSSL clients apply), and what this Python's
    default client context has: Python sets its own minimum and security level over the file's."""
    config = load(path, environ)
    commands, notes = system_default(config) if config.files else ([], [])
    values: dict[str, str] = {}
    for name, value in commands:
        values[name.lower()] = value
    options = tuple(o.strip() for o in values.get("options", "").split(",") if o.strip())
    cipher = values.get("cipherstring")
    level = _SECLEVEL.search(cipher or "")
    legacy = any(o in LEGACY_OPTIONS for o in options)
    effective = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return TlsPolicy(
        config=path if config.files else None,
        files=tuple(config.files),
        min_protocol=values.get("minprotocol"),
        max_protocol=values.get("maxprotocol"),
        cipher_string=cipher,
        security_level=int(level.group(1)) if level else None,
        options=options,
        legacy_renegotiation=legacy,
        python_minimum=_VERSIONS.get(effective.minimum_version, str(effective.minimum_version)),
        python_security_level=effective.security_level,
        notes=tuple(config.notes + notes + _python_differs(values, effective)),
    )


def _python_differs(values: dict[str, str], python: ssl.SSLContext) -> list[str]:
    """Python's ssl sets its own minimum and security level: then the same host accepts a server
    with curl and refuses it with Python (or the reverse)."""
    level = _SECLEVEL.search(values.get("cipherstring", ""))
    minimum = values.get("minprotocol")
    python_minimum = _VERSIONS.get(python.minimum_version)
    out = []
    if level and int(level.group(1)) != python.security_level:
        out.append(
            f"this file sets security level {level.group(1)}, Python's ssl uses {python.security_level}"
        )
    if minimum and python_minimum not in (None, "default") and minimum != python_minimum:
        out.append(f"this file sets MinProtocol {minimum}, Python's ssl uses {python_minimum}")
    return out


def concerns(found: TlsPolicy) -> list[str]:
    """Settings stricter than much of the Internet accepts, or laxer than safe."""
    out = []
    if found.security_level is not None and found.security_level >= 3:
        out.append(f"@SECLEVEL={found.security_level} refuses RSA keys under 3072 bits, as most servers have")
    if found.min_protocol in ("TLSv1.3",):
        out.append("MinProtocol TLSv1.3 refuses TLS 1.2-only servers")
    if found.security_level == 0 or found.min_protocol in ("SSLv3", "TLSv1", "TLSv1.1"):
        out.append(
            "the policy accepts legacy protocols or weak keys (SECLEVEL 0 or MinProtocol below TLS 1.2)"
        )
    if found.legacy_renegotiation:
        out.append("Options allow unsafe legacy renegotiation (CVE-2009-3555)")
    return out


class PolicyCheck(FactCheck):
    """openssl.cnf's system_default section, followed through its includes and references."""

    id = "host.tls-policy"

    def collect(self) -> Collected:
        path = config_path()
        found = policy(path)
        worries = concerns(found)
        if found.config is None:
            return Status.PASS, f"{path} cannot be read: OpenSSL's built-in policy applies", [found]
        summary = "; ".join([*(worries or [found.describe()]), *found.notes[:2]])
        return (Status.WARN if worries else Status.PASS), summary, [found]
