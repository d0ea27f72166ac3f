"""Address categories (RFC 6890 and successors), local names, sinkholes, and resolv.conf parsing."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.net import addresses
from tlsdoctor.net.resolvconf import parse_nameservers, system_nameservers


@pytest.mark.parametrize(
    ("ip", "category"),
    [
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "cgnat"),
        ("100.127.255.254", "cgnat"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.200", "documentation"),
        ("2001:db8::1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.1", "benchmarking"),
        ("224.0.0.251", "multicast"),
        ("ff02::fb", "multicast"),
        ("0.1.2.3", "reserved"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.0.170", "reserved"),
        ("127.0.53.53", "sinkhole"),
        ("146.112.61.104", "sinkhole"),
        ("146.112.61.110", "sinkhole"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped: judged by the IPv4 address inside
        ("::ffff:0.0.0.0", "unspecified"),
    ],
)
def test_special_addresses_are_categorised(ip: str, category: str) -> None:
    assert addresses.classify(ip) == category


@pytest.mark.parametrize(
    "ip",
    [
        "93.184.215.14",
        "1.1.1.1",
        "8.8.8.8",
        "172.32.0.1",
        "100.128.0.1",
        "146.112.61.111",
        "2606:4700::1111",
        "64:ff9b::5db8:d70e",
        "192.0.0.9",
        "198.20.0.1",
    ],
)
def test_ordinary_addresses_are_none(ip: str) -> None:
    assert addresses.classify(ip) is None


def test_invalid_address_raises() -> None:
    with pytest.raises(ValueError):
        addresses.classify("not-an-ip")


@given(st.ip_addresses())
def test_every_address_gets_a_known_category_or_none(ip: addresses.IPAddress) -> None:
    known = {
        "unspecified",
        "loopback",
        "private",
        "cgnat",
        "link-local",
        "documentation",
        "benchmarking",
        "multicast",
        "reserved",
        "sinkhole",
        None,
    }
    assert addresses.classify(str(ip)) in known


@given(st.ip_addresses(v=4))
def test_mapped_v6_agrees_with_v4(ip: ipaddress.IPv4Address) -> None:
    assert addresses.classify(f"::ffff:{ip}") == addresses.classify(str(ip))


def test_local_names() -> None:
    assert addresses.is_local_name("localhost")
    assert addresses.is_local_name("LOCALHOST.")
    assert addresses.is_local_name("app.localhost")
    assert addresses.is_local_name("build7", hostname="build7")
    assert addresses.is_local_name("build7.example.com", hostname="build7")
    assert not addresses.is_local_name("localhost.example.com")
    assert not addresses.is_local_name("www.example.com", hostname="build7")


def test_sinkhole_answers_depend_on_the_name() -> None:
    assert addresses.is_sinkhole_answer("0.0.0.0", "localhost")  # never a real destination
    assert addresses.is_sinkhole_answer("127.0.0.1", "ads.example.com")
    assert not addresses.is_sinkhole_answer("127.0.0.1", "localhost")
    assert not addresses.is_sinkhole_answer("127.0.1.1", "build7", hostname="build7")
    assert not addresses.is_sinkhole_answer("10.0.0.1", "intranet.example.com")  # private: only noted
    assert not addresses.is_sinkhole_answer("garbage", "x.example.com")


def test_connectable() -> None:
    assert addresses.is_connectable("10.0.0.1")
    assert addresses.is_connectable("127.0.0.1")
    assert not addresses.is_connectable("0.0.0.0")  # Linux would connect it to the local host
    assert not addresses.is_connectable("::")
    assert not addresses.is_connectable("224.0.0.1")
    assert not addresses.is_connectable("bogus")


def test_resolv_conf_nameservers_bounded_and_validated() -> None:
    text = """# generated
search example.com
nameserver 10.0.0.2
nameserver not-an-ip
nameserver   fe80::1%eth0   # link-local keeps its zone
options edns0
nameserver 10.0.0.2
nameserver 192.0.2.53
nameserver 192.0.2.54
"""
    assert parse_nameservers(text) == ["10.0.0.2", "fe80::1%eth0", "192.0.2.53"]


def test_resolv_conf_missing_file_is_empty(tmp_path: Path) -> None:
    assert system_nameservers(tmp_path / "absent") == []
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\n")
    assert system_nameservers(conf) == ["127.0.0.53"]


def test_hosts_file_names_are_answered_locally(tmp_path: Path) -> None:
    from tlsdoctor.checks.dns import answered_locally
    from tlsdoctor.net.hosts import parse_hosts_names

    hosts = tmp_path / "hosts"
    hosts.write_text(
        "127.0.0.1 localhost\n# 10.0.0.1 commented.test\n198.18.0.5 pinned.test alias.test.  # lab\n"
    )
    assert parse_hosts_names(hosts.read_text()) == {"localhost", "pinned.test", "alias.test"}
    assert answered_locally("PINNED.test", hosts)
    assert answered_locally("alias.test", hosts)
    assert answered_locally("api.localhost", hosts)
    assert not answered_locally("commented.test", hosts)
    assert not answered_locally("example.test", hosts)
