"""Trust stores: the system bundle OpenSSL uses, certifi's (what requests and pip use), and any
bundle an environment variable points clients at; how old each is and how they differ.

Certificates are compared by the SHA-256 of their DER, without parsing them (parsing ~150 roots
costs tens of milliseconds; counting and comparing needs none of it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os
import ssl
import time

from tlsdoctor.certs.trust import MAX_STORE_FILE, _der_blocks, _looks_like_cert_file
from tlsdoctor.host.base import Collected, FactCheck
from tlsdoctor.model import Status
from tlsdoctor.observations.base import Observation
from tlsdoctor.observations.host import TrustBundle, TrustStoreDiff

# Where distributions keep the bundle: Debian/Ubuntu, RHEL/Fedora, openSUSE, Alpine/macOS-like.
KNOWN_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)
BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
STALE_DAYS = 2 * 365  # ca-certificates is updated several times a year; two years behind misses roots


def system_bundle_path() -> str | None:
    """The bundle OpenSSL's default verify paths name (SSL_CERT_FILE honoured), else a known one."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *KNOWN_BUNDLES):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def hashed_directory(path: str | None = None) -> TrustBundle | None:
    """A store kept only as a c_rehash directory (SSL_CERT_DIR, OPENSSL's certs/): its certificates
    counted by their files, when there is no bundle file at all."""
    paths = ssl.get_default_verify_paths()
    directory = path or paths.capath or paths.openssl_capath
    try:
        names = os.listdir(directory) if directory else []
        modified = os.stat(directory).st_mtime if directory else 0.0
    except OSError:
        return None
    count = sum(_looks_like_cert_file(n) for n in names)
    if not directory or not count:
        return None
    return TrustBundle(
        name="system",
        path=directory,
        anchors=count,
        modified=dt.datetime.fromtimestamp(modified, dt.UTC),
        age_days=max(0.0, (time.time() - modified) / 86400),
    )


def certifi_path() -> str | None:
    """certifi's bundle, when certifi is installed (found without importing anything else)."""
    if importlib.util.find_spec("certifi") is None:
        return None
    import certifi  # type: ignore[import-not-found,unused-ignore]

    where: str = certifi.where()
    return where


def read_bundle(name: str, path: str, now: float) -> tuple[TrustBundle, set[bytes]]:
    """A bundle's certificate digests, count and age; a problem (missing, empty) is said, not raised."""
    try:
        st = os.stat(path)
        if st.st_size > MAX_STORE_FILE:
            return TrustBundle(name=name, path=path, anchors=0, problem="too large to be a CA bundle"), set()
        with open(path, "rb") as f:
            data = f.read(MAX_STORE_FILE)
    except OSError as exc:
        return TrustBundle(name=name, path=path, anchors=0, problem=exc.strerror or str(exc)), set()
    digests = {hashlib.sha256(der).digest() for der in _der_blocks(data)}
    modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
    return (
        TrustBundle(
            name=name,
            path=path,
            anchors=len(digests),
            modified=modified,
            age_days=max(0.0, (now - st.st_mtime) / 86400),
            problem="" if digests else "no PEM certificate in it",
        ),
        digests,
    )


def diff(first: str, a: set[bytes], second: str, b: set[bytes]) -> TrustStoreDiff:
    return TrustStoreDiff(
        first=first, second=second, only_first=len(a - b), only_second=len(b - a), common=len(a & b)
    )


class TrustCheck(FactCheck):
    """The system bundle, certifi's, and those the environment points at; certifi vs system."""

    id = "host.trust"

    def __init__(self, system: str | None = None, certifi: str | None = None) -> None:
        self.system = system
        self.certifi = certifi

    def collect(self) -> Collected:
        now = time.time()
        found: list[Observation] = []
        system_path = self.system or system_bundle_path()
        if system_path is None and (directory := hashed_directory()) is not None:
            return Status.PASS, directory.describe(), [directory]
        if system_path is None:
            where = ", ".join(KNOWN_BUNDLES[:2])
            return (
                Status.FAIL,
                f"no system CA bundle found (looked at OpenSSL's default path, {where}...)",
                [],
            )
        system, system_set = read_bundle("system", system_path, now)
        found.append(system)
        worries = [system.describe()] if system.problem else []
        if system.age_days is not None and system.age_days > STALE_DAYS:
            worries.append(f"the system bundle was last updated {system.age_days:.0f} days ago")
        try:  # finding certifi imports it: with no descriptor left, that import fails like a read
            certifi_file = self.certifi or certifi_path()
        except OSError as exc:
            certifi_file = None
            found.append(TrustBundle(name="certifi", path="", anchors=0, problem=exc.strerror or str(exc)))
        if certifi_file:
            bundle, certifi_set = read_bundle("certifi", certifi_file, now)
            found += [bundle, diff("system", system_set, "certifi", certifi_set)]
        for variable in BUNDLE_VARIABLES:
            value = os.environ.get(variable)
            if value and value not in (system_path, certifi_file):
                found.append(read_bundle(variable, value, now)[0])
        summary = "; ".join(o.describe() for o in found)
        if system.problem:
            return Status.FAIL, "; ".join(worries), found
        return (Status.WARN if worries else Status.PASS), "; ".join(worries) or summary, found
