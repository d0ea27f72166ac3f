"""The exporter's HTTP surface (aiohttp): ``/probe``, ``/metrics``, ``/`` and ``/report``.

blackbox_exporter's multi-target pattern: Prometheus scrapes ``/probe?target=HOST:PORT&module=NAME``
with the endpoint in the query string (relabelled from the scrape target), so one exporter per
vantage point serves any number of endpoints. A bad target or module is the scraper's mistake: 400
with the one-line message the command line would print. Too many diagnoses in flight: 503, at once,
rather than a queue that would miss every deadline behind it.
"""

from __future__ import annotations

import logging
import math
import time

from aiohttp import web

from tlsdoctor.exporter import metrics, page
from tlsdoctor.exporter.modules import DEFAULT_MODULE
from tlsdoctor.exporter.probe import Busy, Prober, bad_input
from tlsdoctor.report.escape import escape_controls

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
DEFAULT_SCRAPE_TIMEOUT_S = 10.0  # Prometheus' own default scrape_timeout, for a scraper that sends none
MIN_BUDGET_S = 0.5
MAX_BUDGET_S = 300.0
MAX_QUERY_VALUE = 1024  # characters of a target or module name in a query string

log = logging.getLogger("tlsdoctor.exporter")
PROBER: web.AppKey[Prober] = web.AppKey("prober", Prober)
METRICS: web.AppKey[metrics.ExporterMetrics] = web.AppKey("metrics", metrics.ExporterMetrics)
SETTINGS: web.AppKey[dict[str, object]] = web.AppKey("settings", dict)


def budget(headers: object, offset: float) -> float:
    """Seconds a probe may take: the scrape timeout Prometheus announces, minus ``offset`` (our reply
    must still travel and be parsed), bounded; without the header, Prometheus' default."""
    raw = getattr(headers, "get", lambda _k: None)(SCRAPE_TIMEOUT_HEADER)
    timeout = DEFAULT_SCRAPE_TIMEOUT_S
    if raw:
        text = str(raw).strip()
        try:
            value = float(text) if len(text) <= 32 else math.nan  # a cut number would be another number
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            timeout = value
    return max(MIN_BUDGET_S, min(MAX_BUDGET_S, timeout - offset))


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=escape_controls(text)[:2000] + "\n", content_type="text/plain")


async def probe(request: web.Request) -> web.StreamResponse:
    prober, stats = request.app[PROBER], request.app[METRICS]
    target = request.query.get("target", "")
    module = request.query.get("module", DEFAULT_MODULE) or DEFAULT_MODULE
    if not target:
        stats.refused.labels("bad-request").inc()
        return _plain(400, "Target parameter is missing")
    if len(target) > MAX_QUERY_VALUE or len(module) > MAX_QUERY_VALUE:
        stats.refused.labels("bad-request").inc()
        return _plain(400, "target or module parameter is too long")
    if module not in prober.modules:
        stats.refused.labels("bad-request").inc()
        return _plain(400, f"Unknown module {module!r}")
    offset = float(str(request.app[SETTINGS]["timeout_offset"]))
    start = time.monotonic()
    try:
        result = await prober.probe(target, module, budget(request.headers, offset))
    except Busy as exc:
        stats.refused.labels("busy").inc()
        return _plain(503, str(exc))
    except Exception as exc:
        if bad_input(exc):
            stats.refused.labels("bad-request").inc()
            return _plain(400, str(exc))
        stats.refused.labels("internal").inc()
        log.exception("probe of %s failed", escape_controls(target))
        return _plain(500, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        stats.in_flight.set(prober.in_flight)
    stats.observe(result, time.monotonic() - start)
    return web.Response(body=metrics.exposition(result), headers={"Content-Type": metrics.CONTENT_TYPE})


async def own_metrics(request: web.Request) -> web.Response:
    stats = request.app[METRICS]
    stats.in_flight.set(request.app[PROBER].in_flight)
    return web.Response(body=stats.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})


async def index(request: web.Request) -> web.Response:
    prober = request.app[PROBER]
    counts = {"recent probes kept": len(prober.recent), "diagnoses in flight": prober.in_flight}
    body = page.index(
        prober.recent, modules=prober.modules, listen=str(request.app[SETTINGS]["listen"]), stats=counts
    )
    return _html(body)


async def report(request: web.Request) -> web.Response:
    from tlsdoctor.report import html

    found = request.app[PROBER].report(request.query.get("id", ""))
    if found is None:
        return _plain(404, "no such report: reports are kept for the most recent probes only")
    return _html(html.render(found.report))


def _html(body: str) -> web.Response:
    headers = {"Content-Security-Policy": page.CSP, "X-Content-Type-Options": "nosniff"}
    return web.Response(text=body, content_type="text/html", headers=headers)


def make_app(prober: Prober, *, listen: str, timeout_offset: float = 0.5) -> web.Application:
    """The aiohttp application around ``prober``."""
    app = web.Application(client_max_size=64 * 1024)
    app[PROBER] = prober
    app[METRICS] = metrics.ExporterMetrics()
    app[SETTINGS] = {"listen": listen, "timeout_offset": timeout_offset}
    app.router.add_get("/probe", probe)
    app.router.add_get("/metrics", own_metrics)
    app.router.add_get("/", index)
    app.router.add_get("/report", report)

    async def stop_probes(app: web.Application) -> None:
        await app[PROBER].close()

    app.on_shutdown.append(stop_probes)
    return app
