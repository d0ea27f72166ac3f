"""The exporter's modules (``--config``): the library API's keywords, validated by its own code."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import tlsdoctor
from tlsdoctor.errors import InputError
from tlsdoctor.exporter.modules import DEFAULT_MODULE, library_keywords, load_modules, parse_modules


def test_the_keys_are_the_library_keywords() -> None:
    signature = inspect.signature(tlsdoctor.diagnose)
    expected = {n for n, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(library_keywords()) == expected
    assert {"servername", "ca_file", "timeout", "no_proxy", "starttls"} <= expected


def test_a_valid_file(tmp_path: Path) -> None:
    config = tmp_path / "tlsdoctor.yml"
    config.write_text(
        "modules:\n"
        "  smtp:\n    starttls: smtp\n    timeout: 3\n"
        "  direct:\n    no_proxy: true\n    resolver: [127.0.0.1, '127.0.0.2:5353']\n"
        "  empty:\n"
    )
    modules = load_modules(config)
    assert set(modules) == {DEFAULT_MODULE, "smtp", "direct", "empty"}
    assert modules["smtp"].options == {"starttls": "smtp", "timeout": 3}
    assert modules["direct"].options["resolver"] == ("127.0.0.1", "127.0.0.2:5353")
    assert modules["empty"].options == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"modules": {"m": {"ca-file": "x.pem"}}}, "unknown option 'ca-file' (did you mean ca_file?)"),
        ({"modules": {"m": {"bogus": 1}}}, "unknown option 'bogus' (one of: port, servername"),
        ({"modules": {"m": {"timeout": -1}}}, "invalid --timeout"),
        ({"modules": {"m": {"timeout": "soon"}}}, "invalid --timeout 'soon'"),
        ({"modules": {"m": {"starttls": "gopher"}}}, "invalid --starttls 'gopher'"),
        ({"modules": {"m": {"proxy": "http://p:3128", "no_proxy": True}}}, "exclude each other"),
        ({"modules": {"m": {"ca_file": "/nonexistent/ca.pem"}}}, "cannot read --ca-file"),
        ({"modules": {"m": ["servername"]}}, "expected a mapping of options"),
        ({"modules": {"bad name!": {}}}, "a module name is"),
        ({"modules": {}}, "'modules' must map module names"),
        ({"probes": {}}, "expected one top-level key 'modules', found 'probes'"),
        ("modules", "expected one top-level key 'modules'"),
    ],
)
def test_bad_modules_are_refused_with_the_clis_message(document: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_modules(document, "tlsdoctor.yml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_key_where_a_certificate_belongs(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InputError, match="holds no certificate"):
        parse_modules({"modules": {"m": {"ca_file": str(not_pem)}}})


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read --config"):
        load_modules(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("modules:\n  m: {servername: [\n")
    with pytest.raises(InputError, match=r"at line 3: "):
        load_modules(broken)
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00modules")
    with pytest.raises(InputError, match="not UTF-8"):
        load_modules(binary)
