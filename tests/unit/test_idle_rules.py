"""server-idle-close and client-write-after-close (rules/idle.py): a positive and a near miss for each."""

from __future__ import annotations

from helpers import facts

from tlsdoctor.inference import engine
from tlsdoctor.inference.rules import idle
from tlsdoctor.model import CheckResult, Status, Verdict
from tlsdoctor.observations.idle import IdleEnd, IdleHold


def held(ending: IdleEnd, **kw: object) -> IdleHold:
    defaults: dict[str, object] = {"address": "127.0.0.1", "port": 443, "limit_s": 3.0, "ended_ms": 1000.0}
    return IdleHold(ending=ending, **{**defaults, **kw})  # type: ignore[arg-type]


def test_server_idle_close_on_fin_and_on_close_notify() -> None:
    for seen in (held(IdleEnd.FIN, fin_ms=1000.0), held(IdleEnd.CLOSE_NOTIFY, close_notify_ms=1000.0)):
        m = idle.server_idle_close(facts(seen))
        assert m is not None and m.confidence >= 0.9 and "1.0 s" in m.summary


def test_server_idle_close_near_miss_still_open() -> None:
    assert idle.server_idle_close(facts(held(IdleEnd.OPEN, ended_ms=3000.0))) is None


def test_server_idle_close_near_miss_connection_close_announced() -> None:
    """A server that answered "Connection: close" closes by design: no keep-alive, not an idle timeout."""
    seen = held(IdleEnd.FIN, fin_ms=5.0, response="HTTP/1.1 200 OK", announced_close=True)
    assert idle.server_idle_close(facts(seen)) is None


def test_client_write_after_close_needs_a_failed_write() -> None:
    failed = held(IdleEnd.FIN, fin_ms=1000.0, writes=2, write_error="EPIPE", write_ms=1100.0)
    m = idle.client_write_after_close(facts(failed))
    assert m is not None and m.confidence < idle.CLOSE_CONFIDENCE and "EPIPE" in m.summary
    half_closed = held(IdleEnd.FIN, fin_ms=1000.0, writes=8)  # every write accepted: the server reads on
    assert idle.client_write_after_close(facts(half_closed)) is None


def test_ranking_and_verdict() -> None:
    seen = held(IdleEnd.RESET, reset_ms=1000.0, writes=1, write_error="ECONNRESET")
    result = CheckResult(id="idle", status=Status.FAIL, summary=seen.describe(), observations=(seen,))
    verdict, causes = engine.diagnose([result])
    assert verdict is Verdict.FAULT
    assert [c.id for c in causes[:2]] == ["server-idle-close", "client-write-after-close"]
    assert any("keep-alive" in fix or "idle timeout" in fix for fix in causes[0].fixes)


def test_describe_is_readable() -> None:
    seen = held(IdleEnd.CLOSE_NOTIFY, close_notify_ms=1000.0, fin_ms=1001.0, writes=2, write_error="EPIPE")
    text = seen.describe()
    assert "close_notify at 1.00 s, then FIN at 1.00 s" in text and "EPIPE (write 2)" in text
    assert "still open" in held(IdleEnd.OPEN, ended_ms=2000.0).describe()
