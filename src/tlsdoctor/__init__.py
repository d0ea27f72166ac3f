"""tlsdoctor: find out why a TLS connection fails.

Library API: ``diagnose`` and ``explain`` return a :class:`Report` with ranked causes.
Imports are lazy so that importing the package (and ``tlsdoctor --help``) stays fast.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
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
    """This package's module type. Importing the ``tlsdoctor.explain`` subpackage (which the first
    call of :func:`explain` does) makes the import system set it as the attribute ``explain`` of
    this package, over the library function of contract/cli.md: a second ``tlsdoctor.explain(text)``
    then raised "'module' object is not callable". The function keeps its name; the subpackage
    stays importable (``from tlsdoctor.explain import ...``) through sys.modules."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "explain" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in ("Cause", "CheckResult", "Report", "Status", "Verdict"):
        from tlsdoctor import model

        return getattr(model, name)
    raise AttributeError(name)
