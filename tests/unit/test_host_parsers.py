"""The host checks' parsers on real file formats: /proc/net/tcp rows, openssl.cnf with includes,
proxy lines of the usual system files, curl's version line, /sys/class/net labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.host import openssl_conf, ports, proxy, versions
from tlsdoctor.host.interfaces import concerns, tunnel_kind
from tlsdoctor.observations.host import InterfaceInfo

# Rows as the kernel prints them (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock).
TCP4 = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0
   2: 0100007F:9C42 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0 20 4 30 10 -1
   3: 0A0012C6:9C43 0A0012C6:01BB 02 00000000:00000000 01:00000064 00000002     0        0 3 1 0
garbage line
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 0000000000000000FFFF00000100007F:9C44 0000000000000000FFFF00000100007F:1F90 06 00000000:00000000
   1: 00000000000000000000000001000000:9C45 00000000000000000000000001000000:1F90 08 00000000:00000000
"""


def test_tcp_table_rows() -> None:
    rows = ports.parse_tcp_table(TCP4) + ports.parse_tcp_table(TCP6)
    states = ["LISTEN", "TIME_WAIT", "ESTABLISHED", "SYN_SENT", "TIME_WAIT", "CLOSE_WAIT"]
    assert [r.state for r in rows] == states
    assert rows[1].local_port == 40001 and rows[1].remote == "127.0.0.1" and rows[1].remote_port == 8080
    assert rows[3].remote == "198.18.0.10" and rows[3].remote_port == 443
    assert rows[4].remote == "127.0.0.1"  # v4-mapped shown as IPv4: one destination, one port space
    assert rows[5].remote == "::1"


def test_port_usage_per_destination() -> None:
    rows = ports.parse_tcp_table(TCP4) + ports.parse_tcp_table(TCP6)
    usage = ports.port_usage(40001, 40004, rows)
    assert usage.size == 4 and usage.busiest == "127.0.0.1:8080" and usage.busiest_count == 3
    assert usage.time_wait == 2 and usage.in_use == 4 and usage.fraction == 0.75
    states = ports.socket_states(rows)
    assert states.counts["TIME_WAIT"] == 2 and ("TIME_WAIT", 8080, 2) in states.top


def test_port_range_parse() -> None:
    assert ports.parse_range("32768\t60999\n") == (32768, 60999)
    assert ports.parse_range("x") is None and ports.parse_range(None) is None


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_openssl_conf_follows_includes_and_references(tmp_path: Path) -> None:
    main = write(
        tmp_path / "openssl.cnf",
        "# system policy\nopenssl_conf = init\nlevel = 3\n.include = conf.d\n[init]\nssl_conf = ssl_sect\n",
    )
    write(tmp_path / "conf.d" / "10-ssl.cnf", "[ssl_sect]\nsystem_default = sys_sect\n")
    write(
        tmp_path / "conf.d" / "20-policy.conf",
        "[sys_sect]\nMinProtocol = TLSv1.3\nCipherString = DEFAULT:@SECLEVEL=$default::level\n"
        "Options = ServerPreference, UnsafeLegacyRenegotiation  # for one old server\n",
    )
    write(tmp_path / "conf.d" / "ignored.txt", "[sys_sect]\nMinProtocol = SSLv3\n")
    found = openssl_conf.policy(str(main), environ={"OPENSSL_CONF_INCLUDE": str(tmp_path)})
    assert found.min_protocol == "TLSv1.3"
    assert found.cipher_string == "DEFAULT:@SECLEVEL=3" and found.security_level == 3
    assert found.options == ("ServerPreference", "UnsafeLegacyRenegotiation")
    assert found.legacy_renegotiation
    assert len(found.files) == 3
    assert any("security level 3, Python's ssl uses" in n for n in found.notes)
    worries = openssl_conf.concerns(found)
    assert any("SECLEVEL=3" in w for w in worries) and any("renegotiation" in w for w in worries)


def test_openssl_conf_near_miss_no_system_default(tmp_path: Path) -> None:
    main = write(tmp_path / "openssl.cnf", "openssl_conf = init\n[init]\nssl_conf = ssl_sect\n[ssl_sect]\n")
    found = openssl_conf.policy(str(main), environ={})
    assert found.min_protocol is None and found.security_level is None and not found.legacy_renegotiation
    assert any("no system_default" in n for n in found.notes)
    assert openssl_conf.concerns(found) == []


def test_openssl_conf_include_loop_is_bounded(tmp_path: Path) -> None:
    a = write(tmp_path / "a.cnf", f".include {tmp_path / 'b.cnf'}\nopenssl_conf = x\n")
    write(tmp_path / "b.cnf", f".include {a}\n")
    config = openssl_conf.load(a, environ={})
    assert config.files == [str(a), str(tmp_path / "b.cnf")]
    assert any("loop" in n for n in config.notes)


def test_openssl_conf_relative_include_uses_pragma(tmp_path: Path) -> None:
    main = write(
        tmp_path / "main.cnf",
        f".pragma includedir:{tmp_path}\n.include extra.cnf\n[init]\nssl_conf = s\n",
    )
    extra = "openssl_conf = init\n[s]\nsystem_default = d\n[d]\nMinProtocol = TLSv1.2\n"
    write(tmp_path / "extra.cnf", extra)
    assert openssl_conf.policy(str(main), environ={}).min_protocol == "TLSv1.2"


def test_openssl_conf_quoted_values(tmp_path: Path) -> None:
    main = write(
        tmp_path / "q.cnf",
        "openssl_conf = init\n[init]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\n"
        "CipherString = \"DEFAULT:@SECLEVEL=1\"  # legacy\nMinProtocol = 'TLSv1.2'\n",
    )
    found = openssl_conf.policy(str(main), environ={})
    assert (found.cipher_string, found.security_level) == ("DEFAULT:@SECLEVEL=1", 1)
    assert found.min_protocol == "TLSv1.2"


def test_openssl_conf_path(tmp_path: Path) -> None:
    assert openssl_conf.config_path({"OPENSSL_CONF": "/x/y.cnf"}) == "/x/y.cnf"
    assert openssl_conf.config_path({}).endswith("/openssl.cnf")


def test_proxy_values_are_redacted(tmp_path: Path) -> None:
    env = write(
        tmp_path / "environment", 'PATH="/usr/bin"\nhttps_proxy="http://alice:s3cret@proxy.corp:3128"\n'
    )
    prof = write(tmp_path / "profile.d" / "proxy.sh", "export HTTP_PROXY=bob:pw@10.0.0.1:8080\n#x=1\n")
    apt = write(tmp_path / "apt.conf", 'Acquire::https::Proxy "http://u:p@apt-proxy:3142/";\n')
    dnf = write(tmp_path / "dnf.conf", "[main]\nproxy=http://dnf-proxy:3128\nproxy_password=hunter2\n")
    found = proxy.from_files(shell=[str(env), str(prof)], apt=[str(apt)], ini=[str(dnf)])
    values = {s.name: s.value for s in found}
    assert values == {
        "https_proxy": "http://***@proxy.corp:3128",
        "HTTP_PROXY": "***@10.0.0.1:8080",
        "Acquire::https::Proxy": "http://***@apt-proxy:3142/",
        "proxy": "http://dnf-proxy:3128",
        "proxy_password": "***",
    }
    assert not any(secret in repr(found) for secret in ("s3cret", "alice", "pw@", "hunter2"))


def test_proxy_case_disagreement() -> None:
    found = proxy.from_environment({"http_proxy": "http://a:1", "HTTP_PROXY": "http://b:2", "PATH": "/"})
    assert len(found) == 2 and proxy.disagreements(found)
    same = proxy.from_environment({"http_proxy": "http://a:1", "HTTP_PROXY": "http://a:1"})
    assert proxy.disagreements(same) == []


def test_curl_version_line() -> None:
    line = "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.11 zlib/1.2.13 brotli/1.0.9"
    found = versions.parse_curl(line)
    assert found is not None and found.version == "7.88.1" and found.detail == "OpenSSL/3.0.11"
    assert versions.parse_curl("Usage: curl [options...] <url>") is None


@pytest.mark.parametrize(
    ("name", "link", "devtype", "tun", "kind"),
    [
        ("wg0", "none", "wireguard", False, "wireguard"),
        ("tun0", "none", "", True, "tun"),
        ("vxlan.100", "ether", "vxlan", False, "vxlan"),
        ("ppp0", "ppp", "", False, "ppp"),
        ("eth0", "ether", "", False, ""),
        ("enp3s0", "ether", "", False, ""),
    ],
)
def test_tunnel_kind(name: str, link: str, devtype: str, tun: bool, kind: str) -> None:
    assert tunnel_kind(name, link, devtype, tun) == kind


def test_mtu_concerns() -> None:
    wg_full = InterfaceInfo(name="wg0", mtu=1500, link_type="none", tunnel="wireguard", up=True)
    wg_ok = InterfaceInfo(name="wg0", mtu=1420, link_type="none", tunnel="wireguard", up=True)
    eth = InterfaceInfo(name="eth0", mtu=1500, link_type="ether", up=True)
    assert concerns([wg_full, eth]) and concerns([wg_ok, eth]) == []


def test_container_detection(tmp_path: Path) -> None:
    from tlsdoctor.host.timesync import in_container

    plain = write(tmp_path / "cgroup-plain", "0::/init.scope\n")
    docker = write(tmp_path / "cgroup-docker", "12:pids:/docker/0123abcd\n")
    assert in_container({"container": "podman"}, str(plain))
    assert in_container({}, str(docker)) or in_container(
        {}, str(plain)
    )  # kubepods/docker path, or a marker file
    # The near miss: no variable, no marker file, a host's cgroup (only meaningful outside a container).
    if not any(Path(m).exists() for m in ("/.dockerenv", "/run/.containerenv")):
        assert not in_container({}, str(plain))


def test_hashed_directory_store(tmp_path: Path) -> None:
    from tlsdoctor.host.trust import hashed_directory

    for name in ("5ad8a5d6.0", "ca.pem", "README"):
        write(tmp_path / name, "x")
    found = hashed_directory(str(tmp_path))
    assert found is not None and found.anchors == 2 and found.path == str(tmp_path)
    assert hashed_directory(str(tmp_path / "missing")) is None
