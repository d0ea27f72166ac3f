"""The independent certificate corpus: each case is a PKI made by other tools, the server that serves it,
what the reference clients (`openssl s_client -verify_return_error`, curl) say, and the cause a user
running `tlsdoctor diagnose` with default options must see first.

``python tests/independent/independent_cases.py`` prints the table (case, expected, got, confidence,
exit, time) without pytest, to compare two versions of the code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import independent_pki as pki
from independent_pki import HOST, INTERMEDIATE_EXT, leaf_ext, minimal, ossl_issue, ossl_root

# X509_V_ERR codes (include/openssl/x509_vfy.h), as s_client prints them
OK, NOT_YET_VALID, EXPIRED, SELF_SIGNED_LEAF, ROOT_SENT, NO_LOCAL_ISSUER = 0, 9, 10, 18, 19, 20
HOSTNAME, EE_KEY_TOO_SMALL, CA_MD_TOO_WEAK = 62, 66, 68
UNTRUSTED, INCOMPLETE = "cert-untrusted", "cert-chain-incomplete"
LEGACY = ("-cipher", "DEFAULT:@SECLEVEL=0")  # s_server refuses to load a weak certificate otherwise


@dataclasses.dataclass(frozen=True)
class Material:
    """What a case serves (leaf first), with which key, and what the user trusts (--ca-file)."""

    chain: tuple[Path, ...]
    key: Path
    ca_file: Path | None
    name: str = HOST  # the name the user diagnoses


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, str], Material]  # (directory, AIA base URL) -> material
    expected: str  # causes[0].id
    verify: int  # s_client's X509_V_ERR code
    server: str = "s_server"  # or "nginx"
    server_opts: tuple[str, ...] = ()  # extra s_server options (a weak certificate needs SECLEVEL 0)
    second: str | None = None  # causes[1].id, where the issue says which candidate must follow

    @property
    def exit(self) -> int:
        return 0 if self.expected == "healthy" else 1

    @property
    def curl(self) -> int:
        return 0 if self.verify == OK else 60


def _ossl_root_leaf(d: Path, _: str) -> Material:
    """A root by `req -x509`, the leaf by `x509 -req -extfile` (SAN only) straight from the root."""
    root = ossl_root(d, "root", "Corpus Root A", kind="ec")
    leaf = ossl_issue(d, "leaf", HOST, root, kind="rsa2048", extfile=leaf_ext(HOST))
    return Material((leaf[0],), leaf[1], root[0])


def _ossl_three_tier(d: Path, _: str) -> Material:
    root = ossl_root(d, "root", "Corpus Root B", kind="rsa2048")
    inter = ossl_issue(d, "int", "Corpus Issuing CA B", root, kind="ec", extfile=INTERMEDIATE_EXT)
    leaf = ossl_issue(d, "leaf", HOST, inter, kind="ec", extfile=leaf_ext(HOST))
    return Material((leaf[0], inter[0]), leaf[1], root[0])


def _ossl_copy_extensions(d: Path, _: str) -> Material:
    """`x509 -req -copy_extensions copy`, no extfile: a v3 leaf with its SAN and nothing else."""
    root = ossl_root(d, "root", "Corpus Root C", kind="rsa2048")
    leaf = ossl_issue(d, "leaf", HOST, root, kind="ec", san_in_csr=f"DNS:{HOST}")
    return Material((leaf[0],), leaf[1], root[0])


def _ossl_v1_cn_only(d: Path, _: str) -> Material:
    """`x509 -req` with neither extfile nor SAN: a version 1 leaf naming the host only in its CN, which
    OpenSSL (X509_check_host), Python and curl still match."""
    root = ossl_root(d, "root", "Corpus Root D", kind="ec")
    leaf = ossl_issue(d, "leaf", HOST, root, kind="rsa2048")
    return Material((leaf[0],), leaf[1], root[0])


def _ossl_v1_root(d: Path, _: str) -> Material:
    """A version 1 root (x509 -req -signkey), which OpenSSL accepts as a trust anchor."""
    root = pki.ossl_v1_root(d, "root", "Corpus V1 Root", kind="rsa2048")
    leaf = ossl_issue(d, "leaf", HOST, root, kind="ec", extfile=leaf_ext(HOST))
    return Material((leaf[0],), leaf[1], root[0])


def _minimal_rsa(d: Path, _: str) -> Material:
    root = minimal(d, "root", "Minimal Root RSA", ca=True)
    inter = minimal(d, "int", "Minimal Intermediate RSA", ca=True, issuer=(root[0], root[1]))
    leaf = minimal(d, "leaf", HOST, issuer=(inter[0], inter[1]), san=HOST)
    return Material((leaf[2], inter[2]), leaf[3], root[2])


def _minimal_ecdsa(d: Path, _: str) -> Material:
    root = minimal(d, "root", "Minimal Root EC", kind="ec", ca=True)
    leaf = minimal(d, "leaf", HOST, kind="ec", issuer=(root[0], root[1]), san=HOST)
    return Material((leaf[2],), leaf[3], root[2])


def _expired(d: Path, _: str) -> Material:
    root = ossl_root(d, "root", "Corpus Root E", kind="ec")
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    leaf = ossl_issue(d, "leaf", HOST, root, kind="ec", extfile=leaf_ext(HOST), days=30, faketime=then)
    return Material((leaf[0],), leaf[1], root[0])


def _not_yet_valid(d: Path, _: str) -> Material:
    root = ossl_root(d, "root", "Corpus Root F", kind="ec")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    leaf = ossl_issue(d, "leaf", HOST, root, kind="ec", extfile=leaf_ext(HOST), faketime=later)
    return Material((leaf[0],), leaf[1], root[0])


def _hostname(d: Path, _: str) -> Material:
    root = ossl_root(d, "root", "Corpus Root G", kind="ec")
    leaf = ossl_issue(d, "leaf", "other.corpus.test", root, kind="ec", extfile=leaf_ext("other.corpus.test"))
    return Material((leaf[0],), leaf[1], root[0])


def _self_signed(d: Path, _: str) -> Material:
    leaf = pki.ossl_self_signed_leaf(d, "leaf", HOST)
    return Material((leaf[0],), leaf[1], None)


def _missing_intermediate(d: Path, _: str) -> Material:
    """The commonest server misconfiguration: only the leaf is served; its issuer is an intermediate."""
    root = ossl_root(d, "root", "Corpus Root H", kind="rsa2048")
    inter = ossl_issue(d, "int", "Corpus Issuing CA H", root, kind="ec", extfile=INTERMEDIATE_EXT)
    leaf = ossl_issue(d, "leaf", HOST, inter, kind="ec", extfile=leaf_ext(HOST))
    return Material((leaf[0],), leaf[1], root[0])


def _missing_intermediate_minimal(d: Path, _: str) -> Material:
    root = minimal(d, "root", "Minimal Root I", ca=True)
    inter = minimal(d, "int", "Minimal Intermediate I", ca=True, issuer=(root[0], root[1]))
    leaf = minimal(d, "leaf", HOST, kind="ec", issuer=(inter[0], inter[1]), san=HOST)
    return Material((leaf[2],), leaf[3], root[2])


def _missing_intermediate_aia(d: Path, aia: str) -> Material:
    """Only the leaf is served, and its AIA caIssuers URL hands out the intermediate (DER, over HTTP)."""
    root = ossl_root(d, "root", "Corpus Root J", kind="ec")
    inter = ossl_issue(d, "int", "Corpus Issuing CA J", root, kind="ec", extfile=INTERMEDIATE_EXT)
    url = f"{aia}/{d.name}-int-j.cer"
    (Path(aia_dir(aia)) / f"{d.name}-int-j.cer").write_bytes(pki.der_of(inter[0]))
    leaf = ossl_issue(d, "leaf", HOST, inter, kind="ec", extfile=leaf_ext(HOST, aia=url))
    return Material((leaf[0],), leaf[1], root[0])


def _dead_aia(d: Path, _: str) -> Material:
    """The AIA URL points at a port where nothing listens."""
    root = ossl_root(d, "root", "Corpus Root K", kind="ec")
    inter = ossl_issue(d, "int", "Corpus Issuing CA K", root, kind="ec", extfile=INTERMEDIATE_EXT)
    dead = f"http://127.0.0.1:{pki.free_port()}/int.cer"
    leaf = ossl_issue(d, "leaf", HOST, inter, kind="ec", extfile=leaf_ext(HOST, aia=dead))
    return Material((leaf[0],), leaf[1], root[0])


def _unknown_ca(d: Path, _: str) -> Material:
    """A private CA's full chain (leaf and intermediate) with no --ca-file: the client does not know it."""
    root = ossl_root(d, "root", "Corpus Private Root L", kind="ec")
    inter = ossl_issue(d, "int", "Corpus Private Issuing CA L", root, kind="ec", extfile=INTERMEDIATE_EXT)
    leaf = ossl_issue(d, "leaf", HOST, inter, kind="ec", extfile=leaf_ext(HOST))
    return Material((leaf[0], inter[0]), leaf[1], None)


def _unknown_ca_root_sent(d: Path, _: str) -> Material:
    root = minimal(d, "root", "Minimal Private Root M", kind="ec", ca=True)
    leaf = minimal(d, "leaf", HOST, kind="ec", issuer=(root[0], root[1]), san=HOST)
    return Material((leaf[2], root[2]), leaf[3], None)


def _unknown_ca_aia(d: Path, aia: str) -> Material:
    """Only the leaf is served; AIA hands out its issuer, a root nobody trusts."""
    root = ossl_root(d, "root", "Corpus Private Root N", kind="ec")
    url = f"{aia}/{d.name}-root-n.cer"
    (Path(aia_dir(aia)) / f"{d.name}-root-n.cer").write_bytes(pki.der_of(root[0]))
    leaf = ossl_issue(d, "leaf", HOST, root, kind="ec", extfile=leaf_ext(HOST, aia=url))
    return Material((leaf[0],), leaf[1], None)


def _sha1(d: Path, _: str) -> Material:
    root = ossl_root(d, "root", "Corpus Root O", kind="rsa2048")
    leaf = ossl_issue(d, "leaf", HOST, root, kind="rsa2048", extfile=leaf_ext(HOST), digest="sha1")
    return Material((leaf[0],), leaf[1], root[0])


def _rsa1024(d: Path, _: str) -> Material:
    root = ossl_root(d, "root", "Corpus Root P", kind="rsa2048")
    leaf = ossl_issue(d, "leaf", HOST, root, kind="rsa1024", extfile=leaf_ext(HOST))
    return Material((leaf[0],), leaf[1], root[0])


def _self_signed_trusted(d: Path, _: str) -> Material:
    """The commonest test setup of all: a self-signed server certificate, passed itself as --ca-file."""
    leaf = pki.ossl_self_signed_leaf(d, "leaf", HOST, kind="ec")
    return Material((leaf[0],), leaf[1], leaf[0])


def _unknown_ca_two_hop_aia(d: Path, aia: str) -> Material:
    """Only the leaf is served; its AIA gives the intermediate, whose AIA gives a root nobody trusts."""
    root = ossl_root(d, "root", "Corpus Private Root Q", kind="ec")
    root_url = f"{aia}/{d.name}-root-q.cer"
    (Path(aia_dir(aia)) / f"{d.name}-root-q.cer").write_bytes(pki.der_of(root[0]))
    inter_ext = INTERMEDIATE_EXT + f"authorityInfoAccess=caIssuers;URI:{root_url}\n"
    inter = ossl_issue(d, "int", "Corpus Private Issuing CA Q", root, kind="ec", extfile=inter_ext)
    int_url = f"{aia}/{d.name}-int-q.cer"
    (Path(aia_dir(aia)) / f"{d.name}-int-q.cer").write_bytes(pki.der_of(inter[0]))
    leaf = ossl_issue(d, "leaf", HOST, inter, kind="ec", extfile=leaf_ext(HOST, aia=int_url))
    return Material((leaf[0],), leaf[1], None)


def _superfish_lookalike(d: Path, _: str) -> Material:
    """A root with the subject the 2015 write-ups give Superfish's (we cannot have its key or its
    fingerprint), serving a leaf for the host and itself: interception evidence by name."""
    subj = "/C=US/ST=CA/L=SunnyVale/O=Superfish, Inc./CN=Superfish, Inc."
    root = ossl_root(d, "root", "", kind="rsa2048", subj=subj)
    leaf = ossl_issue(d, "leaf", HOST, root, kind="rsa2048", extfile=leaf_ext(HOST))
    return Material((leaf[0], root[0]), leaf[1], None)


CASES: tuple[Case, ...] = (
    Case("healthy-openssl-root-leaf", _ossl_root_leaf, "healthy", OK),
    Case("healthy-openssl-root-leaf-nginx", _ossl_root_leaf, "healthy", OK, server="nginx"),
    Case("healthy-openssl-3-tier-nginx", _ossl_three_tier, "healthy", OK, server="nginx"),
    Case("healthy-openssl-copy-extensions", _ossl_copy_extensions, "healthy", OK),
    Case("healthy-openssl-v1-cn-only", _ossl_v1_cn_only, "healthy", OK),
    Case("healthy-openssl-v1-root", _ossl_v1_root, "healthy", OK),
    Case("healthy-minimal-rsa-3-tier", _minimal_rsa, "healthy", OK),
    Case("healthy-minimal-rsa-3-tier-nginx", _minimal_rsa, "healthy", OK, server="nginx"),
    Case("healthy-minimal-ecdsa", _minimal_ecdsa, "healthy", OK),
    Case("healthy-self-signed-as-ca-file", _self_signed_trusted, "healthy", OK),
    Case("expired", _expired, "cert-expired", EXPIRED),
    Case("not-yet-valid", _not_yet_valid, "cert-not-yet-valid", NOT_YET_VALID),
    Case("hostname-mismatch", _hostname, "cert-hostname-mismatch", HOSTNAME),
    Case("self-signed-untrusted", _self_signed, "cert-untrusted", SELF_SIGNED_LEAF),
    Case("missing-intermediate-no-aia", _missing_intermediate, INCOMPLETE, NO_LOCAL_ISSUER, second=UNTRUSTED),
    Case(
        "missing-intermediate-minimal-nginx",
        _missing_intermediate_minimal,
        "cert-chain-incomplete",
        NO_LOCAL_ISSUER,
        server="nginx",
        second=UNTRUSTED,
    ),
    Case("missing-intermediate-aia", _missing_intermediate_aia, "cert-chain-incomplete", NO_LOCAL_ISSUER),
    Case("missing-intermediate-dead-aia", _dead_aia, INCOMPLETE, NO_LOCAL_ISSUER, second=UNTRUSTED),
    Case("unknown-ca-intermediate-sent", _unknown_ca, "cert-untrusted", NO_LOCAL_ISSUER),
    Case("unknown-ca-root-sent-nginx", _unknown_ca_root_sent, "cert-untrusted", ROOT_SENT, server="nginx"),
    Case("unknown-ca-via-aia", _unknown_ca_aia, "cert-untrusted", NO_LOCAL_ISSUER),
    Case("unknown-ca-via-two-aia-hops", _unknown_ca_two_hop_aia, "cert-untrusted", NO_LOCAL_ISSUER),
    Case("weak-sha1-signature", _sha1, "cert-weak", CA_MD_TOO_WEAK, server_opts=LEGACY),
    Case("weak-rsa-1024", _rsa1024, "cert-weak", EE_KEY_TOO_SMALL, server_opts=LEGACY),
    Case("known-bad-root-by-name", _superfish_lookalike, "tls-interception", ROOT_SENT),
)

_AIA_DIRS: dict[str, str] = {}


def aia_dir(base: str) -> str:
    """The directory an AIA base URL serves (registered by ``aia_server``)."""
    return _AIA_DIRS[base]


def register_aia(base: str, directory: Path) -> None:
    _AIA_DIRS[base] = str(directory)


def serve(case: Case, d: Path, material: Material) -> pki.contextlib.AbstractContextManager[int]:
    if case.server == "nginx":
        return pki.nginx(d, chain=material.chain, key=material.key)
    return pki.s_server(d, material.chain, material.key, case.server_opts)


@dataclasses.dataclass(frozen=True)
class Row:
    case: Case
    s_client: int
    curl: int
    got: pki.Diagnosis


def run_case(case: Case, d: Path, aia: str) -> Row:
    """Build the case's PKI, serve it, ask the reference clients and tlsdoctor."""
    material = case.build(d, aia)
    with serve(case, d, material) as port:
        ref = pki.s_client_verify(port, material.name, material.ca_file)
        curl = pki.curl_exit(port, material.name, material.ca_file)
        got = pki.diagnose(port, material.name, material.ca_file)
    return Row(case, ref, curl, got)


def main() -> int:
    """Print the corpus table (markdown) for the tlsdoctor importable from this interpreter."""
    base = Path(tempfile.mkdtemp(prefix="tlsdoctor-corpus-"))
    try:
        files = base / "aia"
        files.mkdir()
        with pki.nginx(base, root=files) as aia_port:
            aia = f"http://127.0.0.1:{aia_port}"
            register_aia(aia, files)
            columns = [
                "case",
                "expected",
                "got_causes[0].id",
                "confidence",
                "exit",
                "time_s",
                "s_client",
                "curl",
                "causes[1]",
            ]
            print("| " + " | ".join(columns) + " |")
            print("|" + "---|" * len(columns))
            wrong = 0
            for case in CASES:
                d = base / case.name
                d.mkdir()
                row = run_case(case, d, aia)
                causes = row.got.causes()
                second = f"{causes[1]['id']} {causes[1]['confidence']:.2f}" if len(causes) > 1 else "-"
                ok = row.got.top == case.expected and row.got.exit == case.exit
                ok = ok and (case.second is None or second.startswith(case.second))
                wrong += not ok
                print(
                    f"| {case.name} | {case.expected} | {row.got.top}{'' if ok else ' ✗'} | "
                    f"{row.got.confidence:.2f} | {row.got.exit} | {row.got.seconds:.2f} | "
                    f"{row.s_client} | {row.curl} | {second} |"
                )
            print(f"\n{len(CASES) - wrong}/{len(CASES)} right")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
