"""client-fd-exhaustion and client-port-exhaustion: a positive and a near miss for each kind of
evidence (the connect's errno, the host facts, both, and the errno contradicted by the facts)."""

from __future__ import annotations

from helpers import facts, tcp

from tlsdoctor.inference import engine
from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.rules import RULES, client
from tlsdoctor.observations.host import FdUsage, HostFiles, PortUsage
from tlsdoctor.observations.tcp import ConnectOutcome as C


def fds(open_: int, soft: int = 1024) -> FdUsage:
    return FdUsage(pid=4242, soft=soft, hard=4096, open=open_)


def ports(busiest: int, low: int = 40000, high: int = 40099, time_wait: int = 0) -> PortUsage:
    return PortUsage(
        low=low,
        high=high,
        in_use=busiest,
        busiest="198.18.0.10:443",
        busiest_count=busiest,
        time_wait=time_wait,
    )


def test_rules_are_in_the_table_once() -> None:
    causes = [r.cause for r in RULES]
    assert causes.count(CauseId.CLIENT_FD_EXHAUSTION) == 1
    assert causes.count(CauseId.CLIENT_PORT_EXHAUSTION) == 1


def test_fd_errno_alone() -> None:
    m = client.client_fd_exhaustion(facts(tcp(C.FD_EXHAUSTED, errno_name="EMFILE")))
    assert m is not None and m.confidence == client.LIMITS.errno_alone
    assert "EMFILE" in m.summary


def test_fd_errno_near_miss_other_failure() -> None:
    assert client.client_fd_exhaustion(facts(tcp(C.REFUSED), fds(100))) is None


def test_fd_errno_backed_by_usage() -> None:
    m = client.client_fd_exhaustion(facts(tcp(C.FD_EXHAUSTED, errno_name="EMFILE"), fds(1024)))
    assert m is not None and m.confidence == client.LIMITS.errno_backed
    assert "1024 of 1024" in m.summary and len(m.evidence) == 2


def test_fd_errno_contradicted_by_usage() -> None:
    m = client.client_fd_exhaustion(facts(tcp(C.FD_EXHAUSTED, errno_name="ENOBUFS"), fds(10)))
    assert m is not None and m.confidence == client.LIMITS.errno_contradicted


def test_fd_usage_nearly_full_is_a_fault() -> None:
    m = client.client_fd_exhaustion(facts(fds(950)))
    assert m is not None and m.confidence >= engine.FAULT_THRESHOLD
    assert "950 of 1024" in m.summary


def test_fd_usage_near_miss_at_80_percent() -> None:
    assert client.client_fd_exhaustion(facts(fds(820))) is None


def test_fd_unlimited_or_uncounted_is_no_evidence() -> None:
    assert client.client_fd_exhaustion(facts(FdUsage(pid=1, soft=None, hard=None, open=5000))) is None
    assert client.client_fd_exhaustion(facts(FdUsage(pid=1, soft=64, hard=64, open=None))) is None


def test_host_wide_file_handles() -> None:
    m = client.client_fd_exhaustion(facts(fds(10), HostFiles(allocated=99_000, maximum=100_000)))
    assert m is not None and "99000 of 100000" in m.summary
    assert client.client_fd_exhaustion(facts(fds(10), HostFiles(allocated=50_000, maximum=100_000))) is None


def test_port_errno_alone_and_backed() -> None:
    alone = client.client_port_exhaustion(facts(tcp(C.PORT_EXHAUSTED)))
    assert alone is not None and alone.confidence == client.LIMITS.errno_alone
    backed = client.client_port_exhaustion(facts(tcp(C.PORT_EXHAUSTED), ports(100, time_wait=97)))
    assert backed is not None and backed.confidence == client.LIMITS.errno_backed
    assert "100 of the 100 ephemeral ports" in backed.summary and "97 in TIME_WAIT" in backed.summary


def test_port_errno_with_room_left_points_elsewhere() -> None:
    m = client.client_port_exhaustion(facts(tcp(C.PORT_EXHAUSTED), ports(3)))
    assert m is not None and m.confidence == client.LIMITS.errno_contradicted
    assert "source address" in m.summary


def test_port_usage_nearly_full() -> None:
    m = client.client_port_exhaustion(facts(ports(95)))
    assert m is not None and m.confidence == client.LIMITS.facts_near


def test_port_usage_near_miss() -> None:
    assert client.client_port_exhaustion(facts(ports(85))) is None
    assert client.client_port_exhaustion(facts(tcp(C.FD_EXHAUSTED))) is None
