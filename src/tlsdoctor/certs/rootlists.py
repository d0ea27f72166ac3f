"""Root lists kept as data: the platforms' stores no file on this machine holds (Apple's, Microsoft's,
Android's), and the lists an organisation exports itself.

A root list is a PEM bundle, a name and the date it describes ("as of"): the age matters, since a
store that was right a year ago may lack this year's roots. Two sources, both read, never fetched:

* sslyze's package (PyPI, the ``trust-stores`` extra) ships the platforms' lists as data files
  (``plugins/certificate_info/trust_stores/pem_files/<platform>.pem`` beside a YAML header naming the
  platform version, the page it was taken from and ``date_fetched``), kept current by its author's
  trust_stores_observatory. They are read from where sslyze is installed; sslyze itself is never
  imported (that would load its OpenSSL build), and nothing is copied into this project.
* ``TLSDOCTOR_TRUST_STORES``: ``NAME=PEM[@YYYY-MM-DD]`` entries separated like PATH, for the stores
  a fleet really has (Windows: ``certutil -generateSSTFromWU roots.sst``, then the certificates as PEM;
  macOS: ``security export -k /System/Library/Keychains/SystemRootCertificates.keychain -t certs
  -f pemseq``). Without a date the file's modification day stands for it. An entry named like a
  packaged list replaces it.

The lists carry anchors only, no per-purpose trust bits or distrust dates: a root a platform
trusts for other purposes than TLS server authentication counts as an anchor here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import importlib.util
import os
import re
from pathlib import Path

from cryptography import x509

from tlsdoctor.certs.trust import MAX_STORE_FILE, _pem_certificates, regular_bundle

ENV = "TLSDOCTOR_TRUST_STORES"
# sslyze's file stem -> the name reports use (the platform whose clients trust it)
PACKAGED = {"apple": "apple", "microsoft_windows": "windows", "google_aosp": "android"}
SSLYZE_DIR = ("plugins", "certificate_info", "trust_stores", "pem_files")
HEADER_BYTES = 4096  # the YAML header's scalar keys come before the fingerprint list
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RootList:
    """Where one root list is and what it describes; ``problem`` says why it cannot be used."""

    name: str
    pem: str
    as_of: dt.date | None = None
    version: str = ""  # the platform release the list is of ("iOS 26, ..."), when the source says
    origin: str = ""  # who published it: "sslyze 6.3.1 from https://support.apple.com/..." or ENV
    problem: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadedList:
    """A root list read: its anchors, or the problem."""

    spec: RootList
    anchors: tuple[x509.Certificate, ...] = ()
    problem: str = ""


def root_lists(environ: dict[str, str] | None = None, *, reserved: tuple[str, ...] = ()) -> list[RootList]:
    """Every root list available: sslyze's packaged ones, then the user's (which replace a packaged
    list of the same name). ``reserved`` names belong to other stores (system, mozilla, ...)."""
    env = os.environ if environ is None else environ
    found = {rl.name: rl for rl in packaged_lists()}
    for rl in user_lists(env.get(ENV, ""), reserved=reserved):
        found[rl.name] = rl
    return list(found.values())


def packaged_lists() -> list[RootList]:
    """sslyze's platform lists, when sslyze is installed (located without importing it)."""
    try:
        spec = importlib.util.find_spec("sslyze")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)), *SSLYZE_DIR)
    try:
        release = f"sslyze {importlib.metadata.version('sslyze')}"
    except importlib.metadata.PackageNotFoundError:
        release = "sslyze"
    out = []
    for stem, name in PACKAGED.items():
        pem = folder / f"{stem}.pem"
        header = read_header(folder / f"{stem}.yaml")
        version = header.get("version") or ""
        origin = f"{release} ({header['url']})" if header.get("url") else release
        problem = "" if regular_bundle(str(pem)) else f"{pem} is missing"
        out.append(RootList(name=name, pem=str(pem), as_of=_date(header.get("date_fetched", "")),
                            version=version, origin=origin, problem=problem))  # fmt: skip
    return out


def read_header(path: Path) -> dict[str, str]:
    """The top-level scalar keys of a trust_stores_observatory YAML file (``version``, ``url``,
    ``date_fetched``): ``key: value`` lines at column 0 before the first list; ``null`` is absent."""
    try:
        with open(path, "rb") as f:
            text = f.read(HEADER_BYTES).decode("utf-8", "replace")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+):\s*(.*?)\s*", line)
        if m is None:
            continue
        key, value = m.group(1), m.group(2).strip("'\"")
        if not value:  # "trusted_certificates:" opens the list: the header is over
            break
        if value != "null":
            out[key] = value
    return out


def user_lists(spec: str, *, reserved: tuple[str, ...] = ()) -> list[RootList]:
    """The entries of ``TLSDOCTOR_TRUST_STORES``; a malformed one is kept with its problem, so the
    report says why a store the user asked for is missing."""
    out = []
    for entry in filter(None, (e.strip() for e in spec.split(os.pathsep))):
        name, eq, rest = entry.partition("=")
        name = name.strip().lower()
        path, at, day = rest.rpartition("@")
        if not at or "/" in day:  # no date given (an "@" inside the path is not one)
            path, at, day = rest, "", ""
        label = name if _NAME.fullmatch(name) else "user"
        if not eq or not path or _NAME.fullmatch(name) is None:
            problem = f"{ENV} entry {entry!r}: expected NAME=PEM[@YYYY-MM-DD]"
        elif name in reserved:
            label, problem = f"{name}-list", f"{ENV}: {name!r} names a built-in store; choose another name"
        elif at and _date(day) is None:
            problem = f"{ENV} entry {entry!r}: {day!r} is not a date (YYYY-MM-DD)"
        elif not regular_bundle(path):
            problem = f"{path}: not a readable file of a CA bundle's size"
        else:
            problem = ""
        as_of = _date(day) if at else _mtime_day(path)
        out.append(RootList(name=label, pem=path, as_of=as_of, origin=ENV, problem=problem))
    return out


def load_list(rl: RootList) -> LoadedList:
    """The anchors of one list (blocking: a file read and ~150-300 certificates parsed)."""
    if rl.problem:
        return LoadedList(spec=rl, problem=rl.problem)
    try:
        with open(rl.pem, "rb") as f:
            data = f.read(MAX_STORE_FILE + 1)
    except OSError as exc:
        return LoadedList(spec=rl, problem=f"{rl.pem}: {exc.strerror or exc}")
    if len(data) > MAX_STORE_FILE:
        return LoadedList(spec=rl, problem=f"{rl.pem}: too large to be a CA bundle")
    anchors = _pem_certificates(data)
    if not anchors:
        return LoadedList(spec=rl, problem=f"{rl.pem}: no PEM certificate in it")
    return LoadedList(spec=rl, anchors=anchors)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _mtime_day(path: str) -> dt.date | None:
    try:
        return dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC).date()
    except (OSError, ValueError, OverflowError):
        return None
