"""Probe modules (``--config FILE``): named sets of the library API's keyword arguments.

blackbox_exporter's users name a module per kind of endpoint (``module=smtp_starttls``); here a
module's keys are exactly :func:`tlsdoctor.diagnose`'s keyword arguments (contract/cli.md), so a
module means what the same options mean on the command line. Every module is checked at start-up by
the very code the command line and the library use (:func:`tlsdoctor.inputs.diagnose_options`): a
typo or an unreadable ``ca_file`` stops the exporter with one line and exit status 2, not a failed
scrape hours later.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tlsdoctor.errors import InputError, UsageError
from tlsdoctor.target import shown

DEFAULT_MODULE = "default"  # what ``/probe`` uses without ``module=``: the library's defaults
MAX_CONFIG_BYTES = 1 << 20
MAX_MODULES = 1000
# Resolved against any host name: validating a module must not depend on a target.
_PLACEHOLDER_TARGET = "localhost"


def library_keywords() -> tuple[str, ...]:
    """The keyword arguments of :func:`tlsdoctor.diagnose`: a module may set exactly these."""
    import tlsdoctor

    signature = inspect.signature(tlsdoctor.diagnose)
    return tuple(n for n, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY)


@dataclasses.dataclass(frozen=True, slots=True)
class Module:
    """One named module: the keyword arguments every probe with ``module=name`` passes on."""

    name: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def default_modules() -> dict[str, Module]:
    """The modules without a configuration file: ``default``, the library's defaults."""
    return {DEFAULT_MODULE: Module(DEFAULT_MODULE)}


def load_modules(path: Path | str) -> dict[str, Module]:
    """Read and validate ``--config FILE``; a bad file or module raises UsageError/InputError."""
    import yaml

    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read --config {shown(str(path))}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"--config {shown(str(path))} is over {MAX_CONFIG_BYTES >> 20} MiB")
    try:
        document = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"--config {shown(str(path))} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(f"--config {shown(str(path))}{at}: {problem}") from None
    return parse_modules(document, str(path))


def parse_modules(document: object, source: str = "--config") -> dict[str, Module]:
    """``{"modules": {NAME: {keyword: value}}}`` -> validated modules (``default`` added if absent)."""
    where = shown(source)
    if not isinstance(document, dict) or set(document) != {"modules"}:
        found = (
            ", ".join(sorted(map(str, document))) if isinstance(document, dict) else type(document).__name__
        )
        raise InputError(f"{where}: expected one top-level key 'modules', found {shown(found)}")
    table = document["modules"]
    if not isinstance(table, dict) or not table:
        raise InputError(f"{where}: 'modules' must map module names to their options")
    if len(table) > MAX_MODULES:
        raise InputError(f"{where}: {len(table)} modules; at most {MAX_MODULES}")
    modules = default_modules()
    for name, options in table.items():
        modules[str(name)] = validate_module(str(name), options, where)
    return modules


def validate_module(name: str, options: object, where: str = "--config") -> Module:
    """One module, checked as :func:`tlsdoctor.diagnose` checks its arguments."""
    from tlsdoctor.inputs import diagnose_options

    label = f"{where}: module {shown(name)}"
    if not name or len(name) > 64 or not all(c.isalnum() or c in "_-." for c in name):
        raise InputError(f"{label}: a module name is 1 to 64 letters, digits, '_', '-' or '.'")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InputError(f"{label}: expected a mapping of options, not {type(options).__name__}")
    allowed = library_keywords()
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(str(key).replace("-", "_"), allowed, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (one of: {', '.join(allowed)})"
            raise InputError(f"{label}: unknown option {shown(str(key))}{hint}")
    values: dict[str, Any] = {str(k): tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        diagnose_options(_PLACEHOLDER_TARGET, **values)
    except (UsageError, InputError) as exc:
        raise InputError(f"{label}: {exc}") from None
    except TypeError as exc:  # a mapping where a string belongs, and the like
        raise InputError(f"{label}: {exc}") from None
    return Module(name, values)
