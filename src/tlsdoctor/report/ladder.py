"""Handshake ladder diagrams: what one probe's observations say happened, drawn as inline SVG.

A ladder has one vertical lane per party (client, a middlebox when the diagnosis names one, server)
and one row per message or event, each at the time the probe recorded. Probes record few times: the
TCP connect's duration, and the moment the exchange ended (``elapsed_ms`` after the hello). So the
hello is drawn at the connect time, and everything the server sent is drawn at the end time, which
the caption says; no event is drawn that the observation does not carry. Input is the envelope's
``checks[].data.observations`` (report/envelope.py, the one serializer), so a saved JSON report
draws the same ladders.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tlsdoctor.inference.causes import CauseId, info
from tlsdoctor.report.escape import escape_controls

CLIENT, MIDDLEBOX, SERVER = "client", "middlebox", "server"
#: Causes whose RSTs (or drops) the diagnosis attributes to a box on the path, not to the server.
INJECTING = frozenset({"firewall-reset", "firewall-drop", "sni-filtered", "clienthello-too-large"})


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One row: a message from one lane to another, or an event on one lane (``dst`` is None)."""

    t_ms: float | None
    src: str
    dst: str | None
    label: str
    mark: str = ""  # "" | "rst" | "alert" | "fin" | "fail" | "ok"


@dataclasses.dataclass(frozen=True, slots=True)
class Ladder:
    """One probe's ladder: a title, its lanes left to right, its steps top to bottom, a caption."""

    title: str
    lanes: tuple[str, ...]
    steps: tuple[Step, ...]
    caption: str
    failed: bool


def middlebox_cause(causes: Sequence[Mapping[str, Any]]) -> str | None:
    """The diagnosed cause (top cause, or any at >= 50 %) whose layer is a middlebox, if any."""
    for rank, cause in enumerate(causes):
        try:
            layer = info(CauseId(cause["id"])).layer
        except ValueError:
            continue
        if "middlebox" in layer and (rank == 0 or cause.get("confidence", 0) >= 0.5):
            return str(cause["id"])
    return None


def _connect_steps(c: Mapping[str, Any], last: str) -> Iterator[Step]:
    """The TCP connect: SYN at 0, its answer at the connect's duration."""
    t = float(c.get("elapsed_ms") or 0.0)
    yield Step(0.0, CLIENT, last, "SYN (TCP connect)")
    outcome = c.get("outcome")
    err = f" {c['errno_name']}" if c.get("errno_name") else ""
    if outcome == "connected":
        yield Step(t, last, CLIENT, "SYN-ACK: connected", "ok")
    elif outcome == "refused":
        yield Step(t, last, CLIENT, f"RST: connection refused{err}", "rst")
    elif outcome == "reset":
        yield Step(t, last, CLIENT, f"RST{err}", "rst")
    elif c.get("icmp"):
        yield Step(t, last, CLIENT, f"ICMP {c['icmp']} from {c.get('icmp_from') or '?'}", "fail")
    elif outcome == "timeout":
        yield Step(t, CLIENT, None, "no SYN-ACK: connect timed out", "fail")
    else:
        yield Step(t, CLIENT, None, f"connect failed: {outcome}{err}", "fail")


class _Drawer:
    """Turns observations into steps, knowing which lane answers and which lane resets."""

    def __init__(self, mbox: str | None) -> None:
        self.mbox = mbox
        self.lanes = (CLIENT, MIDDLEBOX, SERVER) if mbox else (CLIENT, SERVER)
        self.resetter = MIDDLEBOX if mbox in INJECTING else SERVER
        self.answerer = MIDDLEBOX if mbox == "tls-interception" else SERVER

    def handshake(self, h: Mapping[str, Any], connect: Mapping[str, Any] | None) -> Ladder:
        steps = list(_connect_steps(connect, SERVER)) if connect else []
        t0 = float(connect.get("elapsed_ms") or 0.0) if connect else 0.0
        end = t0 + float(h.get("elapsed_ms") or 0.0)
        outcome = h.get("outcome")
        n_in, srv = int(h.get("bytes_received") or 0), self.answerer
        if outcome != "connect-failed":
            steps.append(Step(t0, CLIENT, SERVER, f"ClientHello (SNI {h.get('servername') or 'none'})"))
        suite = " ".join(str(x) for x in (h.get("version"), h.get("cipher")) if x)
        match outcome:
            case "ok":
                steps.append(Step(end, srv, CLIENT, f"ServerHello {suite}, certificate ({n_in} B)"))
                steps.append(Step(end, CLIENT, None, "handshake complete", "ok"))
                if h.get("after"):
                    mark = "fail" if str(h["after"]).startswith(("closed", "alert", "reset")) else ""
                    steps.append(Step(None, srv, CLIENT, f"then: {h['after']}", mark))
            case "alert":
                steps.append(Step(end, srv, CLIENT, f"fatal alert {h.get('alert')}", "alert"))
            case "verify-failed":
                hello = f"ServerHello {suite}" if suite else "ServerHello"
                steps.append(Step(end, srv, CLIENT, f"{hello}, certificate ({n_in} B)"))
                why = h.get("verify_message") or h.get("error") or "verify failed"
                steps.append(Step(end, CLIENT, None, f"client rejects the certificate: {why}", "fail"))
            case "local-reject":
                steps.append(Step(end, srv, CLIENT, f"server's answer ({n_in} B)"))
                why = h.get("violation") or h.get("error")
                steps.append(Step(end, CLIENT, None, f"client refuses: {why}", "fail"))
            case "connect-failed":
                steps.append(Step(end, CLIENT, None, f"TCP connect failed: {h.get('error')}", "fail"))
            case _:
                steps.extend(self._transport_end(outcome, end, n_in, h))
        title = f"handshake [{h.get('variant')}] {h.get('address')}:{h.get('port')}"
        sent = f"{h.get('bytes_sent') or 0} B sent, {n_in} B received in all"
        return self._ladder(title, steps, sent, failed=outcome != "ok")

    def hello(self, p: Mapping[str, Any]) -> Ladder:
        t0 = float(p.get("connect_ms") or 0.0)
        end = t0 + float(p.get("elapsed_ms") or 0.0)
        steps = [Step(0.0, CLIENT, SERVER, "SYN (TCP connect)")]
        result, n_in, srv = p.get("end"), int(p.get("bytes_received") or 0), self.answerer
        if result == "connect-failed":
            steps.append(
                Step(end, CLIENT, None, f"TCP connect failed {p.get('error') or ''}".strip(), "fail")
            )
            return self._ladder(f"hello [{p.get('probe')}]", steps, "", failed=True)
        steps.append(Step(t0, SERVER, CLIENT, "SYN-ACK: connected", "ok"))
        sni = p.get("sni") or "none"
        what = "HTTP request" if p.get("shape") == "http" else "ClientHello"
        steps.append(Step(t0, CLIENT, SERVER, f"{what} {p.get('hello_bytes')} B (SNI {sni})"))
        suite = " ".join(str(x) for x in (p.get("version"), p.get("cipher")) if x)
        match result:
            case "server-hello":
                steps.append(Step(end, srv, CLIENT, f"ServerHello {suite} ({n_in} B)", "ok"))
            case "hello-retry":
                steps.append(Step(end, srv, CLIENT, "HelloRetryRequest", "ok"))
            case "alert":
                steps.append(Step(end, srv, CLIENT, f"fatal alert {p.get('alert')}", "alert"))
            case "sslv2":
                steps.append(Step(end, srv, CLIENT, f"SSLv2 answer ({n_in} B)"))
            case "broken":
                steps.append(Step(end, srv, CLIENT, f"unreadable TLS framing ({n_in} B)", "fail"))
            case "error":
                steps.append(Step(end, CLIENT, None, f"local error: {p.get('error')}", "fail"))
            case _:
                steps.extend(self._transport_end(result, end, n_in, p))
        title = f"hello [{p.get('probe')}] {p.get('address')}:{p.get('port')}"
        return self._ladder(title, steps, "", failed=result not in ("server-hello", "hello-retry", "alert"))

    def idle(self, i: Mapping[str, Any]) -> Ladder:
        """``--idle``: the quiet connection after a handshake, times from the handshake's end."""
        steps = [Step(0.0, CLIENT, None, f"handshake done; held quiet up to {i.get('limit_s')} s", "ok")]
        if i.get("response") is not None:
            steps.append(Step(None, CLIENT, SERVER, "one keep-alive request"))
            steps.append(Step(None, SERVER, CLIENT, f"answer: {i['response']}"))
        ends = [
            ("close_notify_ms", SERVER, "close_notify alert (graceful close)", "fin"),
            ("fin_ms", SERVER, "FIN", "fin"),
            ("reset_ms", self.resetter, "RST", "rst"),
        ]
        if i.get("alert") is not None:
            ends.append(("ended_ms", SERVER, f"alert {i['alert']}", "alert"))
        closes = [
            Step(float(i[key]), src, CLIENT, label, mark)
            for key, src, label, mark in ends
            if i.get(key) is not None
        ]
        steps.extend(sorted(closes, key=lambda step: step.t_ms or 0.0))
        if i.get("ending") == "open":
            steps.append(
                Step(float(i.get("ended_ms") or 0), CLIENT, None, "still open when the hold ended", "ok")
            )
        if i.get("write_error"):
            at = i.get("write_ms")
            t = None if at is None else float(at)
            steps.append(Step(t, CLIENT, SERVER, f"application write #{i.get('writes')}"))
            steps.append(Step(t, CLIENT, None, f"the write fails: {i['write_error']}", "fail"))
        elif i.get("writes"):
            steps.append(Step(None, CLIENT, SERVER, f"{i['writes']} write(s) accepted after the close"))
        closed = i.get("ending") not in ("open", "error")
        title = f"idle hold {i.get('address')}:{i.get('port')}"
        return self._ladder(title, steps, "times from the end of the handshake", failed=closed)

    def connect(self, c: Mapping[str, Any]) -> Ladder:
        steps = list(_connect_steps(c, SERVER))
        return self._ladder(f"TCP connect {c.get('address')}:{c.get('port')}", steps, "", failed=True)

    def _transport_end(self, how: Any, end: float, n_in: int, o: Mapping[str, Any]) -> Iterator[Step]:
        """FIN, RST, silence or another protocol: how the transport ended the exchange."""
        if how in ("eof", "reset") and o.get("version"):
            yield Step(end, self.answerer, CLIENT, f"handshake completed {o.get('version')}")
        elif how in ("eof", "reset") and n_in:
            yield Step(end, self.answerer, CLIENT, f"{n_in} B of the server's answer")
        if how == "eof":
            yield Step(end, SERVER, CLIENT, "FIN (closed, no alert)", "fin")
        elif how == "reset":
            yield Step(end, self.resetter, CLIENT, "RST (connection reset)", "rst")
        elif how == "timeout":
            yield Step(end, CLIENT, None, f"no answer: timed out ({n_in} B received)", "fail")
        elif how == "not-tls":
            proto = f" ({o['sniffed']})" if o.get("sniffed") else ""
            yield Step(end, SERVER, CLIENT, f"not TLS{proto}: {_preview(o.get('first_bytes'))}", "fail")
        else:
            yield Step(end, CLIENT, None, f"{how}: {o.get('error') or ''}".rstrip(": "), "fail")

    def _ladder(self, title: str, steps: list[Step], caption: str, *, failed: bool) -> Ladder:
        return Ladder(title, self.lanes, tuple(steps), caption, failed)


def _preview(hexed: Any) -> str:
    """The envelope writes bytes as hex; show them as text when printable."""
    try:
        raw = bytes.fromhex(str(hexed or ""))[:48]
    except ValueError:
        return str(hexed)[:96]
    text = raw.decode("latin-1")
    return repr(text) if text.isprintable() or "\r" in text or "\n" in text else raw.hex(" ")


def ladders(report: Mapping[str, Any]) -> list[Ladder]:
    """Every probe's ladder in the report's envelope data: handshakes, hello probes, idle holds and
    failed connects."""
    drawer = _Drawer(middlebox_cause(report.get("causes") or []))
    out: list[Ladder] = []
    for check in report.get("checks") or []:
        observations = (check.get("data") or {}).get("observations") or []
        connect: Mapping[str, Any] | None = None
        drew = False
        for o in observations:
            kind = o.get("kind")
            if kind == "tcp-connect" and o.get("role", "target") == "target":
                connect = o
            elif kind == "handshake":
                out.append(drawer.handshake(o, connect))
                drew = True
            elif kind == "hello-probe":
                out.append(drawer.hello(o))
                drew = True
            elif kind == "idle-hold":
                out.append(drawer.idle(o))
                drew = True
        if not drew and connect is not None and connect.get("outcome") != "connected":
            out.append(drawer.connect(connect))
    return out


# --- SVG ---------------------------------------------------------------------------------------------

_W, _TOP, _ROW, _LEFT, _RIGHT = 640, 44, 30, 76, 20
_COLOURS = {
    "rst": "var(--bad)",
    "alert": "var(--bad)",
    "fail": "var(--warn)",
    "fin": "var(--warn)",
    "ok": "var(--ok)",
}


def text(value: object) -> str:
    """Peer text for HTML or SVG: control characters made visible, then markup-escaped."""
    return html.escape(escape_controls(value), quote=True)


def _fit(label: str, limit: int) -> str:
    """Long peer text is cut to fit the drawing; the full text is the element's tooltip."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _ms(t: float | None) -> str:
    return "" if t is None else f"{t:.1f} ms" if t < 100 else f"{t:.0f} ms"


def svg(ladder: Ladder) -> str:
    """The ladder as one standalone ``<svg>`` element (well-formed XML; scales to its container)."""
    lanes = ladder.lanes
    span = (_W - _LEFT - _RIGHT) / max(len(lanes) - 1, 1)
    x = {lane: _LEFT + i * span for i, lane in enumerate(lanes)}
    height = _TOP + _ROW * len(ladder.steps) + 16
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" role="img" class="ladder"'
        f' aria-label="{text(ladder.title)}">'
    ]
    for lane in lanes:
        out.append(
            f'<g class="lane" data-lane="{lane}"><text x="{x[lane]:.0f}" y="16" text-anchor="middle"'
            f' class="lane-name">{lane}</text><line x1="{x[lane]:.0f}" y1="24" x2="{x[lane]:.0f}"'
            f' y2="{height - 6}" class="lane-line"/></g>'
        )
    for i, step in enumerate(ladder.steps):
        y = _TOP + _ROW * i + 14
        colour = _COLOURS.get(step.mark, "var(--fg)")
        out.append(f'<g class="step {step.mark}" data-mark="{step.mark}"><title>{text(step.label)}</title>')
        out.append(f'<text x="4" y="{y + 4}" class="t">{_ms(step.t_ms)}</text>')
        sx = x.get(step.src, x[lanes[0]])
        if step.dst is None:
            out.append(f'<circle cx="{sx:.0f}" cy="{y}" r="5" fill="{colour}"/>')
            anchor, lx = ("start", sx + 10) if sx < _W / 2 else ("end", sx - 10)
            out.append(
                f'<text x="{lx:.0f}" y="{y + 4}" text-anchor="{anchor}" class="lbl"'
                f' fill="{colour}">{text(_fit(step.label, 60))}</text>'
            )
        else:
            dx = x.get(step.dst, x[lanes[-1]])
            head = -8 if dx > sx else 8
            dash = ' stroke-dasharray="5 3"' if step.mark in ("fin",) else ""
            out.append(
                f'<line x1="{sx:.0f}" y1="{y}" x2="{dx:.0f}" y2="{y}" stroke="{colour}"'
                f' stroke-width="{2.5 if step.mark in ("rst", "alert") else 1.5}"{dash}/>'
                f'<polygon points="{dx:.0f},{y} {dx + head:.0f},{y - 4} {dx + head:.0f},{y + 4}"'
                f' fill="{colour}"/>'
            )
            if step.mark in ("rst", "alert"):
                out.append(
                    f'<text x="{sx:.0f}" y="{y + 5}" text-anchor="middle" class="x" fill="{colour}">✖</text>'
                )
            out.append(
                f'<text x="{(sx + dx) / 2:.0f}" y="{y - 5}" text-anchor="middle" class="lbl"'
                f' fill="{colour}">{text(_fit(step.label, 72))}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
