"""An exception an application caught, as the text and facts ``explain`` reads (library API).

``tlsdoctor.explain_exception(exc)`` is for the ``except`` block of a program that just failed to
connect: requests, httpx, urllib3 and aiohttp wrap the error that matters (an ``ssl`` verification
failure, a reset, a refused connect) in their own exceptions, two or three deep, through
``__cause__``/``__context__`` and through attributes of their own (urllib3's ``reason``, aiohttp's
``os_error``, requests keeping urllib3's error in ``args``). The walk below follows all of those,
bounded and cycle-safe, and writes each exception the way a Python traceback ends
(``module.Type: message``), innermost first, with the numbers the message may not show (the OS
errno, OpenSSL's library, reason and X.509 verify code) in the forms ``explain`` already knows. The
wrappers' host and port, when they carry them, become a line explain's target rules find.

Nothing here imports an HTTP library: the wrappers are read by duck typing, so the package keeps
no dependency on any of them.
"""

from __future__ import annotations

import dataclasses
import errno as errno_names
import os
import socket
import ssl
import warnings
from collections.abc import Iterator
from typing import Any

MAX_EXCEPTIONS = 16  # a chain deeper than this is a loop of wrappers, not more information
MAX_MESSAGE = 2000  # characters of one exception's message
# Attributes in which wrappers keep the exception they wrap, besides __cause__/__context__/args:
# urllib3 (MaxRetryError.reason), aiohttp (os_error, certificate_error), SQLAlchemy-style (orig).
INNER = ("reason", "os_error", "certificate_error", "orig")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Caught:
    """One exception of the chain, as plain facts (the report's ``exceptions[]``)."""

    type: str  # "ssl.SSLCertVerificationError", "ConnectionResetError", "requests.exceptions.SSLError"
    message: str
    errno: int | None = None  # an OS errno (or a getaddrinfo EAI_* code for socket.gaierror)
    errno_name: str | None = None  # "ECONNRESET"
    library: str | None = None  # OpenSSL's library of an ssl.SSLError ("SSL")
    reason: str | None = None  # OpenSSL's reason ("CERTIFICATE_VERIFY_FAILED")
    verify_code: int | None = None  # X.509 verify error (10: certificate has expired)
    verify_message: str | None = None
    host: str | None = None  # the endpoint, when the wrapper names it
    port: int | None = None
    url: str | None = None
    timed_out: bool = False  # a TimeoutError (asyncio's and aiohttp's often carry no message at all)

    def lines(self) -> list[str]:
        """This exception as the lines of a traceback's end, with the facts its message lacks."""
        out = [f"{self.type}: {self.message}" if self.message else self.type]
        facts: list[str] = ["timed out"] if self.timed_out and not self.message else []
        if self.errno is not None and f"Errno {self.errno}]" not in self.message:
            facts.append(f"[Errno {self.errno}] {self.errno_name or ''} {_strerror(self.errno)}".strip())
        if self.reason and f"[{self.library or 'SSL'}: {self.reason}]" not in self.message:
            facts.append(f"[{self.library or 'SSL'}: {self.reason}]")
        if self.verify_code:
            facts.append(f"verify error:num={self.verify_code}:{self.verify_message or ''}")
        if self.host is not None and self.port is not None:
            facts.append(f"host={self.host}, port={self.port}")
        if self.url:
            facts.append(f"url: {self.url}")
        out.extend(f"  {fact}" for fact in facts)
        return out


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it wraps, outermost first, each once, at most MAX_EXCEPTIONS."""
    seen: set[int] = set()
    found: list[BaseException] = []
    todo = [exc]
    while todo and len(found) < MAX_EXCEPTIONS:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        todo.extend(_inner(current))
    return found


def _inner(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions ``exc`` wraps: its cause, the one it was raised while handling, and those its
    wrapper keeps in attributes or arguments (requests' errors hold urllib3's in ``args``)."""
    yield from (e for e in (exc.__cause__, exc.__context__) if e is not None)
    for name in INNER:
        value = _attribute(exc, name)
        if isinstance(value, BaseException):
            yield value
    yield from (a for a in _safe_args(exc) if isinstance(a, BaseException))
    if isinstance(exc, BaseExceptionGroup):
        yield from exc.exceptions[:MAX_EXCEPTIONS]


def describe(exc: BaseException) -> Caught:
    """The facts of one exception, read defensively: a wrapper's property may itself raise."""
    kind = type(exc)
    module = kind.__module__
    name = kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    number = _os_errno(exc)
    host, port, url = _endpoint(exc)
    library = reason = verify_message = None
    verify_code = None
    if isinstance(exc, ssl.SSLError):
        library, reason = _text(getattr(exc, "library", None)), _text(getattr(exc, "reason", None))
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", None)
        verify_code = code if isinstance(code, int) and not isinstance(code, bool) else None
        verify_message = _text(getattr(exc, "verify_message", None))
    return Caught(
        type=name,
        message=_message(exc),
        errno=number,
        errno_name=_errno_name(exc, number),
        library=library,
        reason=reason,
        verify_code=verify_code,
        verify_message=verify_message,
        host=host,
        port=port,
        url=url,
        timed_out=isinstance(exc, TimeoutError),
    )


def _os_errno(exc: BaseException) -> int | None:
    """The OS errno of a standard OSError. Not of an ssl.SSLError (its errno is an SSL_ERROR_* code),
    nor of a wrapper subclassing OSError (aiohttp copies the wrapped error's number, which may be
    that SSL code): the wrapped exception itself is in the chain and says it truthfully."""
    if not isinstance(exc, OSError) or isinstance(exc, ssl.SSLError):
        return None
    if type(exc).__module__ not in ("builtins", "socket"):
        return None
    number = exc.errno
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def _errno_name(exc: BaseException, number: int | None) -> str | None:
    """ECONNRESET for 104; for socket.gaierror, its EAI_* name (EAI_NONAME for -2)."""
    if number is None:
        return None
    if isinstance(exc, socket.gaierror):
        return next((n for n in dir(socket) if n.startswith("EAI_") and getattr(socket, n) == number), None)
    return errno_names.errorcode.get(number)


def _strerror(number: int) -> str:
    if number < 0:
        return ""
    try:
        return os.strerror(number)
    except ValueError:
        return ""


def _endpoint(exc: BaseException) -> tuple[str | None, int | None, str | None]:
    """(host, port, url) named by a wrapper: aiohttp's host/port, urllib3's pool or connection,
    requests' and httpx's request URL (httpx's ``request`` property raises when it has none)."""
    for holder in (exc, _attribute(exc, "conn"), _attribute(exc, "pool")):  # urllib3 2.8 deprecates pool
        if holder is None:
            continue
        host, port = _attribute(holder, "host"), _attribute(holder, "port")
        if isinstance(host, str) and 0 < len(host) <= 253 and _is_port(port):
            return host.strip("[]"), int(port), None
    request = _attribute(exc, "request")
    url = _attribute(request, "url") if request is not None else None
    if url is None:
        url = _attribute(_attribute(exc, "request_info"), "real_url")
    if url is not None and not isinstance(url, bool):
        text = _text(str(url))
        if text and "://" in text:
            return None, None, text[:MAX_MESSAGE]
    return None, None, None


def _is_port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _attribute(obj: object, name: str) -> Any:
    if obj is None:
        return None
    try:
        with warnings.catch_warnings():  # a deprecated property must not warn in the user's program
            warnings.simplefilter("ignore")
            return getattr(obj, name, None)
    except Exception:  # a wrapper's property that raises (httpx: "request ... has not been set")
        return None


def _safe_args(exc: BaseException) -> tuple[object, ...]:
    try:
        args = exc.args
    except Exception:
        return ()
    return tuple(args[:8]) if isinstance(args, tuple) else ()


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break the explanation
        text = ""
    text = " ".join(text.split())
    return text[:MAX_MESSAGE] + ("..." if len(text) > MAX_MESSAGE else "")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def explanation(exc: BaseException) -> tuple[str, list[Caught]]:
    """The text for ``explain`` (innermost exception first, as a traceback reads) and the facts,
    with the credentials of any URL in them redacted (the report quotes them back)."""
    from tlsdoctor.target import redact_text

    facts = [
        dataclasses.replace(
            fact, message=redact_text(fact.message), url=redact_text(fact.url) if fact.url else None
        )
        for fact in map(describe, chain(exc))
    ]
    facts.reverse()
    return "\n".join(line for fact in facts for line in fact.lines()), facts
