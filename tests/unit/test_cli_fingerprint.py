"""--expect-fingerprint: the forms people paste are accepted; anything else is a one-line usage error."""

from __future__ import annotations

import pytest

from tlsdoctor.cli import expected_fingerprint
from tlsdoctor.errors import UsageError

HEX = "95feb886c80fe221d1106fe632ef8d27dd3d45535b63bfa491ec96605b489cff"


@pytest.mark.parametrize("text", [HEX, HEX.upper(), bytes.fromhex(HEX).hex(":").upper(), f"sha256:{HEX}"])
def test_accepted_forms(text: str) -> None:
    assert expected_fingerprint(text) == HEX


@pytest.mark.parametrize("text", ["zz", HEX[:40], HEX + "00", "sha1:" + HEX[:40]])
def test_rejected(text: str) -> None:
    with pytest.raises(UsageError):
        expected_fingerprint(text)
