"""Phase 1 of diagnose: resolve the name, the way the client would and resolver by resolver.

``dns.system`` asks getaddrinfo, which is what the failing client itself does (it sees
/etc/hosts, nsswitch and the search list), but folds NXDOMAIN, NODATA and SERVFAIL into
a few ambiguous error codes. ``dns.server.<ip>`` asks each nameserver directly with
dnspython, which tells those answers apart. ``dns.consistency`` compares what they said.
All lookups run concurrently; each is bounded by the per-step timeout.

``--resolver`` (contract/cli.md) names the servers to ask *instead of* the system's: their
answers are the addresses diagnose connects to (``DnsLookup.named``), and the system resolver,
still asked, is a comparison whose different answer is a note, never the diagnosis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Sequence
from pathlib import Path

from tlsdoctor import runner
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.net import addresses
from tlsdoctor.net.dns import Lookup, ask_server, ask_system, system_lookup, unique
from tlsdoctor.net.hosts import HOSTS, hosts_names
from tlsdoctor.net.resolvconf import RESOLV_CONF, system_nameservers
from tlsdoctor.net.resolvconf import parse_server as parse_server  # re-exported for the CLI
from tlsdoctor.observations.dns import AddressNote, DnsLookup, DnsOutcome, ResolverDisagreement

SKIP_ID = "dns"
SYSTEM_ID = "dns.system"
CONSISTENCY_ID = "dns.consistency"
SERVER_PREFIX = "dns.server."
MAX_PER_FAMILY = 4  # addresses handed to the reach phase, per family
MAX_EXPLICIT_SERVERS = 8


def _notes(lookups: Sequence[DnsLookup], resolver: str) -> tuple[AddressNote, ...]:
    """An AddressNote per special answer address (noted, not judged: see net/addresses.py)."""
    hostname = socket.gethostname()
    notes: dict[str, AddressNote] = {}
    for lookup in lookups:
        for address in lookup.addresses:
            category = addresses.classify(address)
            if category is None or address in notes:
                continue
            notes[address] = AddressNote(
                address=address,
                category=category,
                resolver=resolver,
                name=lookup.name,
                sinkhole=addresses.is_sinkhole_answer(address, lookup.name, hostname),
            )
    return tuple(notes.values())


def _verdict(who: str, lookups: Sequence[DnsLookup], notes: Sequence[AddressNote]) -> tuple[Status, str]:
    """pass with addresses; warn for sinkhole-looking or half-broken answers; fail with none."""
    found = [a for lk in lookups for a in lk.addresses]
    if not found:
        said = ", ".join(f"{lk.qtype} {lk.outcome.value}" for lk in lookups)
        return Status.FAIL, f"{who}: no address for {lookups[0].name} ({said})"
    shown = ", ".join(found[:6]) + (f" (+{len(found) - 6})" if len(found) > 6 else "")
    sinkholes = [n.address for n in notes if n.sinkhole]
    if sinkholes and len(sinkholes) == len(set(found)):
        return Status.WARN, f"{who}: {lookups[0].name} -> {shown}, only sinkhole addresses"
    broken = [lk for lk in lookups if lk.outcome not in (DnsOutcome.ANSWER, DnsOutcome.NO_ADDRESS)]
    if broken:
        said = ", ".join(f"{lk.qtype} {lk.outcome.value}" for lk in broken)
        return Status.WARN, f"{who}: {lookups[0].name} -> {shown}, but {said}"
    special = f"; noted: {', '.join(f'{n.address} {n.category}' for n in notes)}" if notes else ""
    return Status.PASS, f"{who}: {lookups[0].name} -> {shown}{special}"


class SystemResolverCheck:
    """``dns.system``: getaddrinfo, as the client under diagnosis resolves the name."""

    id = SYSTEM_ID
    layer = "dns"

    def __init__(self, lookup: Lookup = system_lookup, *, comparison: bool = False) -> None:
        self._lookup = lookup  # injectable: tests must not reach the machine's real resolver
        self.comparison = comparison  # --resolver given: this answer is not the one used

    def budget(self, ctx: Context) -> float:
        return ctx.timeout + 1.0

    async def run(self, ctx: Context) -> CheckResult:
        lookup = await ask_system(ctx.options.host, ctx.timeout, self._lookup)
        notes = _notes([lookup], "system")
        if not self.comparison:
            status, summary = _verdict("system resolver", [lookup], notes)
        else:  # what it says is a note: the addresses used come from --resolver
            status, summary = _verdict("system resolver, compared only (--resolver given)", [lookup], notes)
            status = Status.WARN if status is Status.FAIL else status
        return CheckResult(id=self.id, status=status, summary=summary, observations=(lookup, *notes))


class ServerCheck:
    """``dns.server.<ip>``: A and AAAA asked of one nameserver, every rcode told apart."""

    layer = "dns"

    def __init__(self, host: str, port: int = 53, *, named: bool = False) -> None:
        self.host, self.port = host, port
        self.named = named  # --resolver: it replaces the system's resolver (DnsLookup.named)
        bracketed = f"[{host}]" if ":" in host else host
        self.label = host if port == 53 else f"{bracketed}:{port}"
        self.id = SERVER_PREFIX + self.label

    def budget(self, ctx: Context) -> float:
        return 2 * ctx.timeout + 1.0  # UDP, then TCP after truncation (RFC 7766 section 5)

    async def run(self, ctx: Context) -> CheckResult:
        asked = (
            ask_server(self.host, self.port, self.label, ctx.options.host, qtype, ctx.timeout)
            for qtype in ("A", "AAAA")
        )
        lookups = [
            dataclasses.replace(lk, named=self.named) for lk in await asyncio.gather(*asked)
        ]  # concurrently: a dead server costs one timeout
        notes = _notes(lookups, self.label)
        status, summary = _verdict(f"resolver {self.label}", lookups, notes)
        return CheckResult(id=self.id, status=status, summary=summary, observations=(*lookups, *notes))


def _views(results: Sequence[CheckResult]) -> dict[str, list[DnsLookup]]:
    """Each resolver's lookups; the system's single ANY lookup split into A and AAAA views."""
    views: dict[str, list[DnsLookup]] = {}
    for result in results:
        for lk in (o for o in result.observations if isinstance(o, DnsLookup)):
            if lk.qtype != "ANY":
                views.setdefault(lk.resolver, []).append(lk)
                continue
            for qtype, version in (("A", 4), ("AAAA", 6)):
                mine = tuple(a for a in lk.addresses if addresses.parse(a).version == version)
                if lk.outcome is DnsOutcome.ANSWER and not mine:
                    continue  # the system returned the other family only: no opinion on this one
                views.setdefault(lk.resolver, []).append(
                    DnsLookup(
                        resolver=lk.resolver, name=lk.name, qtype=qtype, outcome=lk.outcome, addresses=mine
                    )
                )
    return views


def _compare_family(name: str, qtype: str, sets: dict[str, frozenset[str]]) -> ResolverDisagreement | None:
    """Different answers for one type. Round-robin subsets are fine; disjoint sets are noted, and
    suspicious only when one side is special (sinkhole, private...) and the other ordinary."""
    if len(set(sets.values())) < 2:
        return None
    values = list(sets.values())
    if not any(a.isdisjoint(b) for i, a in enumerate(values) for b in values[i + 1 :]):
        return None  # overlapping sets: rotation or truncated round-robin, not a disagreement
    special = {r: sorted({c for a in s if (c := addresses.classify(a))}) for r, s in sets.items()}
    odd, plain = [r for r in sets if special[r]], [r for r in sets if not special[r]]
    answers = tuple((r, tuple(sorted(s))) for r, s in sets.items())
    if odd and plain:
        kinds = ", ".join(f"{r}: {'/'.join(special[r])}" for r in odd)
        return ResolverDisagreement(
            name=name,
            qtype=qtype,
            answers=answers,
            suspicious=True,
            reason=f"special-range answers ({kinds}) where {', '.join(plain)} answer "
            "public addresses: a DNS filter, /etc/hosts or split horizon",
        )
    return ResolverDisagreement(
        name=name,
        qtype=qtype,
        answers=answers,
        suspicious=False,
        reason="different addresses: usual for CDNs, geo-DNS and load balancers",
    )


def named_resolvers(results: Sequence[CheckResult]) -> set[str]:
    """The resolvers the user named with --resolver (their labels); empty when none was."""
    return {o.resolver for r in results for o in r.observations if isinstance(o, DnsLookup) and o.named}


def consistency(results: Sequence[CheckResult]) -> CheckResult | None:
    """``dns.consistency``: compare the resolvers' answers; None when fewer than two answered.

    Status is warn at worst: a disagreement is a clue, and only the rules, which also see
    whether connecting worked, may call it a fault. With --resolver, only a disagreement among
    the named servers can be suspicious; the system resolver answering otherwise is a note.
    """
    views = _views([r for r in results if r.id == SYSTEM_ID or r.id.startswith(SERVER_PREFIX)])
    named = named_resolvers(results)
    found = _disagreements({r: v for r, v in views.items() if r in named}) if len(named) > 1 else []
    if named and not found:
        notes = [
            dataclasses.replace(
                d,
                suspicious=False,
                reason=f"{d.reason}; a note only: the addresses used come from --resolver "
                f"{', '.join(sorted(named))}, not from the system resolver",
            )
            for d in _disagreements(views)
        ]
        found = notes
    elif not named:
        found = _disagreements(views)
    answered = [r for r, lks in views.items() if any(lk.outcome in _DEFINITE for lk in lks)]
    if len(answered) < 2:
        return None
    if not found:
        name = next(lk.name for lks in views.values() for lk in lks)
        return CheckResult(
            id=CONSISTENCY_ID, status=Status.PASS, summary=f"{len(answered)} resolvers agree on {name}"
        )
    summary = "; ".join(f"{d.qtype}: {d.reason}" for d in found)
    return CheckResult(id=CONSISTENCY_ID, status=Status.WARN, summary=summary, observations=tuple(found))


_DEFINITE = (DnsOutcome.NXDOMAIN, DnsOutcome.ANSWER)


def _disagreements(views: dict[str, list[DnsLookup]]) -> list[ResolverDisagreement]:
    """What these resolvers disagree on: NXDOMAIN against an answer, or different address sets."""
    nx = [r for r, lks in views.items() if any(lk.outcome is DnsOutcome.NXDOMAIN for lk in lks)]
    answering = [r for r, lks in views.items() if any(lk.outcome is DnsOutcome.ANSWER for lk in lks)]
    if len(set(nx) | set(answering)) < 2:
        return []
    name = next(lk.name for lks in views.values() for lk in lks)
    local = addresses.is_local_name(name, socket.gethostname())  # /etc/hosts is right about these
    found: list[ResolverDisagreement] = []
    if nx and answering:
        answers = tuple((r, tuple(a for lk in views[r] for a in lk.addresses)) for r in [*nx, *answering])
        found.append(
            ResolverDisagreement(
                name=name,
                qtype="A/AAAA",
                answers=answers,
                suspicious=not local,
                reason=f"{', '.join(nx)} say the name does not exist, {', '.join(answering)} answer it: "
                "split horizon, a filter answering NXDOMAIN, or a stale negative cache",
            )
        )
    for qtype in ("A", "AAAA"):
        sets = {
            r: frozenset(lk.addresses)
            for r, lks in views.items()
            for lk in lks
            if lk.qtype == qtype and lk.outcome is DnsOutcome.ANSWER
        }
        if (seen := _compare_family(name, qtype, sets)) is not None:
            found.append(dataclasses.replace(seen, suspicious=seen.suspicious and not local))
    return found


def dns_skip_reason(ctx: Context) -> str | None:
    """Why there is nothing to resolve, or None."""
    if ctx.options.connect_to:
        return f"--connect-to {ctx.options.connect_to} given: the name is not resolved"
    try:
        addresses.parse(ctx.options.host)
    except ValueError:
        if not ctx.options.host_is_ip:
            return None
    return "the target is an IP address: nothing to resolve"


def answered_locally(name: str, hosts: Path = HOSTS) -> bool:
    """Whether the system resolver answers ``name`` without DNS (RFC 6761 localhost, the hosts file)."""
    if addresses.is_local_name(name, socket.gethostname()):
        return True
    return name.rstrip(".").lower() in hosts_names(hosts)


def dns_checks(
    ctx: Context, *, resolv_conf: Path = RESOLV_CONF, lookup: Lookup = system_lookup, hosts: Path = HOSTS
) -> list[runner.Check]:
    """The system resolver plus one check per server (--resolver, else resolv.conf); empty if moot.

    resolv.conf's servers are not asked about a name the hosts file (or RFC 6761) answers:
    no client would ever ask them, so their NXDOMAIN would be a false alarm.
    """
    if dns_skip_reason(ctx) is not None:
        return []
    # --resolver values were validated by the CLI
    servers = [parse_server(t) for t in ctx.options.resolvers[:MAX_EXPLICIT_SERVERS]]
    if not servers and not answered_locally(ctx.options.host, hosts):
        servers = [(ip, 53) for ip in system_nameservers(resolv_conf)]
    # --resolver replaces the system's resolver, except for names no resolver is asked about:
    # localhost and this host's own name answer from the hosts file (RFC 6761 section 6.3).
    named = bool(ctx.options.resolvers) and not addresses.is_local_name(
        ctx.options.host, socket.gethostname()
    )
    checks: list[runner.Check] = [SystemResolverCheck(lookup, comparison=named)]
    if servers:
        checks += [ServerCheck(host, port, named=named) for host, port in dict.fromkeys(servers)]
    return checks


async def resolve(
    ctx: Context, *, resolv_conf: Path = RESOLV_CONF, lookup: Lookup = system_lookup
) -> list[CheckResult]:
    """Phase 1 whole: the DNS checks, concurrently, then their comparison (or one skip result)."""
    reason = dns_skip_reason(ctx)
    if reason is not None:
        return [runner.skipped(SKIP_ID, reason)]
    checks = dns_checks(ctx, resolv_conf=resolv_conf, lookup=lookup)
    if any(isinstance(c, SystemResolverCheck) and c.comparison for c in checks):
        results = await _named_first(checks, ctx)
    else:
        results = await runner.run(checks, ctx)
    compared = consistency(results)
    return results + ([compared] if compared is not None else [])


COMPARISON_GRACE_S = 0.5  # at least this long for the system's comparison answer, after --resolver's


async def _named_first(checks: Sequence[runner.Check], ctx: Context) -> list[CheckResult]:
    """With --resolver, the named servers decide when resolving is over. The system resolver, a
    comparison only, may answer until they are done, and then for as long again as they took
    (at least COMPARISON_GRACE_S); a system resolver that hangs, often the very reason a user
    names another, then costs a fraction of a second, not a timeout."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = [asyncio.ensure_future(runner.run_one(c, ctx)) for c in checks]
    system = [t for c, t in zip(checks, tasks, strict=True) if isinstance(c, SystemResolverCheck)]
    await asyncio.gather(*(t for t in tasks if t not in system))
    grace = min(ctx.timeout, max(COMPARISON_GRACE_S, loop.time() - start))
    await asyncio.wait(system, timeout=grace)
    results: list[CheckResult] = []
    for task in tasks:
        if task.done():
            results.append(task.result())
            continue
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        waited = loop.time() - start
        results.append(
            runner.skipped(
                SYSTEM_ID,
                f"system resolver, compared only (--resolver given): no answer within {waited:.1f} s, "
                "by when the named resolvers had answered; not waited for",
            )
        )
    return results


async def resolve_addresses(ctx: Context, results: list[CheckResult]) -> list[str]:
    """Phase 1 of diagnose and scan: the addresses to try (--connect-to or the IP literal as is, with
    DNS skipped); the DNS checks' results, then their comparison, are added to ``results``."""
    dns_results = await resolve(ctx)
    results.extend(dns_results)
    if ctx.options.connect_to:
        return [ctx.options.connect_to]
    if ctx.options.host_is_ip:
        return [ctx.options.host]
    return addresses_from(dns_results)


def addresses_from(results: Sequence[CheckResult]) -> list[str]:
    """The addresses to connect to: the --resolver servers' when named, else the system
    resolver's, else its nameservers'.

    The named servers replace the system's resolver (contract/cli.md): when they fail, the
    result is empty, never the system's answer, so the reach phase cannot make the resolver the
    user asked about look healthy. Without --resolver the system's answer wins because it is
    what the failing client uses: when it is only a sinkhole, the result is empty rather than
    another resolver's working address. Unconnectable answers (0.0.0.0, multicast) are
    dropped; at most MAX_PER_FAMILY per family, order kept.
    """

    def answers(result: CheckResult) -> list[str]:
        return [
            a
            for o in result.observations
            if isinstance(o, DnsLookup) and o.outcome is DnsOutcome.ANSWER
            for a in o.addresses
        ]

    named = named_resolvers(results)
    servers = [r for r in results if r.id.startswith(SERVER_PREFIX)]
    system = [r for r in results if r.id == SYSTEM_ID and answers(r)]
    chosen = [r for r in servers if r.id.removeprefix(SERVER_PREFIX) in named] if named else system or servers
    picked: list[str] = []
    per_family = {4: 0, 6: 0}
    for address in unique([a for r in chosen for a in answers(r)]):
        if not addresses.is_connectable(address):
            continue
        family = addresses.parse(address).version
        if per_family[family] < MAX_PER_FAMILY:
            per_family[family] += 1
            picked.append(address)
    return picked
