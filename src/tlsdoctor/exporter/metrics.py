"""A probe's answer in the Prometheus text format, and the exporter's own metrics.

The probe metrics follow blackbox_exporter's shape so dashboards carry over (``probe_success`` is
``tlsdoctor_probe_success``, ``probe_ssl_earliest_cert_expiry`` is
``tlsdoctor_cert_expiry_timestamp_seconds``, per-phase durations carry a ``phase`` label) and add what
blackbox_exporter cannot say: ``tlsdoctor_cause{cause,layer}``, one series per ranked candidate, its
value the confidence. prometheus-client renders the text format and escapes label values (backslash,
quote, newline); before that every value that can come from a peer has its control characters made
visible (report.escape) and is cut to :data:`MAX_LABEL` characters, so a hostile banner can neither
break the exposition nor blow up Prometheus' index.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from tlsdoctor.exporter.probe import ProbeResult
from tlsdoctor.model import Report
from tlsdoctor.observations.starttls import StarttlsResult
from tlsdoctor.observations.tcp import ProxyTunnel, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome, PeerChain
from tlsdoctor.report.escape import escape_controls

MAX_LABEL = 200  # characters of a label value taken from a report (a summary, a suite name)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def label(value: object) -> str:
    """A label value from report text: controls escaped, at most MAX_LABEL characters."""
    text = escape_controls("" if value is None else value)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 3] + "..."


def layer_of(cause_id: str) -> str:
    """The cause's layer column in contract/causes.md ("-" for healthy)."""
    from tlsdoctor.inference.causes import CAUSES, CauseId

    try:
        return CAUSES[CauseId(cause_id)].layer
    except (ValueError, KeyError):
        return "unknown"


def phases(report: Report) -> dict[str, float]:
    """Seconds per phase of the default client's connection, as far as it got.

    resolve: the DNS lookups (diagnose's phase 1); connect: TCP to the target (or to the proxy);
    proxy: the CONNECT exchange; starttls: the plaintext preamble; tls: the handshake itself;
    certificate: the certificate analysis (full path only)."""
    out: dict[str, float] = {}
    dns = [c.duration_ms for c in report.checks if c.id.startswith("dns") and c.status.value != "skip"]
    if dns:
        out["resolve"] = max(dns) / 1000
    default = next((c for c in report.checks if c.id == "handshake.default"), None)
    if default is not None:
        for o in default.observations:
            if isinstance(o, TcpConnect):
                out["connect"] = o.elapsed_ms / 1000
            elif isinstance(o, ProxyTunnel):
                out["proxy"] = o.elapsed_ms / 1000
            elif isinstance(o, StarttlsResult):
                out["starttls"] = o.elapsed_ms / 1000
            elif isinstance(o, HandshakeAttempt):
                out["tls"] = o.elapsed_ms / 1000
    certificate = next((c for c in report.checks if c.id == "certificate" and c.duration_ms), None)
    if certificate is not None:
        out["certificate"] = certificate.duration_ms / 1000
    return out


@functools.lru_cache(maxsize=1024)
def not_after(der: bytes) -> float | None:
    """A certificate's notAfter as a Unix time (None when it does not parse)."""
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    except ValueError:
        return None


def earliest_expiry(report: Report) -> float | None:
    """The earliest notAfter of the chain the server sent the default client (else any probe)."""
    chains = [o for c in report.checks for o in c.observations if isinstance(o, PeerChain)]
    chains.sort(key=lambda o: o.variant != "default")
    for chain in chains:
        times = [t for t in map(not_after, chain.chain) if t is not None]
        if times:
            return min(times)
    return None


def negotiated(report: Report) -> HandshakeAttempt | None:
    """The default client's completed handshake, if it completed."""
    for c in report.checks:
        for o in c.observations:
            if (
                isinstance(o, HandshakeAttempt)
                and o.variant == "default"
                and o.outcome is HandshakeOutcome.OK
            ):
                return o
    return None


class ProbeMetrics:
    """The collector of one probe's answer (prometheus-client calls :meth:`collect`)."""

    def __init__(self, result: ProbeResult) -> None:
        self.result = result

    def collect(self) -> Iterator[Metric]:
        result, report = self.result, self.result.report
        yield _gauge("tlsdoctor_probe_success", "1 when the endpoint is healthy", float(result.success))
        yield _gauge(
            "tlsdoctor_probe_duration_seconds",
            "how long the diagnosis took until this answer",
            result.duration_s,
        )
        yield _gauge(
            "tlsdoctor_probe_complete",
            "1 when the diagnosis finished; 0 when the scrape's deadline came first (a partial answer)",
            float(result.complete),
        )
        yield _gauge(
            "tlsdoctor_probe_full_path",
            "1 when the differential playbook ran (the default handshake did not pass)",
            float(result.path != "fast"),
        )
        causes = GaugeMetricFamily(
            "tlsdoctor_cause",
            "ranked candidate causes (contract/causes.md ids), the value is the confidence",
            labels=["cause", "layer"],
        )
        for cause in report.causes:
            causes.add_metric([label(cause.id), layer_of(cause.id)], cause.confidence)
        yield causes
        durations = GaugeMetricFamily(
            "tlsdoctor_phase_duration_seconds",
            "duration of each phase of the default connection",
            labels=["phase"],
        )
        for phase, seconds in phases(report).items():
            durations.add_metric([phase], seconds)
        yield durations
        done = negotiated(report)
        if done is not None:
            tls = InfoMetricFamily("tlsdoctor_tls", "what the default client negotiated")
            tls.add_metric(
                [],
                {
                    "version": label(done.version),
                    "cipher": label(done.cipher),
                    "group": label(done.group or ""),
                },
            )
            yield tls
        expiry = earliest_expiry(report)
        if expiry is not None:
            yield _gauge(
                "tlsdoctor_cert_expiry_timestamp_seconds",
                "earliest notAfter (Unix time) in the certificate chain the server sent",
                expiry,
            )
        top = report.causes[0] if report.causes else None
        info = InfoMetricFamily(
            "tlsdoctor_report", "the report's verdict and summary; the full report is on /"
        )
        info.add_metric(
            [],
            {
                "verdict": report.verdict.value,
                "cause": label(top.id if top else ""),
                "summary": label(top.summary if top else ""),
                "path": result.path,
            },
        )
        yield info


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def exposition(result: ProbeResult) -> bytes:
    """The text format of one probe's answer."""
    return generate_latest(ProbeMetrics(result))


class ExporterMetrics:
    """The exporter's own health on ``/metrics``: probes by outcome, their durations, sharing."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        from prometheus_client.gc_collector import GCCollector
        from prometheus_client.platform_collector import PlatformCollector
        from prometheus_client.process_collector import ProcessCollector

        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.probes = Counter(
            "tlsdoctor_exporter_probes",
            "probes answered, by module and how (fast, full, partial, shared)",
            ["module", "path", "success"],
            registry=self.registry,
        )
        self.refused = Counter(
            "tlsdoctor_exporter_probes_refused",
            "probes refused: bad target or module (400), too many in flight (503), internal error (500)",
            ["reason"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "tlsdoctor_exporter_probe_duration_seconds",
            "time to answer a probe",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "tlsdoctor_exporter_diagnoses_in_flight", "diagnoses running now", registry=self.registry
        )

    def observe(self, result: ProbeResult, seconds: float) -> None:
        path = "shared" if result.shared else result.path
        self.probes.labels(result.module, path, str(result.success).lower()).inc()
        self.duration.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
