"""``pcap --keylog``: fill in, on a captured flow, what encryption hid, before the flow is judged.

The flow's two sides kept their records (pcap/tlsside.py); pcap/decrypt.py opens them with the key
log's secrets. What comes out is written back where the capture would have put it had it been
visible: the server's certificate chain, a CertificateRequest, the client's Certificate, each
decrypted alert in its side's alerts, the first application bytes. So classify.py and the same
rules read a decrypted TLS 1.3 flow exactly as they read a TLS 1.2 one in clear: a client's
bad_certificate with the chain that earned it, a server's certificate_required, an HTTP 400 about
a missing client certificate. One :class:`DecryptedHandshake` observation says what decryption
did for the flow (or why it could not: no line for this client random, a CBC suite...).
"""

from __future__ import annotations

import bisect
from collections import Counter
from pathlib import Path

from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.capture import DecryptedHandshake
from tlsdoctor.pcap.decrypt import (
    AppData,
    CertificateRequested,
    Certificates,
    DecryptedAlert,
    DecryptState,
    Event,
    FlowDecryptor,
    HandshakeSeen,
    Side,
    Undecryptable,
)
from tlsdoctor.pcap.flows import Flow
from tlsdoctor.pcap.keylog import KeyLog, read_keylog
from tlsdoctor.pcap.tlsside import MAX_HISTORY, SideAlert, TlsRecord, TlsSide, describe_certificates
from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.records import Alert, Record

__all__ = ["CHECK_ID", "KeyLogDecrypter"]

CHECK_ID = "pcap.keylog"
# TLS 1.3 records carry legacy_record_version 0x0303 (RFC 8446 §5.1); so do TLS 1.2's: the record
# header is part of the AEAD's additional data and the flow kept only the fragments.
_RECORD_VERSION = ProtocolVersion.TLS1_2


class KeyLogDecrypter:
    """The ``decrypt`` hook of pcap/analyse.py, with one key log for the whole capture."""

    def __init__(self, keylog: KeyLog, source: str = "") -> None:
        self.keylog = keylog
        self.source = source
        self.tally: Counter[str] = Counter()  # flows by what decryption did

    @classmethod
    def from_file(cls, path: Path) -> KeyLogDecrypter:
        return cls(read_keylog(path), str(path))

    def __call__(self, flow: Flow) -> list[Observation]:
        c, s = flow.client_tls, flow.server_tls
        if (
            c.client_hello is None
            or s.server_hello is None
            or (c.encrypted_ts is None and s.encrypted_ts is None)
        ):
            return []  # nothing was encrypted: nothing is hidden
        ch, sh, hello_ts = c.client_hello, s.server_hello, s.server_hello_ts or flow.start_ts
        early = [r for r in c.records if r.content_type == ContentType.APPLICATION_DATA and r.ts < hello_ts]
        dec = FlowDecryptor(self.keylog)
        failures: list[str] = []
        revealed: list[str] = []
        sealed = [_record(r) for r in early]
        for event in dec.begin(ch.random, sh.selected_version, sh.cipher_suite, sh.random, sealed):
            self._apply(flow, c, early[0].ts, event, failures, revealed)  # the client's 0-RTT data
        records = sorted(
            [(r.ts, 0, i, Side.CLIENT, r) for i, r in enumerate(c.records) if r.ts >= hello_ts]
            + [(r.ts, 1, i, Side.SERVER, r) for i, r in enumerate(s.records) if r.ts >= hello_ts]
        )
        for ts, _, _, side, r in records:
            for event in dec.feed(side, _record(r)):
                who = getattr(event, "side", Side.SERVER)  # a CertificateRequest is the server's
                self._apply(flow, c if who is Side.CLIENT else s, ts, event, failures, revealed)
        flow.events.sort(key=lambda e: e.ts)  # the decrypted messages where they happened (a stable sort)
        decrypted = dec.state is DecryptState.DECRYPTING and bool(revealed)
        c.decrypted = s.decrypted = decrypted
        self.tally["decrypted" if decrypted else "not decrypted"] += 1
        return [
            DecryptedHandshake(
                state="decrypted" if decrypted else dec.describe(),
                decrypted=decrypted,
                labels=dec.secrets.labels if dec.secrets is not None else (),
                revealed=tuple(revealed[:8]),
                failures=tuple(failures),
            )
        ]

    def _apply(
        self, flow: Flow, side: TlsSide, ts: float, event: Event, failures: list[str], revealed: list[str]
    ) -> None:
        role = side.role
        match event:
            case HandshakeSeen(msg_type=msg_type, length=length):
                name = msg_type.name.replace("_", " ").title().replace(" ", "")
                if msg_type != HandshakeType.CERTIFICATE:  # its own event says more
                    flow.note(ts, role, f"decrypted {name} ({length} bytes)")
                _seen(side, name, ts)
                if not revealed:
                    revealed.append(f"the {role}'s {name}")
            case Certificates(side=Side.SERVER, chain=chain):
                if not side.certificates:
                    side.certificates, side.certificates_ts = chain, ts
                flow.note(ts, role, "decrypted " + describe_certificates(chain))
                revealed.append(f"the server's certificate chain ({len(chain)})")
            case Certificates(chain=chain):
                side.client_certificates = len(chain)
                flow.note(ts, role, f"decrypted Certificate ({len(chain)} certificate(s): the client's own)")
                revealed.append(f"the client's Certificate ({len(chain)} certificate(s))")
            case CertificateRequested():
                side.cert_request = True
                revealed.append("the server's CertificateRequest")
            case DecryptedAlert(alert=alert):
                _alert(side, ts, alert)
                what = f"alert {alert.level.name.lower()} {alert.description.name.lower()}"
                flow.note(ts, role, f"decrypted {what} ({int(alert.description)})")
                _seen(side, f"alert {alert.description.name.lower()}", ts)
                revealed.append(f"the {role}'s {what}")
            case AppData(data=data):
                if not side.first_app_bytes:
                    from tlsdoctor.observations.tls import preview

                    flow.note(ts, role, f"decrypted application data: {preview(data)}")
                    revealed.append(f"the {role}'s first bytes: {preview(data, 40)}")
                side.first_app_bytes += data
            case Undecryptable(reason=reason):
                failures.append(f"{role}: {reason}")
                flow.note(ts, role, f"not decrypted: {reason}")

    def check(self) -> CheckResult:
        """What the key log did for the capture, as a check of the pcap report."""
        done = ", ".join(f"{what} {n}" for what, n in self.tally.most_common()) or "no encrypted flow"
        summary = f"key log {self.source}: {self.keylog.describe()}; flows: {done}"
        status = Status.PASS if self.tally["decrypted"] or not self.tally else Status.WARN
        return CheckResult(id=CHECK_ID, status=status, summary=summary)


def _record(r: TlsRecord) -> Record:
    return Record(ContentType(r.content_type), _RECORD_VERSION, r.payload, 0)


def _alert(side: TlsSide, ts: float, alert: Alert) -> None:
    """Put a decrypted alert where a clear one would be: over its sealed TLS 1.2 record (content type
    alert, level and description hidden), else (TLS 1.3 seals it as application data) at its time."""
    for i, known in enumerate(side.alerts):
        if known.ts == ts and known.alert is None:
            side.alerts[i] = SideAlert(ts, alert, known.length)
            return
    at = bisect.bisect_right([a.ts for a in side.alerts], ts)
    side.alerts.insert(at, SideAlert(ts, alert, 2))


def _seen(side: TlsSide, what: str, ts: float) -> None:
    """Record a decrypted message in the side's history, in time order, for "after which message"."""
    if len(side.history) < MAX_HISTORY:
        at = bisect.bisect_right([t for t, _ in side.history], ts)
        side.history.insert(at, (ts, what))
    if side.last_message_ts is None or ts >= side.last_message_ts:
        side.last_message, side.last_message_ts = what, ts
