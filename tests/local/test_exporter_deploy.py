"""deploy/: the files users copy, checked by the tools that will read them.

promtool (Debian's prometheus) checks the configuration and the rules and runs a rules unit test
(the alert carries the cause); systemd-analyze verifies the unit; the Containerfile cannot be built
here (no network), so what it names is checked against the repository: the files it copies, the
extra it installs, the console script and the arguments its entry point passes."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tlsdoctor.cli import build_parser
from tlsdoctor.commands.exporter import settings
from tlsdoctor.exporter.modules import load_modules

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)"
)

RULES_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'tlsdoctor_probe_success{{job="x",instance="a",vantage="eu"}}'
        values: '0x5'
      - series: 'tlsdoctor_cause{{job="x",instance="a",vantage="eu",cause="firewall-drop",layer="middlebox"}}'
        values: '0.8x5'
      - series: 'tlsdoctor_cause{{job="x",vantage="eu",instance="a",layer="server",cause="server-closed"}}'
        values: '0.5x5'
      - series: 'tlsdoctor_probe_success{{job="x",instance="a",vantage="us"}}'
        values: '1x5'
      - series: 'tlsdoctor_cause{{job="x",instance="a",vantage="us",cause="healthy",layer="-"}}'
        values: '1x5'
      - series: 'tlsdoctor_probe_success{{job="x",instance="c",vantage="eu"}}'
        values: '0x5'
      - series: 'tlsdoctor_cert_expiry_timestamp_seconds{{job="x",instance="a",vantage="us"}}'
        values: '{soon}x30'
    alert_rule_test:
      - eval_time: 3m
        alertname: TLSEndpointFailing
        exp_alerts:
          - exp_labels: {{severity: page, job: x, instance: a, vantage: eu,
                         cause: firewall-drop, layer: middlebox}}
            exp_annotations:
              summary: "TLS to a fails: firewall-drop"
              description: "{description_a}"
          - exp_labels: {{severity: page, job: x, instance: c, vantage: eu, cause: unknown}}
            exp_annotations:
              summary: "TLS to c fails: unknown"
              description: "{description_c}"
      - eval_time: 1m
        alertname: TLSEndpointFailing
        exp_alerts: []
      - eval_time: 20m
        alertname: TLSCertificateExpiresSoon
        exp_alerts:
          - exp_labels: {{severity: ticket, job: x, instance: a, vantage: us}}
            exp_annotations:
              summary: "A certificate of a expires within 14 days"
              description: "Earliest notAfter in the chain: 6d 23h 40m 0s from now."
"""


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_promtool
def test_promtool_accepts_the_config_and_the_rules() -> None:
    rules = promtool("check", "rules", str(DEPLOY / "tlsdoctor.rules.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 3 rules found" in rules.stdout
    config = promtool("check", "config", str(DEPLOY / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_the_alert_names_the_top_cause_per_endpoint_and_vantage_point(tmp_path: Path) -> None:
    def description(instance: str, cause: str, layer: str) -> str:
        return (
            f"tlsdoctor's exporter (x) diagnoses {instance} as {cause} (layer {layer}). The full "
            "report, with the evidence and the fixes, is linked from the exporter's page (/)."
        )

    test = tmp_path / "rules_test.yml"
    test.write_text(
        RULES_TEST.format(
            rules=json.dumps(str(DEPLOY / "tlsdoctor.rules.yml")),
            soon=7 * 86400,  # the rule unit test's clock starts at 0: this notAfter is 7 days away
            description_a=description("a", "firewall-drop", "middlebox"),
            description_c=description("c", "unknown", ""),
        )
    )
    result = promtool("test", "rules", str(test))
    assert result.returncode == 0, result.stdout + result.stderr


def _exec_start(unit: str) -> list[str]:
    (line,) = [text for text in unit.splitlines() if text.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_systemd_unit(tmp_path: Path) -> None:
    unit = (DEPLOY / "tlsdoctor-exporter.service").read_text()
    command = _exec_start(unit)
    assert Path(command[0]).name == "tlsdoctor"
    args = build_parser().parse_args(command[1:])  # the arguments are the exporter's
    assert args.command == "exporter"
    assert settings(args.listen, args.config).listen == "127.0.0.1:9219"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    script = Path(sys.executable).with_name("tlsdoctor")
    if not script.exists():
        pytest.skip("the tlsdoctor console script is not installed beside this python")
    local = tmp_path / "tlsdoctor-exporter.service"
    local.write_text(unit.replace(command[0], str(script)))
    verified = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
    assert "Unknown key" not in verified.stderr and "ignoring" not in verified.stderr, verified.stderr


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_containerfile_matches_the_package() -> None:
    steps = _instructions((DEPLOY / "Containerfile").read_text())
    known = {"FROM", "WORKDIR", "COPY", "RUN", "ENV", "USER", "EXPOSE", "ENTRYPOINT", "CMD"}
    assert {word for word, _ in steps} <= known
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for word, rest in steps:
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        if word == "RUN" and "pip install" in rest:
            extra = rest.split("'.[", 1)[1].split("]", 1)[0]
            assert extra in project["optional-dependencies"], extra
    entry = json.loads(next(rest for word, rest in steps if word == "ENTRYPOINT"))
    cmd = json.loads(next(rest for word, rest in steps if word == "CMD"))
    assert entry[0] in project["scripts"]
    args = build_parser().parse_args([*entry[1:], *cmd])
    assert args.command == "exporter"
    assert settings(args.listen, args.config).port == int(next(r for w, r in steps if w == "EXPOSE"))
    copied = next(rest.split()[0] for word, rest in steps if word == "COPY" and str(args.config) in rest)
    assert set(load_modules(ROOT / copied)) >= {"default", "smtp"}
