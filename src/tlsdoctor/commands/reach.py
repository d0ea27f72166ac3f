"""Where diagnose starts: the addresses to try (DNS, or --connect-to / an IP literal) and whether TCP
reaches them (directly, or through the proxy), with the client's own limits when a connect failed for
want of a descriptor or a port. The playbook's first two steps (commands/playbook.py); ``resolve`` is
checks/dns.py's, shared with scan."""

from __future__ import annotations

__all__ = ["host_facts", "reach", "resolve"]

from tlsdoctor import runner
from tlsdoctor.checks.connect import ProxyCheck, TcpCheck
from tlsdoctor.checks.dns import resolve_addresses as resolve
from tlsdoctor.context import Context
from tlsdoctor.model import CheckResult
from tlsdoctor.net.dns import first_address
from tlsdoctor.net.proxy import proxy_for
from tlsdoctor.net.route import Route
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect


async def reach(
    ctx: Context, addresses: list[str], results: list[CheckResult], *, proxy_route: Route | None = None
) -> Route | None:
    """Phase 2: TCP to each address (or the CONNECT tunnel); the route later phases use.
    ``proxy_route``: the route through the proxy the probes already use (its address resolved once)."""
    proxy = proxy_for(ctx.options.host, ctx.options.proxy, ctx.options.no_proxy)
    if proxy is not None:
        route = proxy_route
        if route is None or route.proxy is None:
            proxy_address = await first_address(proxy.host, ctx.timeout)
            route = Route(
                address=addresses[0] if addresses else ctx.options.host,
                proxy=proxy,
                proxy_address=proxy_address or proxy.host,
            )
        # The direct path too, concurrently: direct blocked + proxy passing is proxy-required.
        direct = [TcpCheck(a) for a in addresses]
        proxied, *_ = reached = await runner.run([ProxyCheck(route), *direct], ctx)
        results.extend(reached)
        results.extend(await host_facts(reached, ctx))
        return route if proxied.status.value == "pass" else None
    if not addresses:
        results.append(runner.skipped("tcp", "no address to connect to"))
        return None
    tcp_results = await runner.run([TcpCheck(a) for a in addresses], ctx)
    results.extend(tcp_results)
    results.extend(await host_facts(tcp_results, ctx))
    for r in tcp_results:
        for o in r.observations:
            if isinstance(o, TcpConnect) and o.outcome is ConnectOutcome.CONNECTED:
                return Route(address=o.address)
    # Nothing connected, and not because the target refused: which hop is the last to answer?
    silent = (ConnectOutcome.TIMEOUT, ConnectOutcome.HOST_UNREACHABLE, ConnectOutcome.NET_UNREACHABLE)
    lost = [
        o.address
        for r in tcp_results
        for o in r.observations
        if isinstance(o, TcpConnect) and o.outcome in silent
    ]
    if lost:
        from tlsdoctor.checks.icmp import TraceCheck
        from tlsdoctor.observations.path import PathTrace

        traced = await runner.run([TraceCheck(lost[0])], ctx)
        results.extend(traced)
        if any(isinstance(o, PathTrace) and o.reached for r in traced for o in r.observations):
            # The target answered the traceroute's SYN: its SYN path works, the connect's SYNs were lost
            # (a lossy path, a flapping filter). Go on: the handshakes' own connects say how often.
            return Route(address=lost[0])
    return None


async def host_facts(tcp_results: list[CheckResult], ctx: Context) -> list[CheckResult]:
    """The client's own limits, when a connect failed for want of a descriptor or a local port:
    the same facts `tlsdoctor host` shows, for client-fd-exhaustion / client-port-exhaustion.
    (The host modules load only then: a healthy run never pays for them.)"""
    ended = {o.outcome for r in tcp_results for o in r.observations if isinstance(o, TcpConnect)}
    wanted: list[runner.Check] = []
    if ConnectOutcome.FD_EXHAUSTED in ended:
        from tlsdoctor.host.fds import FdCheck

        wanted.append(FdCheck())
    if ConnectOutcome.PORT_EXHAUSTED in ended:
        from tlsdoctor.host.ports import PortCheck

        wanted.append(PortCheck())
    return await runner.run(wanted, ctx) if wanted else []
