"""Proxy settings: the environment, and the system files services and package managers read.

A shell, a cron job, a systemd service and apt each take their proxy from a different place, so
"curl works but the service fails" is often two proxy settings. Every value is shown with its
credentials redacted (target.redact_userinfo): a report is pasted into tickets.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence

from tlsdoctor.host.base import Collected, FactCheck, read_text
from tlsdoctor.model import Status
from tlsdoctor.observations.host import ProxySetting
from tlsdoctor.target import redact_userinfo

NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")
SHELL_FILES = ("/etc/environment", "/etc/profile.d/*.sh")
APT_FILES = ("/etc/apt/apt.conf", "/etc/apt/apt.conf.d/*")
INI_FILES = ("/etc/dnf/dnf.conf", "/etc/yum.conf")
MAX_FILES = 64
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_]+)\s*=\s*(.*?)\s*$")
_APT = re.compile(r"^\s*(Acquire::[a-z]+::Proxy(?:::[^\s\"]+)?)\s+\"([^\"]*)\"\s*;", re.I)
_INI = re.compile(r"^\s*(proxy(?:_username|_password)?)\s*=\s*(.*?)\s*$")


def shown_value(name: str, value: str) -> str:
    """The value as reports may show it: unquoted, credentials and passwords replaced by ***."""
    value = value.strip().strip("\"'")
    if name.lower().endswith(("password", "username")):
        return "***" if value else ""
    return value if name.lower() == "no_proxy" else redact_userinfo(value)


def from_environment(environ: Mapping[str, str]) -> list[ProxySetting]:
    return [
        ProxySetting(source="environment", name=k, value=shown_value(k, v))
        for k, v in sorted(environ.items())
        if k.lower() in NAMES
    ]


def _expand(patterns: Sequence[str]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        out += sorted(glob.glob(pattern)) if "*" in pattern else [pattern]
    return out[:MAX_FILES]


def from_files(
    shell: Sequence[str] = SHELL_FILES, apt: Sequence[str] = APT_FILES, ini: Sequence[str] = INI_FILES
) -> list[ProxySetting]:
    """Proxy lines of /etc/environment and profile scripts, apt's Acquire::*::Proxy, dnf/yum proxy=."""
    found: list[ProxySetting] = []
    for kind, pattern, paths in (
        ("shell", _ASSIGN, _expand(shell)),
        ("apt", _APT, _expand(apt)),
        ("ini", _INI, _expand(ini)),
    ):
        for path in paths:
            for line in (read_text(path) or "").splitlines():
                if line.lstrip().startswith(("#", "//")):
                    continue
                m = pattern.match(line)
                if m is None or (kind == "shell" and m.group(1).lower() not in NAMES):
                    continue
                found.append(
                    ProxySetting(source=path, name=m.group(1), value=shown_value(m.group(1), m.group(2)))
                )
    return found


def disagreements(settings: list[ProxySetting]) -> list[str]:
    """Variables set twice in the environment with different values (http_proxy vs HTTP_PROXY):
    curl reads only the lower-case http_proxy, Python prefers lower case, Go upper: clients differ."""
    env = {s.name: s.value for s in settings if s.source == "environment"}
    out = []
    for name in NAMES:
        lower, upper = env.get(name), env.get(name.upper())
        if lower is not None and upper is not None and lower != upper:
            out.append(f"{name}={lower} but {name.upper()}={upper}: clients pick different ones")
    return out


class ProxyCheck(FactCheck):
    """The proxy settings in effect for this shell and those configured system-wide."""

    id = "host.proxy"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ

    def collect(self) -> Collected:
        settings = from_environment(os.environ if self.environ is None else self.environ)
        settings += from_files()
        if not settings:
            return Status.PASS, "no proxy configured (environment, /etc/environment, apt, dnf)", []
        conflicts = disagreements(settings)
        listed = "; ".join(s.describe() for s in settings[:6])
        if conflicts:
            return Status.WARN, "; ".join(conflicts), settings
        return Status.PASS, listed, settings
