"""Root lists kept as data (certs/rootlists.py): a PEM bundle + a name + the day it describes, from
sslyze's package or from TLSDOCTOR_TRUST_STORES, and what each says of a chain (scan/certinfo.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path

import pytest
from certkit import NOW, Pki, der, pem

from tlsdoctor.certs.rootlists import ENV, load_list, packaged_lists, read_header, root_lists, user_lists
from tlsdoctor.scan.certinfo import Store, load_store, store_names, verdicts

HAS_SSLYZE = importlib.util.find_spec("sslyze") is not None


def bundle(tmp_path: Path, name: str, *pki: Pki) -> Path:
    path = tmp_path / f"{name}.pem"
    path.write_bytes(b"".join(pem(p.root) for p in pki))
    return path


def test_a_user_list_is_a_bundle_a_name_and_a_day(tmp_path: Path) -> None:
    corp = bundle(tmp_path, "corp", Pki())
    sep = os.pathsep
    (first, second) = user_lists(f"Corp={corp}@2026-01-02{sep}mac={corp}")
    assert (first.name, first.pem, first.as_of, first.origin, first.problem) == (
        "corp", str(corp), dt.date(2026, 1, 2), ENV, "",
    )  # fmt: skip
    mtime = dt.datetime.fromtimestamp(corp.stat().st_mtime, dt.UTC).date()
    assert second.name == "mac" and second.as_of == mtime and second.problem == ""  # no day: the file's


def test_a_path_with_an_at_sign_is_not_a_date(tmp_path: Path) -> None:
    folder = tmp_path / "a@b"
    folder.mkdir()
    corp = bundle(folder, "corp", Pki())
    (entry,) = user_lists(f"corp={corp}")
    assert entry.pem == str(corp) and entry.problem == ""


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("no-equals-sign", "expected NAME=PEM"),
        ("Bad Name={pem}", "expected NAME=PEM"),
        ("corp={pem}@2026-13-40", "is not a date"),
        ("corp=/nonexistent/roots.pem", "not a readable file"),
        ("corp=/dev/null", "not a readable file"),
        ("system={pem}", "names a built-in store"),
    ],
)
def test_a_malformed_entry_is_kept_with_its_problem(tmp_path: Path, entry: str, problem: str) -> None:
    corp = bundle(tmp_path, "corp", Pki())
    (found,) = user_lists(entry.format(pem=corp), reserved=("system", "mozilla"))
    assert problem in found.problem
    loaded = load_list(found)
    assert loaded.anchors == () and problem in loaded.problem


def test_a_file_without_certificates_is_said(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a bundle\n" * 10)
    (found,) = user_lists(f"junk={junk}")
    assert found.problem == "" and "no PEM certificate" in load_list(found).problem


def test_the_header_of_a_trust_stores_observatory_file(tmp_path: Path) -> None:
    yaml = tmp_path / "apple.yaml"
    yaml.write_text(
        "platform: APPLE\nversion: 'iOS 26, macOS 26'\nurl: https://support.example/126047\n"
        "date_fetched: 2025-12-28\ntrusted_certificates_count: 2\ntrusted_certificates:\n"
        "- subject_name: A\n  fingerprint: 00\nlate_key: ignored\n"
    )
    assert read_header(yaml) == {
        "platform": "APPLE", "version": "iOS 26, macOS 26", "url": "https://support.example/126047",
        "date_fetched": "2025-12-28", "trusted_certificates_count": "2",
    }  # fmt: skip
    yaml.write_text("platform: MICROSOFT_WINDOWS\nversion: null\ndate_fetched: 2026-03-28\n")
    assert "version" not in read_header(yaml)  # null is absent, not the string "null"
    assert read_header(tmp_path / "missing.yaml") == {}


def test_a_user_list_replaces_a_packaged_one_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp = bundle(tmp_path, "win", Pki())
    monkeypatch.setenv(ENV, f"windows={corp}@2026-02-03")
    windows = [rl for rl in root_lists() if rl.name == "windows"]
    assert len(windows) == 1 and windows[0].pem == str(corp) and windows[0].origin == ENV


@pytest.mark.skipif(not HAS_SSLYZE, reason="sslyze (the trust-stores extra) is not installed")
def test_sslyze_ships_the_platform_lists_with_their_day() -> None:
    """The real data files of the installed sslyze: each list parses, is of a plausible size, and
    says which day it describes."""
    found = {rl.name: rl for rl in packaged_lists()}
    assert set(found) == {"apple", "windows", "android"}
    for rl in found.values():
        assert rl.problem == "" and rl.origin.startswith("sslyze ")
        assert rl.as_of is not None and dt.date(2020, 1, 1) < rl.as_of <= dt.datetime.now(dt.UTC).date()
        assert len(load_list(rl).anchors) >= 80, rl.name
    assert "iOS" in found["apple"].version


def test_each_store_says_what_its_list_says_and_how_old_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain under the corporate root: the list holding that root trusts it, a list holding another
    root (same key, another name) does not; each verdict names its list, its day and its age."""
    ours, other = Pki(), Pki(root_name="Another Root CA")
    sep = os.pathsep
    monkeypatch.setenv(
        ENV, f"corp={bundle(tmp_path, 'corp', ours)}@2026-05-02{sep}other={bundle(tmp_path, 'o', other)}"
    )
    assert store_names()[:3] == ("system", "mozilla", "java") and {"corp", "other"} <= set(store_names())
    chain = [der(ours.leaf("www.example.test")), der(ours.inter)]
    said = {
        v["store"]: v
        for v in verdicts(chain, "www.example.test", NOW, [load_store("corp"), load_store("other")])
    }
    assert said["corp"]["trusted"] is True and said["corp"]["anchors"] == 1
    assert said["corp"]["as_of"] == "2026-05-02" and said["corp"]["age_days"] == 30  # NOW is 2026-06-01
    assert said["corp"]["source"].startswith(f"{ENV}: ")
    assert said["other"]["trusted"] is False and said["other"]["error"]


def test_an_unreadable_list_is_not_compared_and_says_why() -> None:
    store = Store(name="windows", source="x", problem="windows.pem is missing", as_of=dt.date(2026, 1, 1))
    (said,) = verdicts([der(Pki().leaf("a.test"))], "a.test", NOW, [store])
    assert said["trusted"] is None and said["error"] == "windows.pem is missing" and said["age_days"] == 151
