"""A finished flow in the common vocabulary: how it ended, and the observations rules judge.

The flow becomes what diagnose's probes would have reported about the same connection (a TcpConnect,
the default client's HandshakeAttempt, a ResetOrigin from the captured TTLs), plus what only a capture
shows (observations/pcap.py). The same RULES then name the cause, so a captured failure and a live one
get the same id, summary and fixes.
"""

from __future__ import annotations

from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.path import ResetOrigin
from tlsdoctor.observations.pcap import (
    CapturedFlow,
    ClientAbort,
    ClientAlert,
    FlightStall,
    FlowIcmp,
    FlowOutcome,
)
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome
from tlsdoctor.pcap.decode import address_text, endpoint_text
from tlsdoctor.pcap.flows import Flow
from tlsdoctor.pcap.stream import seq_diff
from tlsdoctor.pcap.tlsside import ENCRYPTED_ALERT_LEN, SideAlert
from tlsdoctor.wire.codepoints import AlertLevel
from tlsdoctor.wire.handshake import ClientHello
from tlsdoctor.wire.registry import group_name, suite_name, version_name

# A TLS 1.3 alert sealed in a record (tlsside.py): no Finished is this short (its verify_data alone is
# 32 or 48 bytes).
# The client's certificate verdicts on the server's certificate (RFC 8446 §6.2, RFC 5246 §7.2.2).
CERT_ALERTS = frozenset(range(42, 49))
TLS_PORTS = frozenset({443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 1443, 4433, 4443, 5061, 5223,
                       6697, 8443, 8883, 9443, 10443})  # fmt: skip


def is_tls_flow(flow: Flow) -> bool:
    """Whether the flow belongs in the report: a ClientHello was sent, or a connection to a TLS port
    failed before any byte (a refused or unanswered SYN to 443 is a TLS failure)."""
    c = flow.client_tls
    if c.client_hello is not None:
        return True
    return is_bare_connect(flow) and flow.server[1] in TLS_PORTS


def is_bare_connect(flow: Flow) -> bool:
    """A connection attempt that carried no byte: a refused or unanswered SYN, or an empty connection.
    On another port it is reported only when it went to a server TLS flows went to, or when the capture
    holds no TLS at all (analyse.py)."""
    return not flow.c2s.bytes and not flow.s2c.bytes and flow.syn_ts is not None


def _fatal(alerts: list[SideAlert]) -> SideAlert | None:
    """The first alert that ends the handshake: a fatal one, or an encrypted one (its level hidden).
    close_notify and user_canceled (RFC 8446 §6.1) are closes, not refusals."""
    for a in alerts:
        if a.alert is None:
            return a
        if int(a.alert.description) in (0, 90):
            continue
        if a.alert.level == AlertLevel.FATAL:
            return a
    return None


def outcome(flow: Flow) -> FlowOutcome:
    """How the flow ended, from the handshake's point of view."""
    c, s = flow.client_tls, flow.server_tls
    server_resets = [r for r in flow.resets if r.side == "server"]
    if flow.synack_ts is None and not flow.s2c.bytes and c.client_hello is None:
        if server_resets:
            return FlowOutcome.REFUSED
        if any(i.kind == "unreachable" for i in flow.icmp):
            return FlowOutcome.UNREACHABLE
        return FlowOutcome.SYN_TIMEOUT if flow.syn_ts is not None else FlowOutcome.INCOMPLETE
    if c.client_hello is None:
        return FlowOutcome.CLIENT_CLOSED if flow.fins.get("client") or flow.resets else FlowOutcome.INCOMPLETE
    if s.not_tls or s.sslv2:
        return FlowOutcome.NOT_TLS if s.not_tls else FlowOutcome.SERVER_ALERT
    if completed(flow):
        server_alert = _fatal(s.alerts)
        refused = server_alert is not None and server_alert.alert is not None and s.decrypted
        return (
            FlowOutcome.SERVER_ALERT if refused or _rejected_after_finished(flow) else FlowOutcome.COMPLETED
        )
    return _first_end(flow)


def _first_end(flow: Flow) -> FlowOutcome:
    """The handshake's end is whatever came first: an alert, or a side's RST or FIN. A client alert
    after the server hung up only answers the hang-up; a client's own FIN or RST is its giving up,
    which says what it waited for."""
    c, s = flow.client_tls, flow.server_tls
    ends: list[tuple[float, int, FlowOutcome]] = []
    server_alert, client_alert = _fatal(s.alerts), _fatal(c.alerts)
    if server_alert is not None:
        ends.append((server_alert.ts, 0, FlowOutcome.SERVER_ALERT))
    if client_alert is not None:
        kind = FlowOutcome.CLIENT_ALERT if client_alert.alert else FlowOutcome.CLIENT_ABORT
        ends.append((client_alert.ts, 1, kind))
    for r in flow.resets[:1]:
        ends.append((r.ts, 2, FlowOutcome.RESET if r.side == "server" else _gave_up(flow)))
    if "server" in flow.fins:
        ends.append((flow.fins["server"][0], 3, FlowOutcome.SERVER_CLOSED))
    if "client" in flow.fins:
        ends.append((flow.fins["client"][0], 4, _gave_up(flow)))
    if not ends:
        return _gave_up(flow)
    return min(ends)[2]


def _gave_up(flow: Flow) -> FlowOutcome:
    """The client closed (or the capture ended) before any answer decided the handshake."""
    if not flow.s2c.bytes:
        return FlowOutcome.NO_ANSWER
    return FlowOutcome.CLIENT_ABORT if _server_flight_done(flow) else FlowOutcome.STALLED


def completed(flow: Flow) -> bool:
    """Both sides went encrypted past the handshake: TLS <= 1.2 both ChangeCipherSpecs; TLS 1.3 the
    client's first encrypted record is not an alert's size (it is its Finished)."""
    c, s = flow.client_tls, flow.server_tls
    if s.server_hello is None:
        return False
    if not s.tls13:
        return c.ccs_ts is not None and s.ccs_ts is not None
    first = next((r for r in c.records if r.content_type == 23), None)
    return first is not None and first.length != ENCRYPTED_ALERT_LEN


def _rejected_after_finished(flow: Flow) -> bool:
    """TLS 1.3: after the client's Finished the server sent one alert-sized record and hung up, with no
    session ticket or data: how a server refusing the client's certificate looks (RFC 8446 §4.4.2.4:
    certificate_required, bad_certificate...), encrypted."""
    c, s = flow.client_tls, flow.server_tls
    if not s.tls13 or ("server" not in flow.fins and not any(r.side == "server" for r in flow.resets)):
        return False
    finished = next((r.ts for r in c.records if r.content_type == 23), None)
    if finished is None:
        return False
    later = [r for r in s.records if r.content_type == 23 and r.ts >= finished]
    return len(later) == 1 and later[0].length == ENCRYPTED_ALERT_LEN


def _server_flight_done(flow: Flow) -> bool:
    """The server's first flight arrived: it was sent (ServerHelloDone in TLS <= 1.2, encrypted records
    in 1.3) and the client acknowledged all of it (a flight still unacknowledged stalled on the way)."""
    s = flow.server_tls
    sent = s.server_hello is not None and (
        s.last_message == "ServerHelloDone" or s.app_records > 0 or s.ccs_ts is not None
    )
    if not sent:
        return False
    acked, sent_up_to = flow.c2s.acked, flow.s2c.next_seq
    return acked is None or sent_up_to is None or seq_diff(acked, sent_up_to) >= 0


def observations(flow: Flow, result: FlowOutcome) -> list[Observation]:
    """The flow as observations: the common vocabulary first, then what only the capture shows."""
    c, s = flow.client_tls, flow.server_tls
    client, server = endpoint_text(*flow.client), endpoint_text(*flow.server)
    address, port = address_text(flow.server[0]), flow.server[1]
    family = "ipv6" if len(flow.server[0]) == 16 else "ipv4"
    rtt = (flow.synack_ts - flow.syn_ts) * 1000 if flow.synack_ts and flow.syn_ts else None
    ch, sh = c.client_hello, s.server_hello
    out: list[Observation] = []
    connect = _connect_outcome(result)
    unreachable = next((i for i in flow.icmp if i.kind == "unreachable"), None)
    out.append(
        TcpConnect(
            address=address,
            port=port,
            family=family,
            outcome=connect,
            elapsed_ms=round(rtt if rtt is not None else _duration(flow), 1),
            icmp="unreachable" if unreachable and connect is ConnectOutcome.HOST_UNREACHABLE else "",
            icmp_from=address_text(unreachable.sender)
            if unreachable and connect is ConnectOutcome.HOST_UNREACHABLE
            else None,
        )
    )
    end_ts, closed_by, how = _end(flow)
    after, after_ts = _after(flow, end_ts)
    if ch is not None:
        out.append(_attempt(flow, result, address, port, end_ts))
    origin = _reset_origin(flow, address, port)
    if origin is not None:
        out.append(origin)
    post_quantum: tuple[str, ...] = ()
    if ch is not None:
        from tlsdoctor.pcap.tlsside import is_post_quantum

        post_quantum = tuple(group_name(g) for g in ch.supported_groups if is_post_quantum(int(g)))
    out.append(
        CapturedFlow(
            client=client,
            server=server,
            sni=ch.server_name if ch else None,
            outcome=result,
            version=version_name(sh.selected_version) if sh else None,
            cipher=suite_name(sh.cipher_suite) if sh else None,
            hello_bytes=c.client_hello_size,
            offered_versions=offered_versions(ch) if ch else (),
            post_quantum=post_quantum,
            rtt_ms=round(rtt, 1) if rtt is not None else None,
            duration_ms=round(_duration(flow), 1),
            closed_by=closed_by,
            after=after,
            after_ms=round((end_ts - after_ts) * 1000, 1)
            if after_ts is not None and end_ts is not None
            else None,
            retransmits_client=flow.c2s.retransmits,
            retransmits_server=flow.s2c.retransmits,
            dup_acks=flow.c2s.dup_acks + flow.s2c.dup_acks,
            zero_windows=flow.c2s.zero_windows + flow.s2c.zero_windows,
            mss_client=flow.mss.get("client", 0),
            mss_server=flow.mss.get("server", 0),
            gaps=flow.c2s.gaps + flow.s2c.gaps,
            partial_record=s.partial(),
            lost_server_bytes=flow.s2c.lost(flow.c2s.acked),
            icmp_frag_needed=sum(1 for i in flow.icmp if i.kind == "frag-needed"),
        )
    )
    alert = _fatal(c.alerts)
    if result is FlowOutcome.CLIENT_ALERT and alert is not None and alert.alert is not None:
        from tlsdoctor.pcap.chain import chain_issues, chain_lines

        out.append(
            ClientAlert(
                client=client,
                server=server,
                alert=alert.alert.description.name.lower(),
                code=int(alert.alert.description),
                after=_answered(flow, alert.ts),
                chain=chain_lines(s.certificates),
                chain_issues=chain_issues(s.certificates, ch.server_name if ch else None, alert.ts),
            )
        )
    if result is FlowOutcome.CLIENT_ABORT and end_ts is not None:
        out.append(
            ClientAbort(
                client=client,
                server=server,
                how=how,
                after=after or "the server's flight",
                after_ms=round((end_ts - after_ts) * 1000, 1) if after_ts is not None else 0.0,
                tls13=s.tls13,
            )
        )
    stall = _flight_stall(flow)
    if stall is not None:
        out.append(stall)
    for i in flow.icmp[:3]:
        out.append(
            FlowIcmp(kind_of=i.kind, code=i.code, mtu=i.mtu, sender=address_text(i.sender), about=i.about)
        )
    return out


def offered_versions(ch: ClientHello) -> tuple[str, ...]:
    """The versions a ClientHello offers: supported_versions (RFC 8446 §4.2.1), else its legacy_version."""
    from tlsdoctor.wire.codepoints import is_grease

    listed = tuple(version_name(v) for v in ch.supported_versions if not is_grease(v))
    return listed or (version_name(ch.legacy_version),)


def _answered(flow: Flow, ts: float) -> str:
    """What the client's alert at ``ts`` answered: the server's last message before it."""
    seen = flow.server_tls.before(ts)
    return f"the server's {seen[1]}" if seen else "the server's flight"


def _connect_outcome(result: FlowOutcome) -> ConnectOutcome:
    return {
        FlowOutcome.REFUSED: ConnectOutcome.REFUSED,
        FlowOutcome.SYN_TIMEOUT: ConnectOutcome.TIMEOUT,
        FlowOutcome.UNREACHABLE: ConnectOutcome.HOST_UNREACHABLE,
    }.get(result, ConnectOutcome.CONNECTED)


def _duration(flow: Flow) -> float:
    return (flow.last_ts - flow.start_ts) * 1000


def _end(flow: Flow) -> tuple[float | None, str, str]:
    """When and by whom the connection was ended (first FIN or RST), and how."""
    ends = [(t, side, "FIN") for side, (t, _) in flow.fins.items()]
    ends += [(r.ts, r.side, "RST") for r in flow.resets[:1]]
    if not ends:
        return None, "", ""
    t, side, how = min(ends)
    enc = _fatal(flow.client_tls.alerts if side == "client" else flow.server_tls.alerts)
    if enc is not None and enc.alert is None:
        how = "an encrypted alert, then " + how
    return t, side, how


def _after(flow: Flow, end_ts: float | None) -> tuple[str, float | None]:
    """The last handshake message either side sent before the end, and when it was sent."""
    until = end_ts if end_ts is not None else flow.last_ts
    seen = [
        (m[0], f"the {side.role}'s {m[1]}")
        for side in (flow.client_tls, flow.server_tls)
        if (m := side.before(until)) is not None
    ]
    if not seen:
        return "", None
    t, what = max(seen)
    return what, t


def _attempt(
    flow: Flow, result: FlowOutcome, address: str, port: int, end_ts: float | None
) -> HandshakeAttempt:
    """The default client's handshake, as diagnose's handshake check would have reported it."""
    from tlsdoctor.wire.sniff import sniff

    c, s = flow.client_tls, flow.server_tls
    ch, sh = c.client_hello, s.server_hello
    start = c.client_hello_ts or flow.start_ts
    end = end_ts if end_ts is not None else flow.last_ts
    server_alert = _fatal(s.alerts)
    client_alert = _fatal(c.alerts)
    outcome_map = {
        FlowOutcome.COMPLETED: HandshakeOutcome.OK,
        FlowOutcome.SERVER_ALERT: HandshakeOutcome.ALERT,
        FlowOutcome.CLIENT_ALERT: HandshakeOutcome.VERIFY_FAILED
        if client_alert and client_alert.alert and int(client_alert.alert.description) in CERT_ALERTS
        else HandshakeOutcome.LOCAL_REJECT,
        FlowOutcome.CLIENT_ABORT: HandshakeOutcome.ERROR,
        FlowOutcome.RESET: HandshakeOutcome.RESET,
        FlowOutcome.SERVER_CLOSED: HandshakeOutcome.EOF,
        FlowOutcome.NOT_TLS: HandshakeOutcome.NOT_TLS,
        FlowOutcome.STALLED: HandshakeOutcome.TIMEOUT,
        FlowOutcome.NO_ANSWER: HandshakeOutcome.TIMEOUT,
    }
    how = outcome_map.get(result, HandshakeOutcome.ERROR)
    alert_name = None
    if how is HandshakeOutcome.ALERT and server_alert is not None and server_alert.alert is not None:
        alert_name = server_alert.alert.description.name.lower()
    error = ""
    if result is FlowOutcome.CLIENT_ALERT and client_alert and client_alert.alert:
        error = f"the client sent alert {client_alert.alert.description.name.lower()}"
    elif result is FlowOutcome.CLIENT_ABORT:
        error = "the client ended the handshake after the server's flight"
    elif result is FlowOutcome.SERVER_ALERT and server_alert is not None and server_alert.alert is None:
        error = "the server sent an encrypted alert"
    elif result is FlowOutcome.SERVER_ALERT and s.sslv2:
        error = "the server answered in SSL 2.0"
    first = s.first_bytes if result is FlowOutcome.NOT_TLS else b""
    return HandshakeAttempt(
        variant="default",
        address=address,
        port=port,
        servername=ch.server_name if ch else None,
        outcome=how,
        elapsed_ms=round(max(0.0, end - start) * 1000, 1),
        version=version_name(sh.selected_version) if sh else None,
        cipher=suite_name(sh.cipher_suite) if sh else None,
        alert=alert_name,
        error=error,
        bytes_sent=flow.c2s.bytes,
        bytes_received=flow.s2c.bytes,
        first_bytes=first,
        sniffed=sniff(first).protocol if first else None,
        cert_requested=s.cert_request if not s.tls13 or s.decrypted else None,
        client_cert_sent=bool(c.client_certificates),
        after=_answer(s.first_app_bytes) if how is HandshakeOutcome.OK and s.first_app_bytes else None,
        after_bytes=s.first_app_bytes[:2048] if how is HandshakeOutcome.OK else b"",
    )


def _answer(data: bytes) -> str:
    """The label diagnose gives the answer to its request (net/tls.py), for decrypted first bytes."""
    status = data.split(b"\r\n", 1)[0][:80].decode("latin-1")
    return f"http {status[9:]}" if status.startswith("HTTP/") else "non-http answer"


def _reset_origin(flow: Flow, address: str, port: int) -> ResetOrigin | None:
    """Who sent the first RST, from the TTLs: a host answers with one initial TTL, so an RST whose TTL
    none of that side's other packets had was forged on the path (an RST on loopback or from the
    server itself carries the same TTL as its SYN-ACK)."""
    if not flow.resets:
        return None
    rst = flow.resets[0]
    usual = flow.ttls[rst.side]
    if not usual:
        return ResetOrigin(
            address=address,
            port=port,
            verdict="unknown",
            method="capture",
            rst_ttl=rst.ttl,
            note=f"the {rst.side} sent no other packet to compare its TTL with",
        )
    common = max(usual, key=lambda t: usual[t])
    verdict = "server" if rst.ttl in usual else "injected"
    if rst.side == "client":
        verdict = "client" if rst.ttl in usual else "injected"
    return ResetOrigin(
        address=address,
        port=port,
        verdict=verdict,
        method="capture",
        syn_ack_ttl=common,
        rst_ttl=rst.ttl,
        syn_ack_ip_id=flow.ip_ids.get(rst.side),
        rst_ip_id=rst.ip_id,
        rst_after_ms=round((rst.ts - flow.client_tls.client_hello_ts) * 1000, 1)
        if flow.client_tls.client_hello_ts is not None
        else None,
        note="" if rst.side == "server" else "the RST claims to come from the client",
    )


def _flight_stall(flow: Flow) -> FlightStall | None:
    """Full-size segments retransmitted and never acknowledged, server side first."""
    for sender, here, peer in (("server", flow.s2c, flow.c2s), ("client", flow.c2s, flow.s2c)):
        lost = here.unacked_retransmits(peer.acked)
        if not lost:
            continue
        size = max(length for _, length, _, _ in lost)
        mss = flow.mss.get("client" if sender == "server" else "server", 0) or 1460
        if size < 0.75 * mss:
            continue  # small segments dropped are a filter's doing, not an MTU's
        big = [x for x in lost if x[1] == size]
        times = sum(t for _, _, t, _ in big)
        if times < 2:
            continue
        acked_bytes = (peer.acked - (here.isn or 0) - 1) % (1 << 32) if peer.acked is not None else 0
        frag = sum(1 for i in flow.icmp if i.kind == "frag-needed" and i.about == sender)
        return FlightStall(
            sender=sender,
            segment_size=size,
            lost_segments=len(big),
            retransmissions=times,
            smaller_acked=acked_bytes > 0,
            icmp_frag_needed=frag,
            mss=flow.mss.get("client" if sender == "server" else "server", 0),
        )
    return None
