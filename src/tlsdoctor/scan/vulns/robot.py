"""ROBOT (Böck, Somorovsky, Young 2017): a server whose answers to RSA key exchanges depend on
whether the PKCS #1 v1.5 padding was right is a Bleichenbacher oracle: with enough queries an
attacker decrypts recorded sessions or signs with the server's key.

Five ClientKeyExchange messages, each on its own connection, encrypt (under the server's own
public key) a 48-byte premaster secret with correct padding, then padding wrong in the four
standard ways of the ROBOT paper (and of robot-detect, sslyze, testssl.sh); each is followed by
ChangeCipherSpec and a Finished the server cannot verify. A server with no oracle answers all
five the same way. Different answers are asked once more, and the oracle is reported only when
the second round says the same, so one lost packet cannot make a finding.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tlsdoctor.scan.extras import best_legacy
from tlsdoctor.scan.vulns.base import Vulnerability, clean, found, unknown
from tlsdoctor.scan.vulns.link import Link, client_hello, exchange, reply
from tlsdoctor.wire.codepoints import ContentType, HandshakeType, ProtocolVersion
from tlsdoctor.wire.handshake import build_handshake
from tlsdoctor.wire.records import build_records
from tlsdoctor.wire.registry import SUITES, SuiteFlag, version_name

if TYPE_CHECKING:
    from tlsdoctor.scan.probe import ProbeResult
    from tlsdoctor.scan.prober import Prober

V = ProtocolVersion
# RSA key transport suites, AES-GCM first: some servers leak only on those (sslyze's order).
GCM_FIRST = (0x009C, 0x009D)
RSA_SUITES: tuple[int, ...] = (*GCM_FIRST, *(
    s.code for s in SUITES.values()
    if s.kx == "RSA" and s.auth == "RSA" and SuiteFlag.EXPORT not in s.flags and s.code not in GCM_FIRST
))  # fmt: skip
PMS = bytes.fromhex(
    "aa112233445566778899112233445566778899112233445566778899112233445566778899112233445566778899"
)
QUERIES = ("correct padding", "wrong first two bytes", "0x00 in the wrong place", "no 0x00 separator",
           "wrong version in the premaster secret")  # fmt: skip
FINISHED = bytes(range(0x50))  # 80 bytes the server cannot authenticate: the handshake fails either way


def padded(query: int, size: int, version: int) -> bytes:
    """The plaintext of query ``query`` for a modulus of ``size`` bytes (RFC 8017 §7.2.1 layout:
    00 02 nonzero-padding 00 version(2) random(46), then its four corruptions)."""
    pad = (b"\xab\xcd" * size)[: size - 3 - len(PMS) - 2]
    ver = version.to_bytes(2, "big")
    body = {
        0: b"\x00\x02" + pad + b"\x00" + ver + PMS,
        1: b"\x41\x17" + pad + b"\x00" + ver + PMS,
        2: b"\x00\x02" + pad + b"\x11" + PMS + b"\x00\x11",  # separator moved: wrong PMS length
        3: b"\x00\x02" + pad + b"\x11\x11\x11" + PMS,  # no separator at all
        4: b"\x00\x02" + pad + b"\x00\x02\x02" + PMS,  # version 0x0202
    }[query]
    return body[:size].ljust(size, b"\x00")


def _key(chain: tuple[bytes, ...]) -> RSAPublicKey | None:
    if not chain:
        return None
    from cryptography import x509  # only a server with RSA key exchange needs it parsed here

    try:
        key = x509.load_der_x509_certificate(chain[0]).public_key()
    except ValueError:
        return None
    return key if isinstance(key, RSAPublicKey) else None


async def run(prober: Prober, supported: dict[ProtocolVersion, ProbeResult]) -> Vulnerability:
    v = best_legacy(supported)
    if v is None:
        if V.TLS1_3 in supported:
            return clean("robot", "the server speaks only TLS 1.3, which has no RSA key exchange")
        return unknown("robot", "no TLS version answered the scan's version probes")
    first = await asyncio.gather(*(_query(prober, v, q) for q in range(len(QUERIES))))
    if any(a.startswith("!") for a in first):
        return _no_oracle_test(first)
    if len(set(first)) == 1:
        return clean("robot", f"all five ROBOT queries at {version_name(v)} got the same answer: {first[0]}")
    again = await asyncio.gather(*(_query(prober, v, q) for q in range(len(QUERIES))))
    if again != first:
        pairs = "; ".join(f"{q}: {a} / {b}" for q, a, b in zip(QUERIES, first, again, strict=True))
        return unknown("robot", f"the answers changed between two rounds, no conclusion: {pairs}")
    answers = "; ".join(f"{q}: {a}" for q, a in zip(QUERIES, first, strict=True))
    strong = len({first[1], first[2], first[3]}) > 1  # robot-detect's rule, as sslyze has it
    kind = "a strong oracle" if strong else "a weak oracle (only well-formed padding tells)"
    return found("robot", f"the server answers differently by padding, twice alike ({answers}): {kind}",
                 None if strong else "medium")  # fmt: skip


def _no_oracle_test(answers: list[str]) -> Vulnerability:
    """Every query ends before its key exchange (marked '!'): no RSA key transport, or no flight."""
    why = next(a[1:] for a in answers if a.startswith("!"))
    if why.startswith("RSA key exchange refused"):
        return clean("robot", why)
    return unknown("robot", why)


async def _query(prober: Prober, version: ProtocolVersion, query: int) -> str:
    hello, message, _ = client_hello(version, RSA_SUITES, sni=prober.target.servername)

    async def talk(link: Link) -> str:
        flight = await link.flight(hello, message)
        sh = flight.server_hello
        if sh is None or not flight.done:
            if flight.alert or flight.end in ("closed", "reset"):
                return f"!RSA key exchange refused: to an RSA-only hello, {flight.describe()}"
            return f"!no ROBOT query sent: {flight.describe()}"
        info = SUITES.get(int(sh.cipher_suite))
        if info is None or info.kx != "RSA":
            return "!RSA key exchange refused: the server chose a suite that is not RSA key transport"
        key = _key(flight.certificates)
        if key is None:
            return "!no ROBOT query sent: the certificate holds no RSA key"
        numbers = key.public_numbers()
        size = (numbers.n.bit_length() + 7) // 8
        m = int.from_bytes(padded(query, size, version), "big")
        c = pow(m, numbers.e, numbers.n).to_bytes(size, "big")
        v = sh.selected_version
        body = c if v == V.SSL3 else len(c).to_bytes(2, "big") + c  # RFC 5246 §7.4.7.1
        out = build_records(
            ContentType.HANDSHAKE, v, build_handshake(HandshakeType.CLIENT_KEY_EXCHANGE, body)
        )
        out += build_records(ContentType.CHANGE_CIPHER_SPEC, v, b"\x01")
        out += build_records(ContentType.HANDSHAKE, v, FINISHED)
        if not await link.send(out):
            return link.end
        return await reply(link)

    answer = await exchange(prober, talk)
    return answer if isinstance(answer, str) else f"!no ROBOT query sent: {answer.why}"
