"""What a client would get from a server, judged from the server's answer to its replayed hello.

Pure: the probe's answer (ServerHello or HelloRetryRequest, alert, key exchange, leaf certificate)
and, when a scan knows it, what the server supports, go in; the negotiated parameters or the reason
the client would fail come out. The client's own limits (largest DH group Java 8 can use, SHA-1
refused, minimum key sizes) are applied here, because a server that answers the hello can still
lose the client one step later.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import NamedTuple

from tlsdoctor.clientsim.profiles import ClientProfile
from tlsdoctor.wire.codepoints import AlertDescription
from tlsdoctor.wire.handshake import ServerHello
from tlsdoctor.wire.records import Alert
from tlsdoctor.wire.registry import group_name, suite_name, version_name
from tlsdoctor.wire.server_messages import ServerKeyExchange

__all__ = ["Failure", "Leaf", "Negotiated", "Outcome", "ServerSupport", "judge"]


class Leaf(NamedTuple):
    """What a client's limits look at in the server's certificate: the key and the signature hash,
    as certs/info.py describes them (``CertificateInfo``), so judging needs no certificate parser."""

    key_type: str  # "RSA", "EC", "Ed25519", ...
    key_bits: int
    signature_hash: str | None  # "sha256", "sha1", ...


class Failure(enum.Enum):
    """Why the client would not connect, in the terms of the cause table."""

    NO_COMMON_VERSION = "protocol"  # -> protocol-mismatch
    NO_COMMON_CIPHER = "cipher"  # no suite, group or signature scheme in common -> cipher-mismatch
    POLICY = "policy"  # the server answered, the client's own limits refuse it -> client-tls-policy
    TRUST = "trust"  # the client's own trust store lacks the chain's root -> client-ca-store
    REFUSED = "refused"  # another fatal alert
    TRANSPORT = "transport"  # closed, reset, silent, not TLS: not a question of the hello's content


@dataclasses.dataclass(frozen=True, slots=True)
class Negotiated:
    version: str
    cipher_suite: str
    group: str | None  # ECDHE/TLS 1.3 group, or "DH 2048" for finite-field DHE; None for RSA kx
    after_retry: bool = False  # TLS 1.3: the server asked for another key share (HRR) first

    def to_dict(self) -> dict[str, str | None]:
        return {"version": self.version, "cipher_suite": self.cipher_suite, "group": self.group}


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    client: str
    label: str
    negotiated: Negotiated | None  # what the server chose, also when the client would then refuse it
    failure: str | None  # None: the client would connect
    kind: Failure | None = None

    @property
    def connects(self) -> bool:
        return self.failure is None


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSupport:
    """What the server was found to accept, to name why a refusal happened: a scan asks every
    version (``asked`` None); ``diagnose --client`` asks only the client's own versions."""

    versions: frozenset[int]  # accepted (with every suite, group and scheme offered)
    suites: frozenset[int] = frozenset()  # accepted at any version (empty: not known)
    groups: frozenset[int] = frozenset()
    asked: frozenset[int] | None = None  # the versions tried; None: all of them


_CIPHER_ALERTS = frozenset({AlertDescription.HANDSHAKE_FAILURE, AlertDescription.INSUFFICIENT_SECURITY})


def judge(
    profile: ClientProfile,
    *,
    end: str,
    server_hello: ServerHello | None,
    hrr: ServerHello | None = None,
    alert: Alert | None = None,
    key_exchange: ServerKeyExchange | None = None,
    leaf: Leaf | None = None,
    support: ServerSupport | None = None,
    detail: str = "",
) -> Outcome:
    """The outcome of ``profile``'s hello, from how its probe ended."""

    def out(negotiated: Negotiated | None, failure: str | None, kind: Failure | None = None) -> Outcome:
        return Outcome(profile.name, profile.label, negotiated, failure, kind)

    chosen = server_hello or hrr
    if chosen is None:
        kind, why = _refusal(profile, end, alert, support, detail)
        return out(None, why, kind)
    version = int(chosen.selected_version)
    negotiated = Negotiated(
        version=version_name(version),
        cipher_suite=suite_name(int(chosen.cipher_suite)),
        group=_group(chosen, key_exchange),
        after_retry=server_hello is None and hrr is not None,
    )
    if version not in profile.versions:
        return out(
            negotiated,
            f"the server chose {negotiated.version}, which the client did not offer",
            Failure.NO_COMMON_VERSION,
        )
    if int(chosen.cipher_suite) not in profile.cipher_suites:
        return out(
            negotiated,
            f"the server chose {negotiated.cipher_suite}, which the client did not offer",
            Failure.NO_COMMON_CIPHER,
        )
    if hrr is not None and server_hello is None:
        group = hrr.key_share_group
        if group is not None and int(group) not in profile.groups:
            return out(
                negotiated,
                f"the server asked for a key share of {group_name(int(group))}, which the client does not "
                "support",
                Failure.NO_COMMON_CIPHER,
            )
    refused = _policy(profile, key_exchange, leaf)
    return out(negotiated, refused, Failure.POLICY if refused else None)


def untrusted(outcome: Outcome, store: str, error: str) -> Outcome:
    """``outcome`` for a client whose trust store refuses the chain the server sent."""
    return dataclasses.replace(
        outcome, failure=f"its trust store ({store}) does not accept the chain: {error}", kind=Failure.TRUST
    )


def _group(hello: ServerHello, ske: ServerKeyExchange | None) -> str | None:
    share = hello.key_share_group
    if share is not None:
        return group_name(int(share))
    if ske is not None and ske.group is not None:
        return group_name(int(ske.group))
    if ske is not None and ske.kind == "dhe" and ske.dh_prime_bits:
        return f"DH {ske.dh_prime_bits}"
    return None


def _policy(profile: ClientProfile, ske: ServerKeyExchange | None, leaf: Leaf | None) -> str | None:
    """The client's own limit the server's parameters break, or None."""
    policy = profile.policy
    if ske is not None and ske.kind == "dhe" and ske.dh_prime_bits:
        bits = ske.dh_prime_bits
        if policy.min_dh_bits and bits < policy.min_dh_bits:
            return f"the server's DH group is {bits} bits; the client requires at least {policy.min_dh_bits}"
        if policy.max_dh_bits and bits > policy.max_dh_bits:
            return (
                f"the server's DH group is {bits} bits; the client cannot use more than {policy.max_dh_bits}"
            )
    if leaf is None:
        return None
    bits = leaf.key_bits
    if leaf.key_type == "RSA":
        if policy.min_rsa_bits and bits < policy.min_rsa_bits:
            return f"the server's RSA key is {bits} bits; the client needs {policy.min_rsa_bits} or more"
        if policy.max_rsa_bits and bits > policy.max_rsa_bits:
            return f"the server's RSA key is {bits} bits; the client takes {policy.max_rsa_bits} at most"
    if leaf.key_type == "EC" and policy.min_ecdsa_bits and bits < policy.min_ecdsa_bits:
        return f"the server's ECDSA key is {bits} bits; the client needs {policy.min_ecdsa_bits} or more"
    if policy.requires_sha2 and (leaf.signature_hash or "").lower() in ("sha1", "md5"):
        algorithm = (leaf.signature_hash or "").upper()
        return f"the server's certificate is signed with {algorithm}; the client requires SHA-2"
    return None


def _refusal(
    profile: ClientProfile, end: str, alert: Alert | None, support: ServerSupport | None, detail: str
) -> tuple[Failure, str]:
    """Why the server refused the hello: from what the scan knows the server supports when it can
    say, else from the alert."""
    offered = set(profile.versions)
    known = support is not None and (support.asked is None or offered <= support.asked)
    if support is not None and known and not offered & support.versions:
        accepts = (
            f"the server accepts {_names(support.versions)}"
            if support.versions
            else ("the server refuses each of them even when every suite, group and scheme is offered")
        )
        return Failure.NO_COMMON_VERSION, (
            f"no protocol version in common: the client offers {_names(offered)}, {accepts}"
        )
    if (
        support is not None
        and support.versions
        and support.suites
        and profile.cipher_suites
        and not set(profile.cipher_suites) & support.suites
    ):
        return Failure.NO_COMMON_CIPHER, "no cipher suite in common with the server"
    if alert is not None:
        name = str(alert.description).lower()
        if alert.description == AlertDescription.PROTOCOL_VERSION:
            return (
                Failure.NO_COMMON_VERSION,
                f"the server refused the hello with a {name} alert: no protocol version in common",
            )
        if alert.description in _CIPHER_ALERTS:
            return Failure.NO_COMMON_CIPHER, (
                f"the server refused the hello with a {name} alert: no cipher suite, group or signature "
                "scheme in common"
            )
        return Failure.REFUSED, f"the server refused the hello with a {name} alert"
    why = {
        "closed": "the server closed the connection in answer to the hello",
        "reset": "the connection was reset in answer to the hello",
        "timeout": "the server did not answer the hello before the deadline",
        "not-tls": "the server answered in another protocol",
        "connect": "no TCP connection",
        "sslv2": "the server answered with SSLv2",
    }.get(end, f"the hello ended: {end}")
    return Failure.TRANSPORT, f"{why}{': ' + detail if detail and end != 'closed' else ''}"


def _names(versions: set[int] | frozenset[int]) -> str:
    return ", ".join(version_name(v) for v in sorted(versions, reverse=True))
