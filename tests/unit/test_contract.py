"""The cause table and the rules against contract/causes.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tlsdoctor.inference.causes import CAUSES, CauseId
from tlsdoctor.inference.rules import RULES, TEXT_ONLY

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "causes.md"


@pytest.mark.skipif(not CONTRACT.exists(), reason=f"contract not beside the checkout ({CONTRACT})")
def test_cause_ids_match_the_contract_exactly() -> None:
    ids = re.findall(r"^\| `([a-z0-9-]+)` \|", CONTRACT.read_text(), re.M)
    assert ids == [c.value for c in CauseId]


def test_every_cause_has_text_and_fixes() -> None:
    assert set(CAUSES) == set(CauseId)
    for cause, info in CAUSES.items():
        assert info.summary
        if cause is not CauseId.HEALTHY:
            assert info.client_fixes and info.server_fixes, cause


def test_every_cause_has_exactly_one_rule_or_is_declared_text_only() -> None:
    ruled = [r.cause for r in RULES]
    assert len(ruled) == len(set(ruled)), "a cause has two rules"
    assert not set(ruled) & set(TEXT_ONLY)
    assert set(ruled) | set(TEXT_ONLY) | {CauseId.HEALTHY} == set(CauseId)
