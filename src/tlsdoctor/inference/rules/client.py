"""Rules for the client's own resources: file descriptors and ephemeral ports.

Two kinds of evidence, combined: a connect that failed with the telling errno (EMFILE/ENFILE/
ENOBUFS, EADDRNOTAVAIL; net/tcp.py's table), and the host facts (observations/host.py) that
show the limit used up. Either alone names the cause; together they are near-certain. The
thresholds are data (LIMITS), so one read shows when each rule fires.
"""

from __future__ import annotations

import dataclasses

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match, Rule
from tlsdoctor.inference.rules.helpers import cite
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.host import FdUsage, HostFiles, PortUsage
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """When a share of a limit counts as used up, and how sure each kind of evidence makes us."""

    near: float = 0.9  # nearly out: the next burst of connections fails
    full: float = 0.98  # out, give or take the descriptors a run itself needs
    errno_alone: float = 0.9  # the connect's errno, with no host facts to back it
    errno_backed: float = 0.97  # the errno, and the host facts show the limit used up
    errno_contradicted: float = 0.6  # the errno, but the host facts show plenty left
    facts_near: float = 0.7
    facts_full: float = 0.85


LIMITS = Limits()


def _usage(fraction: float | None, limits: Limits) -> float | None:
    """The confidence host facts alone give, from the share of the limit in use."""
    if fraction is None or fraction < limits.near:
        return None
    return limits.facts_full if fraction >= limits.full else limits.facts_near


def _combine(
    facts: Facts,
    failed: list[TcpConnect],
    backing: list[tuple[float | None, Observation]],
    what: str,
    limits: Limits,
) -> Match | None:
    """A match from the failed connects and the (confidence, observation) host facts behind it."""
    strong = [(c, o) for c, o in backing if c is not None]
    if failed:
        if strong:
            confidence = limits.errno_backed
        elif backing:  # host facts measured, and they show room left: the errno has another reason
            confidence = limits.errno_contradicted
        else:
            confidence = limits.errno_alone
        return Match(confidence, cite(facts, [*failed, *(o for _, o in strong)]), what)
    if strong:
        best = max(c for c, _ in strong)
        return Match(best, cite(facts, [o for _, o in strong]), what)
    return None


def client_fd_exhaustion(facts: Facts, limits: Limits = LIMITS) -> Match | None:
    """socket() failed with EMFILE/ENFILE/ENOBUFS, or a process or the host uses nearly all its
    file descriptors."""
    failed = [c for c in facts.all(TcpConnect) if c.outcome is ConnectOutcome.FD_EXHAUSTED]
    backing: list[tuple[float | None, Observation]] = []
    worst = ""
    for usage in facts.all(FdUsage):
        confidence = _usage(usage.fraction, limits)
        backing.append((confidence, usage))
        if confidence is not None:
            worst = f"{usage.open} of {usage.soft} file descriptors open"
    for files in facts.all(HostFiles):
        confidence = _usage(files.fraction, limits)
        backing.append((confidence, files))
        if confidence is not None and not worst:
            worst = f"the host has {files.allocated} of {files.maximum} file handles allocated"
    errno = f"the client could not open a socket ({failed[0].errno_name})" if failed else ""
    what = "; ".join(p for p in (errno, worst) if p) or "file descriptors used up"
    return _combine(facts, failed, backing, what, limits)


def client_port_exhaustion(facts: Facts, limits: Limits = LIMITS) -> Match | None:
    """connect() failed with EADDRNOTAVAIL, or one destination holds nearly every ephemeral port."""
    failed = [c for c in facts.all(TcpConnect) if c.outcome is ConnectOutcome.PORT_EXHAUSTED]
    backing: list[tuple[float | None, Observation]] = []
    worst = ""
    for usage in facts.all(PortUsage):
        confidence = _usage(usage.fraction, limits)
        backing.append((confidence, usage))
        if confidence is not None:
            worst = (
                f"{usage.busiest_count} of the {usage.size} ephemeral ports are held by sockets to "
                f"{usage.busiest}" + (f" ({usage.time_wait} in TIME_WAIT)" if usage.time_wait else "")
            )
    errno = "connect failed with EADDRNOTAVAIL: no free local port" if failed else ""
    if failed and backing and not worst:
        errno += " (yet the range has room: a source address that is not on this host?)"
    what = "; ".join(p for p in (errno, worst) if p) or "ephemeral ports used up"
    return _combine(facts, failed, backing, what, limits)


RULES = (
    Rule(CauseId.CLIENT_FD_EXHAUSTION, client_fd_exhaustion),
    Rule(CauseId.CLIENT_PORT_EXHAUSTION, client_port_exhaustion),
)

__all__ = ["LIMITS", "RULES", "Limits", "client_fd_exhaustion", "client_port_exhaustion"]
