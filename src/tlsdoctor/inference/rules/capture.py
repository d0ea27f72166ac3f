"""What a packet capture says about a cause, weighed into that cause's one rule by the engine.

A capture shows one connection and every packet of it: no variants to compare, but the TTL of an RST,
a flight retransmitted into silence, the alert a client sent. The rules in rules/*.py already judge the
capture's flows through the common vocabulary (classify.py turns each flow into a TcpConnect, a
HandshakeAttempt and a ResetOrigin); these readings add what only the wire shows. They are not rules
(each cause keeps exactly one): ``engine.evaluate`` merges a reading with its cause's rule, the more
confident one leading, as it does with explain's text clues.

| cause | the capture shows | conf. |
|---|---|---|
| firewall-reset | an RST "from the server" with a TTL the server's packets never had, after the hello | .92 |
| server-closed | the server's FIN (or its own-TTL RST) right after the hello, no alert | .80 |
| firewall-drop | connected; the hello (retransmitted) never got a byte back | .70 |
| path-mtu-blackhole | full-size segments retransmitted, never ACKed, no ICMP frag-needed | .85 |
|  | the same, ICMP frag-needed arrived and was ignored | .60 |
|  | (seen at the client) a hole of full-size segments in the server's flight, none after | .80 |
| cipher-mismatch | the server's handshake_failure / insufficient_security right after the hello | .75 |
| protocol-mismatch | the client's protocol_version after the ServerHello (the version it refuses) | .80 |
| client-tls-policy | the client's handshake_failure / insufficient_security after the ServerHello | .55 |
| cert-expired, -not-yet-valid | the client's certificate_expired; the chain invalid at capture time | .90 |
| client-clock-skew | the client's certificate_expired, the chain valid at the capture time | .70 |
| cert-revoked | the client's certificate_revoked | .85 |
| cert-untrusted | the client's unknown_ca (.75; self-signed leaf .85); bad/unknown certificate (.45) | |
| cert-chain-incomplete | the client's unknown_ca and the server sent only a leaf it did not sign | .75 |
| cert-hostname-mismatch | the client's bad_certificate/certificate_unknown, the leaf misses the SNI | .80 |
| cert-weak | the client's unsupported_certificate | .60 |
| cert-* candidates | TLS 1.3: the client hangs up right after the server's (encrypted) flight | .30-.35 |
| client-cert-required | TLS 1.3: the server's lone encrypted alert right after the client's Finished | .45 |
| network-unstable | retransmissions by both sides, or many, in a flow that still failed | .40-.50 |
| host-unreachable | an ICMP unreachable quoting the flow's SYN | .90 |
"""

from __future__ import annotations

from collections.abc import Callable

from tlsdoctor.inference.causes import CauseId
from tlsdoctor.inference.facts import Facts
from tlsdoctor.inference.rules.base import Match
from tlsdoctor.inference.rules.helpers import cite
from tlsdoctor.observations.path import ResetOrigin
from tlsdoctor.observations.pcap import (
    CapturedFlow,
    ClientAbort,
    ClientAlert,
    FlightStall,
    FlowIcmp,
    FlowOutcome,
)

Reading = Callable[[Facts], Match | None]
SETTLE = "; a key log (--keylog) or `tlsdoctor diagnose HOST` would settle which"


def _flow(facts: Facts) -> CapturedFlow | None:
    return facts.first(CapturedFlow)


def _ms(flow: CapturedFlow) -> str:
    return f" {flow.after_ms:.0f} ms" if flow.after_ms is not None else ""


def firewall_reset(facts: Facts) -> Match | None:
    flow, origin = _flow(facts), facts.first(ResetOrigin)
    if (
        flow is None
        or origin is None
        or origin.verdict != "injected"
        or flow.outcome is not FlowOutcome.RESET
    ):
        return None
    return Match(
        0.92,
        cite(facts, [origin, flow]),
        f"an RST arrived{_ms(flow)} after {flow.after or 'the handshake began'} with TTL {origin.rst_ttl}, "
        f"while the peer's own packets had TTL {origin.syn_ack_ttl}: a box on the path forged it",
    )


def server_closed(facts: Facts) -> Match | None:
    flow, origin = _flow(facts), facts.first(ResetOrigin)
    if flow is None:
        return None
    if flow.outcome is FlowOutcome.SERVER_CLOSED:
        return Match(
            0.8,
            cite(facts, [flow]),
            f"the server closed the connection (FIN){_ms(flow)} after {flow.after}, without a TLS alert",
        )
    if flow.outcome is FlowOutcome.RESET and origin is not None and origin.verdict == "server":
        return Match(
            0.8,
            cite(facts, [flow, origin]),
            f"the server itself reset the connection{_ms(flow)} after {flow.after} (RST TTL {origin.rst_ttl} "
            "= its other packets'), without a TLS alert",
        )
    return None


def firewall_drop(facts: Facts) -> Match | None:
    flow = _flow(facts)
    if flow is None or flow.outcome is not FlowOutcome.NO_ANSWER:
        return None
    again = f", retransmitted {flow.retransmits_client} times" if flow.retransmits_client else ""
    return Match(
        0.7,
        cite(facts, [flow]),
        f"TCP connected, but the {flow.hello_bytes}-byte ClientHello{again} got no byte back in "
        f"{flow.duration_ms / 1000:.1f} s: dropped on the path after the TCP handshake (DPI, a stateful "
        "filter)",
    )


def path_mtu_blackhole(facts: Facts) -> Match | None:
    stall = facts.first(FlightStall)
    if stall is None:
        return _cut_flight(facts)
    if stall.icmp_frag_needed:
        return Match(
            0.6,
            cite(facts, [stall]),
            f"the {stall.sender}'s {stall.segment_size}-byte segments were retransmitted "
            f"{stall.retransmissions} times, unchanged, although ICMP fragmentation-needed did arrive: the "
            "sender ignores it (a host firewall dropping ICMP before TCP sees it, or PMTU discovery off)",
        )
    conf = 0.85 if stall.smaller_acked else 0.7
    return Match(
        conf,
        cite(facts, [stall]),
        f"the {stall.sender}'s {stall.segment_size}-byte segments were retransmitted "
        f"{stall.retransmissions} times and never acknowledged, and no ICMP fragmentation-needed came back"
        + ("; smaller segments got through" if stall.smaller_acked else ""),
    )


def _cut_flight(facts: Facts) -> Match | None:
    """Seen from the client: the server's flight stops inside a record and nothing more comes, with no
    ICMP: the segments carrying the rest (the full-size ones) were lost on the way."""
    flow = _flow(facts)
    if flow is None or flow.outcome is not FlowOutcome.STALLED:
        return None
    if flow.lost_server_bytes and not flow.icmp_frag_needed:
        return Match(
            0.8,
            cite(facts, [flow]),
            f"{flow.lost_server_bytes} bytes of the server's flight never arrived (full-size segments) while "
            "a smaller segment after them did, and no ICMP fragmentation-needed came back: large packets "
            "vanish on the path",
        )
    if flow.partial_record is None:
        return None
    have, need = flow.partial_record
    wait = f" in {flow.after_ms / 1000:.1f} s" if flow.after_ms else ""
    if flow.icmp_frag_needed:
        return Match(
            0.3,
            cite(facts, [flow]),
            f"the server's flight stopped inside a record ({have} of {need} bytes), although ICMP "
            "fragmentation-needed did come back",
        )
    return Match(
        0.75,
        cite(facts, [flow]),
        f"the server's flight stopped inside a {need}-byte record ({have} bytes arrived) and nothing more "
        f"came{wait}, with no ICMP fragmentation-needed: its full-size segments were lost on the path",
    )


def cipher_mismatch(facts: Facts) -> Match | None:
    flow = _flow(facts)
    if flow is None or flow.outcome is not FlowOutcome.SERVER_ALERT or flow.version is not None:
        return None
    from tlsdoctor.observations.tls import HandshakeAttempt

    attempt = facts.first(HandshakeAttempt)
    if attempt is None or attempt.alert not in ("handshake_failure", "insufficient_security"):
        return None
    return Match(
        0.75,
        cite(facts, [attempt, flow]),
        f"the server refused the ClientHello with alert {attempt.alert} before choosing anything: no cipher "
        "suite, group or signature algorithm in common",
    )


def _client_alert(facts: Facts, *names: str) -> ClientAlert | None:
    alert = facts.first(ClientAlert)
    return alert if alert is not None and alert.alert in names else None


def protocol_mismatch(facts: Facts) -> Match | None:
    alert, flow = _client_alert(facts, "protocol_version"), _flow(facts)
    if flow is not None and alert is None:
        return _server_refused_versions(facts, flow)
    if alert is None or flow is None:
        return None
    return Match(
        0.8,
        cite(facts, [alert, flow]),
        f"the server chose {flow.version or 'a version'}, which the client refused (alert protocol_version)",
    )


def _server_refused_versions(facts: Facts, flow: CapturedFlow) -> Match | None:
    from tlsdoctor.observations.tls import HandshakeAttempt

    attempt = facts.first(HandshakeAttempt)
    if flow.outcome is not FlowOutcome.SERVER_ALERT or attempt is None or attempt.alert != "protocol_version":
        return None
    offered = f" ({', '.join(flow.offered_versions)})" if flow.offered_versions else ""
    return Match(
        0.8,
        cite(facts, [attempt, flow]),
        f"the server refused every version the ClientHello offered{offered} with alert protocol_version: "
        "no TLS version in common",
    )


def client_tls_policy(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "handshake_failure", "insufficient_security", "illegal_parameter")
    if alert is None:
        return None
    return Match(
        0.55,
        cite(facts, [alert]),
        f"the client refused what the server chose with alert {alert.alert} (its own TLS policy, or a "
        "server breaking the protocol)",
    )


def _chain_says(alert: ClientAlert, *words: str) -> bool:
    return any(w in issue for issue in alert.chain_issues for w in words)


# The alerts a client sends when it rejects the server's certificate; which one depends on the library
# (OpenSSL sends bad_certificate for a notBefore in the future, certificate_expired for a notAfter
# passed, unknown_ca for an unknown issuer), so the chain as sent decides where it can.
_REJECTED = ("bad_certificate", "certificate_unknown", "certificate_expired", "unknown_ca")


def cert_expired(facts: Facts) -> Match | None:
    alert = _client_alert(facts, *_REJECTED)
    if alert is not None and _chain_says(alert, "expired on"):
        return Match(0.9, cite(facts, [alert]), "the client refused the certificate, which had expired")
    alert = _client_alert(facts, "certificate_expired")
    if alert is None or alert.chain:
        return _aborted(facts, 0.3, "the certificate is expired") if alert is None else None
    return Match(0.7, cite(facts, [alert]), "the client refused the server's certificate as expired")


def cert_not_yet_valid(facts: Facts) -> Match | None:
    alert = _client_alert(facts, *_REJECTED)
    if alert is None or not _chain_says(alert, "valid only from"):
        return None
    return Match(0.9, cite(facts, [alert]), "the client refused the certificate: it was not valid yet")


def client_clock_skew(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "certificate_expired")
    if alert is None or not _chain_says(alert, "valid at the capture time"):
        return None
    return Match(
        0.7,
        cite(facts, [alert]),
        "the client called the certificate expired or not yet valid, but it was valid when the capture "
        "was taken: the client's clock is off",
    )


def cert_revoked(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "certificate_revoked")
    return Match(0.85, cite(facts, [alert]), "the client says the certificate is revoked") if alert else None


def cert_untrusted(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "unknown_ca", "bad_certificate", "certificate_unknown")
    if alert is None:
        return _aborted(facts, 0.35, "the client does not trust the certificate")
    if _chain_says(alert, "expired on", "valid only from", "does not cover"):
        return None
    if _chain_says(alert, "only the leaf", "did not sign"):
        return Match(0.45, cite(facts, [alert]), "the client does not trust the chain's issuer")
    if _chain_says(alert, "self-signed"):
        return Match(0.85, cite(facts, [alert]), "the client refused a self-signed certificate")
    if alert.alert == "unknown_ca":
        return Match(0.75, cite(facts, [alert]), "the client does not trust the certificate's issuer")
    return Match(0.45, cite(facts, [alert]), f"the client rejected the certificate ({alert.alert})")


def cert_chain_incomplete(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "unknown_ca", "bad_certificate", "certificate_unknown")
    if alert is None or not _chain_says(alert, "only the leaf", "did not sign"):
        return None
    return Match(
        0.75,
        cite(facts, [alert]),
        "the client could not build a chain: the server sent the leaf without the intermediate that "
        "signed it",
    )


def cert_hostname_mismatch(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "bad_certificate", "certificate_unknown")
    if alert is not None and _chain_says(alert, "does not cover"):
        return Match(
            0.8, cite(facts, [alert]), "the certificate does not cover the name the client asked for"
        )
    return _aborted(facts, 0.3, "the certificate does not cover the name the client asked for")


def cert_weak(facts: Facts) -> Match | None:
    alert = _client_alert(facts, "unsupported_certificate")
    if alert is None:
        return None
    return Match(0.6, cite(facts, [alert]), "the client refused the certificate's key or signature type")


def _aborted(facts: Facts, confidence: float, reading: str) -> Match | None:
    """A client hanging up right after the server's flight, with no visible alert: a certificate the
    client refused is the usual reason, but the capture cannot say which."""
    abort = facts.first(ClientAbort)
    if abort is None:
        return None
    return Match(
        confidence,
        cite(facts, [abort]),
        f"candidate: {reading}; the client hung up right after the server's flight"
        + (" and TLS 1.3 encrypts the certificate and the alert" if abort.tls13 else "")
        + SETTLE,
    )


def client_cert_required(facts: Facts) -> Match | None:
    flow = _flow(facts)
    if flow is None or flow.outcome is not FlowOutcome.SERVER_ALERT or flow.version != "TLSv1.3":
        return None
    from tlsdoctor.observations.tls import HandshakeAttempt

    attempt = facts.first(HandshakeAttempt)
    if attempt is None or attempt.alert is not None:
        return None
    return Match(
        0.45,
        cite(facts, [flow]),
        "candidate: the server sent one encrypted alert right after the client's Finished and hung up, as a "
        "TLS 1.3 server refusing a missing or unacceptable client certificate does" + SETTLE,
    )


def network_unstable(facts: Facts) -> Match | None:
    flow = _flow(facts)
    if flow is None or flow.outcome is FlowOutcome.COMPLETED or facts.first(FlightStall) is not None:
        return None
    both = flow.retransmits_client and flow.retransmits_server
    many = flow.retransmits_client + flow.retransmits_server >= 4
    if not (both or many) or flow.outcome in (FlowOutcome.NO_ANSWER, FlowOutcome.SYN_TIMEOUT):
        return None
    return Match(
        0.5 if both and many else 0.4,
        cite(facts, [flow]),
        f"segments were lost both ways (client retransmitted {flow.retransmits_client}, server "
        f"{flow.retransmits_server})",
    )


def host_unreachable(facts: Facts) -> Match | None:
    icmp = next((i for i in facts.all(FlowIcmp) if i.kind_of == "unreachable"), None)
    flow = _flow(facts)
    if icmp is None or flow is None or flow.outcome is not FlowOutcome.UNREACHABLE:
        return None
    return Match(
        0.9,
        cite(facts, [icmp, flow]),
        f"{icmp.sender} answered the SYN with ICMP unreachable (code {icmp.code})",
    )


READINGS: dict[CauseId, Reading] = {
    CauseId.FIREWALL_RESET: firewall_reset,
    CauseId.SERVER_CLOSED: server_closed,
    CauseId.FIREWALL_DROP: firewall_drop,
    CauseId.PATH_MTU_BLACKHOLE: path_mtu_blackhole,
    CauseId.CIPHER_MISMATCH: cipher_mismatch,
    CauseId.PROTOCOL_MISMATCH: protocol_mismatch,
    CauseId.CLIENT_TLS_POLICY: client_tls_policy,
    CauseId.CERT_EXPIRED: cert_expired,
    CauseId.CERT_NOT_YET_VALID: cert_not_yet_valid,
    CauseId.CLIENT_CLOCK_SKEW: client_clock_skew,
    CauseId.CERT_REVOKED: cert_revoked,
    CauseId.CERT_UNTRUSTED: cert_untrusted,
    CauseId.CERT_CHAIN_INCOMPLETE: cert_chain_incomplete,
    CauseId.CERT_HOSTNAME_MISMATCH: cert_hostname_mismatch,
    CauseId.CERT_WEAK: cert_weak,
    CauseId.CLIENT_CERT_REQUIRED: client_cert_required,
    CauseId.NETWORK_UNSTABLE: network_unstable,
    CauseId.HOST_UNREACHABLE: host_unreachable,
}


def reading(facts: Facts, cause: CauseId) -> Match | None:
    """The capture's word on ``cause``, when it has one."""
    read = READINGS.get(cause)
    return read(facts) if read is not None else None
