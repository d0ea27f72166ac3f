"""The explain knowledge base: the TOML data files, loaded, validated and prepared once.

What an error message means lives in data (patterns.toml, errno.toml, openssl.toml) so
that adding a client's wording is a data change reviewed like a table, not a new branch
in code. This module only loads, checks and compiles that data; a broken file fails
loudly at first use (and in the tests), never silently at diagnosis time.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import sys
import zlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from tlsdoctor.errors import InternalError
from tlsdoctor.explain.prefilter import KEYWORD_CACHE, Rx
from tlsdoctor.inference.causes import CauseId

# Patterns are written in lower case and run on an ASCII-lowered copy of the text (same
# length, so spans map back): cheaper than IGNORECASE, and it lets the keyword prefilter
# use plain substring tests.
FLAGS = re.ASCII
_UPPER_LITERAL = re.compile(r"(?<!\\)(?<!\(\?)[A-Z]")
OSES = ("linux", "macos", "windows")
OS_LABELS = {"linux": "Linux", "macos": "macOS/BSD", "windows": "Windows"}
_CAUSE_IDS = frozenset(c.value for c in CauseId) - {CauseId.HEALTHY.value}
# Files whose every pattern must cite where its text was found (message families added for
# real users' reports, and the vocabulary of the user's own description).
SOURCED_FILES = ("families.toml", "context.toml")
# Clues read from the user's prose rather than from a program's message.
PROSE_FAMILY = "description"
# Patterns consulted only when nothing else matched (never an empty answer for TLS text).
FALLBACK_FAMILY = "generic"


@dataclasses.dataclass(frozen=True, slots=True)
class Pattern:
    """One known message: how to find it and what it says about the causes."""

    id: str
    family: str
    regex: Rx | None  # run on the lowered text
    meaning: str
    causes: tuple[tuple[str, float], ...]
    group: str
    supersedes: frozenset[str]
    next: tuple[str, ...]
    exact: Rx | None = None  # run on the text as given (errno names are case-sensitive)
    source: str = ""  # where the message text (or the vocabulary) was found, for review


@dataclasses.dataclass(frozen=True, slots=True)
class ErrnoEntry:
    """An errno (or getaddrinfo EAI_*) name with its number on each OS."""

    name: str
    numbers: Mapping[str, int]
    strerror: re.Pattern[str] | None
    eai: bool
    pattern_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class NumberContext:
    """Text around a number that says it is an errno, and maybe which OS numbering."""

    regex: Rx
    os: str | None
    sign: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class CodeRef:
    """A numeric code's name and the pattern whose meaning it shares."""

    name: str
    pattern: str


@dataclasses.dataclass(frozen=True, slots=True)
class OptionHint:
    """Text that suggests a ``tlsdoctor diagnose`` option ({1} is the regex's first group)."""

    regex: Rx
    option: str


@dataclasses.dataclass(frozen=True, slots=True)
class Knowledge:
    """Everything explain knows, compiled."""

    patterns: tuple[Pattern, ...]
    by_id: Mapping[str, Pattern]
    errnos: tuple[ErrnoEntry, ...]
    errno_contexts: tuple[NumberContext, ...]
    os_hints: Mapping[str, tuple[Rx, ...]]
    other_names: Mapping[str, Mapping[int, str]]
    cause_checks: Mapping[str, tuple[str, ...]]
    targets: tuple[Rx, ...]
    ssl_reasons: Mapping[int, CodeRef]
    x509_verify: Mapping[int, CodeRef]
    alerts: Mapping[int, str]
    code_context: Rx
    alert_contexts: tuple[Rx, ...]
    x509_contexts: tuple[Rx, ...]
    curl_codes: Mapping[int, str]
    curl_names: Mapping[str, int]
    curl_contexts: tuple[Rx, ...]
    option_hints: tuple[OptionHint, ...]
    ssl_lib: int
    sys_lib: int
    alert_offset: int


KNOWLEDGE_FILES = ("patterns.toml", "errno.toml", "openssl.toml", *SOURCED_FILES)
CACHE_FORMAT = 1


def _raw_files() -> dict[str, bytes]:
    here = resources.files("tlsdoctor.explain")
    return {name: here.joinpath(name).read_bytes() for name in KNOWLEDGE_FILES}


def _cache_path(raw: Mapping[str, bytes]) -> Path | None:
    """Where the parsed knowledge of exactly these files is kept (None: no usable cache dir)."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache"))
    if not base or base.startswith("~"):
        return None
    # CRC-32 and sizes, not a cryptographic hash: the key only tells versions of our own files
    # apart, and hashlib's import alone would cost more than the cache saves on a short text.
    key = zlib.crc32(f"{CACHE_FORMAT}:{sys.version}".encode())
    for name in KNOWLEDGE_FILES:
        key = zlib.crc32(name.encode() + b"\0" + raw[name] + b"\0", key)
    sizes = "-".join(str(len(raw[name])) for name in KNOWLEDGE_FILES)
    return Path(base) / "tlsdoctor" / f"explain-knowledge-{key:08x}-{sizes}.json"


def _parsed_files() -> tuple[dict[str, dict[str, Any]], Path | None, bool]:
    """The knowledge files parsed, from the JSON cache when it is there (and whether it was)."""
    raw = _raw_files()
    path = _cache_path(raw)
    if path is not None:
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            KEYWORD_CACHE.update(
                {src: (frozenset(kws) if kws is not None else None) for src, kws in cached["keywords"]}
            )
            return cached["files"], path, True
        except (OSError, ValueError, KeyError, TypeError):
            pass
    import tomllib  # only when the cache is cold: ~15 ms of import a warm start does not need

    return {name: tomllib.loads(data.decode("utf-8")) for name, data in raw.items()}, path, False


def _save_cache(path: Path | None, files: Mapping[str, Any]) -> None:
    """Keep the parsed files and derived keywords for the next process; best effort only."""
    if path is None:
        return
    payload = {
        "files": files,
        "keywords": [[src, sorted(kws) if kws is not None else None] for src, kws in KEYWORD_CACHE.items()],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _compile(source: str, where: str, flags: int = FLAGS, *, lower: bool = True) -> Rx:
    """Compile one regex of the data files, with its keyword prefilter."""
    if lower and _UPPER_LITERAL.search(source):
        raise InternalError(f"explain knowledge: write the regex of {where} in lower case")
    try:
        return Rx.compile(source, flags, lower=lower)
    except re.error as e:
        raise InternalError(f"explain knowledge: bad regex in {where}: {e}") from e


def _expand(source: str, macros: Mapping[str, str]) -> str:
    for key, value in macros.items():
        source = source.replace(f"<{key}>", value)
    return source


def _causes(raw: Mapping[str, Any], where: str) -> tuple[tuple[str, float], ...]:
    out: list[tuple[str, float]] = []
    for cause, weight in raw.items():
        if cause not in _CAUSE_IDS:
            raise InternalError(f"explain knowledge: unknown cause id {cause!r} in {where}")
        if not 0.0 <= float(weight) <= 1.0:
            raise InternalError(f"explain knowledge: weight {weight} out of 0..1 in {where}")
        out.append((cause, float(weight)))
    return tuple(sorted(out, key=lambda cw: -cw[1]))


def _pattern(raw: Mapping[str, Any], macros: Mapping[str, str]) -> Pattern:
    pid = str(raw["id"])
    return Pattern(
        id=pid,
        family=str(raw["family"]),
        regex=_compile(_expand(str(raw["regex"]), macros), pid) if "regex" in raw else None,
        meaning=str(raw["meaning"]),
        causes=_causes(raw.get("causes", {}), pid),
        group=str(raw.get("group", pid)),
        supersedes=frozenset(raw.get("supersedes", ())),
        next=tuple(raw.get("next", ())),
        source=str(raw.get("source", "")),
    )


def _errno_pattern(raw: Mapping[str, Any], eai: bool) -> tuple[ErrnoEntry, Pattern]:
    """An errno entry, and the text pattern that finds it by name or strerror."""
    name = str(raw["name"])
    pid = f"errno.{name}"
    names = [name, *raw.get("aliases", ())]
    # Names are matched case-sensitively: "EPIPE" is an errno, "epipe" could be a word.
    exact = _compile(rf"\b(?:{'|'.join(map(re.escape, names))})\b", pid, lower=False)
    strerror = [str(s) for s in raw.get("strerror", ())]
    numbers = {os: int(raw[os]) for os in OSES if os in raw}
    entry = ErrnoEntry(
        name=name,
        numbers=numbers,
        strerror=re.compile("|".join(strerror), re.IGNORECASE | re.ASCII) if strerror else None,
        eai=eai,
        pattern_id=pid,
    )
    pattern = Pattern(
        id=pid,
        family="errno",
        regex=_compile("|".join(strerror), pid) if strerror else None,
        meaning=f"{name}: {raw['meaning']}",
        causes=_causes(raw.get("causes", {}), pid),
        group=str(raw.get("group", pid)),
        supersedes=frozenset(),
        next=tuple(raw.get("next", ())),
        exact=exact,
    )
    return entry, pattern


def _refs(raw: Mapping[str, Any]) -> dict[int, CodeRef]:
    return {int(k): CodeRef(name=str(v["name"]), pattern=str(v["pattern"])) for k, v in raw.items()}


@functools.cache
def knowledge() -> Knowledge:
    """Load and compile the data files (once per process)."""
    files, cache, cached = _parsed_files()
    pat, err, ossl = files["patterns.toml"], files["errno.toml"], files["openssl.toml"]
    extra = [files[name] for name in SOURCED_FILES]
    macros = {str(k): str(v) for f in (pat, *extra) for k, v in f.get("macros", {}).items()}
    patterns = [_pattern(p, macros) for f in (pat, *extra) for p in f.get("pattern", ())]
    for f, name in zip(extra, SOURCED_FILES, strict=True):
        for p in f.get("pattern", ()):
            if not str(p.get("source", "")).strip():
                raise InternalError(f"explain knowledge: {p['id']} in {name} cites no source")
    curl = extra[0]["curl"]
    errnos: list[ErrnoEntry] = []
    for key, eai in (("errno", False), ("eai", True)):
        for raw in err[key]:
            entry, pattern = _errno_pattern(raw, eai)
            errnos.append(entry)
            patterns.append(pattern)
    by_id = {p.id: p for p in patterns}
    if len(by_id) != len(patterns):
        raise InternalError("explain knowledge: duplicate pattern id")
    tmacros = {str(k): str(v) for k, v in pat.get("target_macros", {}).items()}
    contexts = ossl["contexts"]
    kb = Knowledge(
        patterns=tuple(patterns),
        by_id=by_id,
        errnos=tuple(errnos),
        errno_contexts=tuple(
            NumberContext(_compile(c["regex"], "errno context"), c.get("os"), c.get("sign"))
            for c in err["context"]
        ),
        os_hints={
            os: tuple(_compile(h, f"os hint {os}") for h in hints) for os, hints in err["os_hints"].items()
        },
        other_names={os: {int(n): str(v) for n, v in names.items()} for os, names in err["other"].items()},
        cause_checks={c: tuple(v) for c, v in pat["cause_checks"].items()},
        targets=tuple(
            _compile(_expand(t["regex"], tmacros), "target", FLAGS | re.MULTILINE) for t in pat["target"]
        ),
        ssl_reasons=_refs(ossl["ssl_reasons"]),
        x509_verify=_refs(ossl["x509_verify"]),
        alerts={int(k): str(v) for k, v in ossl["alerts"].items()},
        code_context=_compile(contexts["code"], "openssl code"),
        alert_contexts=tuple(_compile(c, "alert context") for c in contexts["alert"]),
        x509_contexts=tuple(_compile(c, "x509 context") for c in contexts["x509"]),
        curl_codes={int(k): str(v) for k, v in curl["codes"].items()},
        curl_names={str(k): int(v) for k, v in curl["names"].items()},
        curl_contexts=tuple(_compile(c, "curl context") for c in curl["contexts"]),
        option_hints=tuple(
            OptionHint(_compile(h["regex"], "option hint"), str(h["option"]))
            for f in extra
            for h in f.get("option_hint", ())
        ),
        ssl_lib=int(ossl["ssl_lib"]),
        sys_lib=int(ossl["sys_lib"]),
        alert_offset=int(ossl["alert_offset"]),
    )
    _check_references(kb)
    if not cached:
        _save_cache(cache, files)
    return kb


def _check_references(kb: Knowledge) -> None:
    """Every code points at a real pattern, every cause has its checks."""
    for table in (kb.ssl_reasons, kb.x509_verify):
        for number, ref in table.items():
            if ref.pattern not in kb.by_id:
                raise InternalError(f"explain knowledge: code {number} points at unknown {ref.pattern!r}")
    for number, pid in kb.curl_codes.items():
        if pid not in kb.by_id:
            raise InternalError(f"explain knowledge: curl code {number} points at unknown {pid!r}")
    missing = _CAUSE_IDS - set(kb.cause_checks)
    if missing:
        raise InternalError(f"explain knowledge: no cause_checks for {sorted(missing)}")
