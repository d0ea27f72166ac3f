"""The other trust stores on this machine, when the client's own refused the chain (client-ca-store).

"unable to get local issuer certificate" from curl while the same URL works from requests is two
trust stores disagreeing: the system bundle OpenSSL uses lacks a root (a corporate CA installed only
into certifi, a distribution bundle years old, SSL_CERT_FILE pointing at a partial file) that
certifi's Mozilla bundle has, or the reverse. The certificate check judged the served chain against
the client's store (the system's, or --ca-file, and the system's beside it); this check judges the
same chain, at the same instant, against each other store a client here would use: certifi's bundle
(requests, pip, httpx), the bundles REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS name,
and the distribution's bundle when SSL_CERT_FILE points elsewhere, Java's cacerts keystore and the
roots compiled into Node.js (certs/runtimes.py). Only the anchors differ between the verdicts, so a
chain that validates against one of them is a trust-store difference, nothing else. No connection:
files and parsing, and one bounded ``node`` run when node is on PATH.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from pathlib import Path

from tlsdoctor.certs.analysis import validation
from tlsdoctor.certs.runtimes import RuntimeStore, java_cacerts_path, load_java_store, node_roots
from tlsdoctor.certs.trust import TrustAnchors, load_ca_file, regular_bundle
from tlsdoctor.context import Context
from tlsdoctor.errors import InputError
from tlsdoctor.host.trust import KNOWN_BUNDLES, certifi_path
from tlsdoctor.model import CheckResult, Status
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.cert import ChainValidation
from tlsdoctor.observations.tls import PeerChain

CHECK_ID = "trust-stores"
# Variables that point one family of clients at a bundle of its own (OpenSSL's SSL_CERT_FILE is the
# system store itself, judged already).
CLIENT_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


def client_store_file(ctx: Context) -> str | None:
    """The bundle the default client verifies with: --ca-file, else OpenSSL's (SSL_CERT_FILE honoured)."""
    if ctx.options.ca_file is not None:
        return str(ctx.options.ca_file)
    return ssl.get_default_verify_paths().cafile


def other_stores(ctx: Context) -> list[tuple[str, str]]:
    """(name, path) of every other PEM bundle a client on this machine would use, each file once."""
    candidates: list[tuple[str, str | None]] = [("certifi", certifi_path())]
    candidates += [(var, os.environ.get(var)) for var in CLIENT_VARIABLES]
    candidates += [("distribution", path) for path in KNOWN_BUNDLES]
    if ctx.options.ca_file is not None:  # the system store is compared by the certificate check
        candidates.append(("system", ssl.get_default_verify_paths().cafile))
    mine = client_store_file(ctx)
    seen = {os.path.realpath(mine)} if mine else set()
    out: list[tuple[str, str]] = []
    for name, path in candidates:
        if not path or not regular_bundle(path):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        if name == "distribution" and any(n == "distribution" for n, _ in out):
            continue  # one distribution bundle is enough (the others are the same file on other systems)
        out.append((name, path))
    return out


def _load(path: str) -> TrustAnchors | None:
    try:
        return load_ca_file(Path(path))
    except InputError:  # not a PEM bundle: not a store a client could use either
        return None


def _java(path: str | None) -> RuntimeStore | None:
    return load_java_store(path) if path else None


def _unread(store: RuntimeStore) -> str:
    kind, _, where = store.label.partition(":")
    return f"{'Java cacerts' if kind == 'java' else where} not compared: {store.problem}"


class TrustStoresCheck:
    """The served chain against each other trust store on the machine."""

    id = CHECK_ID
    layer = "client"

    def __init__(self, chain: PeerChain) -> None:
        self.chain = chain

    def budget(self, ctx: Context) -> float:
        """Reading and parsing a few bundles of ~150 certificates: well under a second each."""
        return 10.0

    async def run(self, ctx: Context) -> CheckResult:
        stores = other_stores(ctx)
        java = java_cacerts_path()
        (loaded, java_store), node = await asyncio.gather(  # files off the loop, node beside them
            asyncio.to_thread(lambda: ([(n, p, _load(p)) for n, p in stores], _java(java))),
            node_roots(),
        )
        runtimes = [r for r in (java_store, node) if r]
        anchor_sets = [(f"{n}:{p}", a.certificates) for n, p, a in loaded if a is not None]
        anchor_sets += [(r.label, r.certificates) for r in runtimes if not r.problem]
        if not anchor_sets:
            return CheckResult(
                id=self.id, status=Status.SKIP, summary="no other trust store on this machine to compare"
            )
        at, name = ctx.clock.now(), ctx.verify_name
        found: list[Observation] = [
            validation(self.chain.chain, name, anchors, at, store=label) for label, anchors in anchor_sets
        ]
        valid = [o for o in found if isinstance(o, ChainValidation) and o.valid]
        if valid:
            summary = f"the chain validates against {', '.join(v.store for v in valid)}"
        else:
            summary = f"the chain validates against none of {len(found)} other stores"
        summary += "".join(f"; {_unread(r)}" for r in runtimes if r.problem)
        return CheckResult(
            id=self.id,
            status=Status.WARN if valid else Status.PASS,
            summary=summary,
            observations=tuple(found),
        )
