"""tlsdoctor: find out why a TLS connection fails.

Library API: ``diagnose`` and ``explain`` return a :class:`Report` with ranked causes.
Imports are lazy so that importing the package (and ``tlsdoctor --help``) stays fast.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

# Not ``from typing import TYPE_CHECKING``: importing typing costs ~10 ms, before the console script
# can handle a Ctrl-C (tlsdoctor.__main__); mypy treats this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tlsdoctor.context import Options
    from tlsdoctor.model import Cause, CheckResult, Report, Status, Verdict

__all__ = [
    "Cause",
    "CheckResult",
    "Report",
    "Status",
    "Verdict",
    "__version__",
    "diagnose",
    "diagnose_async",
    "explain",
    "scan",
]


def diagnose(target: str, **options: Any) -> Report:
    """Diagnose TARGET (as on the command line). Keywords as in contract/cli.md: ``port``,
    ``servername``, ``connect_to``, ``resolver`` (one address or several), ``ca_file``, ``proxy``,
    ``no_proxy``, ``timeout``, ``repeat``, ``ntp``, ``cert``, ``key``, ``starttls``,
    ``expect_fingerprint``. An invalid value raises ``ValueError`` with the CLI's message."""
    import asyncio

    return asyncio.run(diagnose_async(target, **options))


async def diagnose_async(target: str, **options: Any) -> Report:
    """:func:`diagnose` as a coroutine, for callers that run an event loop."""
    from tlsdoctor.commands.diagnose import diagnose as run
    from tlsdoctor.context import Context

    return await run(Context(options=_validated(target, options)))


SCAN_KEYWORDS = frozenset({"port", "servername", "connect_to", "ca_file", "timeout", "starttls"})


def scan(target: str, *, max_time: Any = None, max_connections: Any = 16, **options: Any) -> Report:
    """The TLS configuration of TARGET, as ``tlsdoctor scan``. Keywords: ``port``, ``servername``,
    ``connect_to``, ``ca_file``, ``timeout``, ``starttls``, ``max_time`` (the whole scan's
    deadline), ``max_connections``. An invalid value raises ``ValueError`` with the CLI's message."""
    from tlsdoctor.commands.scan import scan_command
    from tlsdoctor.context import Context, Limits
    from tlsdoctor.errors import UsageError
    from tlsdoctor.inputs import count, seconds

    if unknown := sorted(set(options) - SCAN_KEYWORDS):
        raise TypeError(f"scan() got unexpected keyword arguments: {', '.join(unknown)}")
    opts = _validated(target, {**options, "no_proxy": True})  # as the CLI's scan: no proxy
    try:
        deadline = None if max_time is None else seconds(max_time, "--max-time")
        limits = Limits(max_concurrency=count(max_connections, 1, 256, "--max-connections"))
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    return scan_command(Context(options=opts, limits=limits), max_time=deadline)


def _validated(target: str, options: dict[str, Any]) -> Options:
    """The arguments checked by the very code the CLI uses (tlsdoctor.inputs), before any probe."""
    from tlsdoctor.errors import InputError, UsageError
    from tlsdoctor.inputs import diagnose_options

    try:
        return diagnose_options(target, **options)
    except (UsageError, InputError) as exc:
        raise ValueError(str(exc)) from None


def explain(text: str) -> Report:
    """Interpret an error message or log excerpt offline (credentials in it are redacted first)."""
    from tlsdoctor.commands.explain import run_explain
    from tlsdoctor.target import redact_text

    return run_explain(redact_text(text))


class _Package(types.ModuleType):
    """This package's module type. ``explain`` and ``scan`` are library functions (contract/cli.md)
    and subpackages too; importing a subpackage (which the functions themselves do) makes the
    import system set it as the package's attribute of that name, over the function: a second
    ``tlsdoctor.explain(text)`` raised "'module' object is not callable". The functions keep
    their names; the subpackages stay importable (``from tlsdoctor.scan import ...``) through
    sys.modules."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_SHADOWED = frozenset({"explain", "scan"})
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in ("Cause", "CheckResult", "Report", "Status", "Verdict"):
        from tlsdoctor import model

        return getattr(model, name)
    raise AttributeError(name)
