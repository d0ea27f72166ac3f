"""tlsdoctor: find out why a TLS connection fails.

Library API: ``diagnose`` and ``explain`` return a :class:`Report` with ranked causes.
Imports are lazy so that importing the package (and ``tlsdoctor --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tlsdoctor.model import Cause, CheckResult, Report, Status, Verdict

__all__ = ["Cause", "CheckResult", "Report", "Status", "Verdict", "__version__", "diagnose", "explain"]


def diagnose(target: str, **options: Any) -> Report:
    """Diagnose TARGET (as on the command line); options as in ``tlsdoctor.context.Options``."""
    import asyncio

    from tlsdoctor.commands.diagnose import diagnose as run
    from tlsdoctor.context import Context, Options
    from tlsdoctor.target import parse_target

    parsed = parse_target(target, options.pop("port", None))
    opts = Options(host=parsed.host, port=parsed.port, host_is_ip=parsed.is_ip, **options)
    return asyncio.run(run(Context(options=opts)))


def explain(text: str) -> Report:
    """Interpret an error message or log excerpt offline."""
    from tlsdoctor.commands.explain import run_explain

    return run_explain(text)


def __getattr__(name: str) -> Any:
    if name in ("Cause", "CheckResult", "Report", "Status", "Verdict"):
        from tlsdoctor import model

        return getattr(model, name)
    raise AttributeError(name)
