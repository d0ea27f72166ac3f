"""The written-out key shares are what the codec computes, and real public keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from tlsdoctor.wire.codepoints import NamedGroup
from tlsdoctor.wire.keyshares import FIXED_SEED, FIXED_SHARES, fixed_share, key_share_for


@pytest.mark.parametrize("group", sorted(FIXED_SHARES))
def test_fixed_shares_are_the_computed_ones(group: int) -> None:
    assert FIXED_SHARES[group] == key_share_for(group, FIXED_SEED)
    assert fixed_share(group) == FIXED_SHARES[group]


def test_fixed_shares_load_as_public_keys() -> None:
    x25519.X25519PublicKey.from_public_bytes(FIXED_SHARES[NamedGroup.X25519])
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), FIXED_SHARES[NamedGroup.SECP256R1])
    assert point.curve.name == "secp256r1"


def test_other_groups_are_computed_from_the_fixed_seed() -> None:
    assert NamedGroup.SECP384R1 not in FIXED_SHARES
    share = fixed_share(NamedGroup.SECP384R1)
    assert share == key_share_for(NamedGroup.SECP384R1, FIXED_SEED)
    assert len(share) == 97 and share[0] == 4


def test_scan_imports_no_cryptography() -> None:
    """What the fixed shares are for: building every scan hello leaves cryptography unloaded."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tlsdoctor.scan.offers import Offer, build, suites_for\n"
        "from tlsdoctor.wire.codepoints import ProtocolVersion as V\n"
        "for v in (V.SSL3, V.TLS1_0, V.TLS1_2, V.TLS1_3):\n"
        "    build(Offer(version=v, suites=suites_for(v)))\n"
        "print('cryptography' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
