"""The HTML report (``--report FILE``): the markup itself (parsed with html.parser and, for the SVG
ladders, xml.etree), then the same pages in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium): no console error, verdict and cause in the DOM, one lane per
party in each ladder, a screenshot that is not blank."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.model import Cause, CheckResult, Evidence, Report, Status, TargetInfo, Verdict
from tlsdoctor.observations.hello import HelloEnd, HelloProbe
from tlsdoctor.observations.idle import IdleEnd, IdleHold
from tlsdoctor.observations.tcp import ConnectOutcome, TcpConnect
from tlsdoctor.observations.tls import HandshakeAttempt, HandshakeOutcome
from tlsdoctor.report import html as html_report
from tlsdoctor.testing.endpoints import running

CLI = [sys.executable, "-m", "tlsdoctor"]
SVG_NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>\x1b]52;c;aGk=\x07 \u202eevil&amp;\udcff'  # + an undecodable byte


class Page(HTMLParser):
    """What a browser would load or run: tags, every URL-bearing attribute, the text, the SVGs."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.metas: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.feed(document)
        self.close()
        self.svgs = [
            ET.fromstring(document[start : document.index("</svg>", start) + 6])
            for start in _all(document, "<svg ")
        ]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "srcset")]
        if tag == "meta":
            self.metas.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _all(document: str, needle: str) -> Iterator[int]:
    i = document.find(needle)
    while i >= 0:
        yield i
        i = document.find(needle, i + 1)


def lanes(svg: ET.Element) -> list[str]:
    return [g.get("data-lane", "") for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "lane"]


def lane_x(svg: ET.Element, lane: str) -> str | None:
    """Where a lane's vertical line stands."""
    group = next(g for g in svg.iter(f"{SVG_NS}g") if g.get("data-lane") == lane)
    return next(group.iter(f"{SVG_NS}line")).get("x1")


def probe_svg(svgs: list[ET.Element], title: str) -> ET.Element:
    return next(s for s in svgs if (s.get("aria-label") or "").startswith(title))


def marks(svg: ET.Element) -> list[str]:
    return [g.get("data-mark", "") for g in svg.iter(f"{SVG_NS}g") if "step" in (g.get("class") or "")]


def diagnose_report(endpoint: str, out: Path) -> dict[str, Any]:
    """Run the CLI against a tlsdoctor.testing endpoint with --report; the JSON of the same run."""
    with running(endpoint) as servers:
        srv = servers[endpoint]
        args = [*CLI, "diagnose", f"{srv.servername}:{srv.port}", "--connect-to", "127.0.0.1"]
        args += ["--timeout", "3", "--no-proxy", "--report", str(out), "--json"]
        if srv.ca_file:
            args += ["--ca-file", str(srv.ca_file)]
        proc = subprocess.run(args, capture_output=True, timeout=90, check=False)
    assert proc.returncode == 1, proc.stderr.decode()
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module")
def expired(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("html") / "expired.html"
    return out, diagnose_report("expired", out)


@pytest.fixture(scope="module")
def scan_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `scan --report` of a server at SECLEVEL 0 (static-RSA and CBC suites accepted)."""
    out = tmp_path_factory.mktemp("html") / "scan.html"
    with running("weak-key") as servers:
        srv = servers["weak-key"]
        args = [*CLI, "scan", f"{srv.servername}:{srv.port}", "--connect-to", "127.0.0.1"]
        args += ["--timeout", "3", "--report", str(out)]
        if srv.ca_file:
            args += ["--ca-file", str(srv.ca_file)]
        proc = subprocess.run(args, capture_output=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return out


def hostile_report(*, cause: str) -> Report:
    """A report whose every server-supplied string is hostile, with one reset hello probe."""
    hs = HandshakeAttempt(
        variant="default",
        address="198.18.0.10",
        port=443,
        servername=HOSTILE,
        outcome=HandshakeOutcome.NOT_TLS,
        elapsed_ms=12.5,
        bytes_received=40,
        first_bytes=HOSTILE.encode("utf-8", "surrogateescape"),
    )
    connect = TcpConnect(
        address="198.18.0.10", port=443, family="ipv4", outcome=ConnectOutcome.CONNECTED, elapsed_ms=3.0
    )
    probe = HelloProbe(
        probe="modern",
        shape="modern",
        address="198.18.0.10",
        port=443,
        sni="blocked.test",
        sni_role="target",
        hello_bytes=517,
        end=HelloEnd.RESET,
        elapsed_ms=4.0,
        connect_ms=2.0,
    )
    return Report(
        command="diagnose",
        target=TargetInfo(host=HOSTILE, port=443, servername=HOSTILE),
        verdict=Verdict.FAULT,
        causes=(
            Cause(
                id=cause,
                confidence=0.9,
                summary=f"summary {HOSTILE}",
                evidence=(Evidence(check="handshake.default", observation=f"saw {HOSTILE}"),),
                fixes=(f"fix {HOSTILE}",),
            ),
        ),
        checks=(
            CheckResult(
                id="handshake.default", status=Status.FAIL, summary=HOSTILE, observations=(connect, hs)
            ),
            CheckResult(id="hello.matrix", status=Status.FAIL, summary="reset", observations=(probe,)),
        ),
        duration_ms=20.0,
    )


# --- the markup ----------------------------------------------------------------------------------------


def test_expired_report_is_self_contained_with_verdict_causes_and_ladders(
    expired: tuple[Path, dict[str, Any]],
) -> None:
    path, data = expired
    document = path.read_text(encoding="utf-8")
    page = Page(document)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert page.urls == [] and "url(" not in document and "@import" not in document
    csp = next(m["content"] for m in page.metas if m.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    assert any(m.get("name") == "viewport" for m in page.metas)
    assert "@media print" in document and "prefers-color-scheme:dark" in document
    body = "".join(page.text)
    assert data["causes"][0]["id"] == "cert-expired"
    # verdict and cause come before the ladders and the check table
    assert body.index("FAULT") < body.index("cert-expired") < body.index("Handshakes") < body.index("Checks")
    assert data["causes"][0]["summary"] in body and data["causes"][0]["fixes"][0] in body
    # one ladder per handshake and hello probe the JSON of the same run recorded
    probes = sum(
        o["kind"] in ("handshake", "hello-probe") for c in data["checks"] for o in c["data"]["observations"]
    )
    assert len(page.svgs) == probes > 10
    for svg in page.svgs:
        assert lanes(svg) == ["client", "server"], "no middlebox was diagnosed"
    titles = [svg.get("aria-label", "") for svg in page.svgs]
    default = page.svgs[titles.index(next(t for t in titles if t.startswith("handshake [default]")))]
    labels = ["".join(t.itertext()) for t in default.iter(f"{SVG_NS}text")]
    assert any("client rejects the certificate" in x and "expired" in x for x in labels), labels
    assert marks(default)[-1] == "fail"
    refused = probe_svg(page.svgs, "handshake [tls1.0]")
    assert "alert" in marks(refused), "the server's protocol_version alert is marked"


def test_hostile_text_is_escaped_and_its_controls_visible() -> None:
    document = html_report.render(hostile_report(cause="server-not-tls"))
    page = Page(document)
    assert "script" not in page.tags, "a server's <script> must stay text"
    assert "\x1b" not in document and "\x07" not in document and "\u202e" not in document
    body = "".join(page.text)
    assert '<script>alert("x")</script>\\x1b]52;c;aGk=\\x07 \\u202eevil&amp;\\udcff' in body
    document.encode("utf-8")  # the CLI writes the file as UTF-8: no lone surrogate may reach it
    for svg in page.svgs:  # the ladders are well-formed XML even with hostile labels
        assert lanes(svg) == ["client", "server"]
    reset = probe_svg(page.svgs, "hello [modern]")
    rst = [g for g in reset.iter(f"{SVG_NS}g") if g.get("data-mark") == "rst"]
    assert len(rst) == 1
    line = next(rst[0].iter(f"{SVG_NS}line"))
    server_x = lane_x(reset, "server")
    assert line.get("x1") == server_x, "without a middlebox diagnosis the RST is drawn from the server"


def test_a_diagnosed_middlebox_gets_its_lane_and_its_rst() -> None:
    page = Page(html_report.render(hostile_report(cause="sni-filtered")))
    said = "The middlebox lane is drawn because the diagnosis names sni-filtered; the RSTs are drawn from it"
    assert said in "".join(page.text)
    assert page.svgs and all(lanes(s) == ["client", "middlebox", "server"] for s in page.svgs)
    reset = probe_svg(page.svgs, "hello [modern]")
    mbox_x = lane_x(reset, "middlebox")
    rst = next(g for g in reset.iter(f"{SVG_NS}g") if g.get("data-mark") == "rst")
    assert next(rst.iter(f"{SVG_NS}line")).get("x1") == mbox_x


def test_idle_hold_ladder_shows_the_close_and_the_failed_write_in_time_order() -> None:
    hold = IdleHold(
        address="198.18.0.10",
        port=443,
        limit_s=3.0,
        ending=IdleEnd.RESET,
        ended_ms=1001.0,
        close_notify_ms=1000.0,
        fin_ms=1000.5,
        reset_ms=1001.0,
        writes=1,
        write_error="ECONNRESET",
        write_ms=1050.0,
    )
    report = hostile_report(cause="server-idle-close")
    report = Report(
        command="diagnose",
        target=report.target,
        verdict=Verdict.FAULT,
        causes=report.causes,
        checks=(CheckResult(id="idle", status=Status.FAIL, summary="closed", observations=(hold,)),),
        duration_ms=1.0,
    )
    (svg,) = Page(html_report.render(report)).svgs
    assert lanes(svg) == ["client", "server"]
    steps = [g for g in svg.iter(f"{SVG_NS}g") if "step" in (g.get("class") or "")]
    said = [
        "".join(next(t for t in g.iter(f"{SVG_NS}text") if t.get("class") == "lbl").itertext()) for g in steps
    ]
    times = [
        "".join(next(t for t in g.iter(f"{SVG_NS}text") if t.get("class") == "t").itertext()) for g in steps
    ]
    assert said[1:] == [
        "close_notify alert (graceful close)",
        "FIN",
        "RST",
        "application write #1",
        "the write fails: ECONNRESET",
    ]
    assert times[1:4] == ["1000 ms", "1000 ms", "1001 ms"] and marks(svg)[3] == "rst"


def test_scan_grid_marks_accepted_suites_and_weak_ones(scan_page: Path) -> None:
    document = scan_page.read_text(encoding="utf-8")
    page = Page(document)
    assert "script" not in page.tags and page.urls == []
    start = document.index('<table class="grid">')
    grid = document[start : document.index("</table>", start) + 8]
    root = ET.fromstring(grid.replace("<br>", "<br/>"))
    columns = ["".join(th.itertext()) for th in root.find("thead/tr").findall("th")][1:]  # type: ignore[union-attr]
    assert [c.split("accepted")[0].split("refused")[0] for c in columns][-2:] == ["TLSv1.2", "TLSv1.3"]
    rows = {r.find("th/code").text: r for r in root.findall("tbody/tr")}  # type: ignore[union-attr]
    tls13 = rows["TLS_AES_128_GCM_SHA256"].findall("td")
    assert tls13[-1].text == "✔" and tls13[-2].text is None, "TLS 1.3 suites only in the TLS 1.3 column"
    static_rsa = rows["TLS_RSA_WITH_AES_128_GCM_SHA256"].findall("td")
    assert "weak" in (static_rsa[-2].get("class") or "") and "forward secrecy" in (
        static_rsa[-2].get("title") or ""
    )
    assert "weak" not in (rows["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"].findall("td")[-2].get("class") or "")


@pytest.fixture
def openssl_expired(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``openssl s_server`` (not our code) with a certificate the openssl CLI made 10 days ago, valid 2."""
    if not (shutil.which("openssl") and shutil.which("faketime")):
        pytest.skip("openssl and faketime are needed (.ci/cert-packages.txt)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["faketime", "-10 days", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key), "-www"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):  # up to 5 s for it to listen
            with socket.socket() as c:
                if c.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port, cert
    finally:
        server.kill()
        server.wait(timeout=10)


def test_report_of_an_openssl_s_server(openssl_expired: tuple[int, Path], tmp_path: Path) -> None:
    port, cert = openssl_expired
    out = tmp_path / "report.html"
    args = [*CLI, "diagnose", f"localhost:{port}", "--connect-to", "127.0.0.1", "--ca-file", str(cert)]
    proc = subprocess.run([*args, "--timeout", "3", "--report", str(out)], capture_output=True, timeout=90)
    assert proc.returncode == 1, proc.stderr.decode()
    page = Page(out.read_text(encoding="utf-8"))
    body = "".join(page.text)
    assert body.index("FAULT") < body.index("cert-expired") < body.index("Handshakes")
    default = probe_svg(page.svgs, "handshake [default]")
    assert lanes(default) == ["client", "server"] and marks(default)[-1] == "fail"


# --- a real browser ------------------------------------------------------------------------------------

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "chromium and chromium-driver are not installed (.ci/html-packages.txt; root installs them)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the test extra) is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="tlsdoctor-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument("--window-size=1200,900")
        options.binary_location = CHROMIUM
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(DRIVER))
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def png_colours(png: bytes) -> int:
    """Distinct pixel colours of an 8-bit RGB/RGBA PNG (what Chromium writes), decoded with zlib."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, prev, seen = zlib.decompress(idat), width * channels, bytearray(width * channels), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            line[i] = (line[i] + pred) & 0xFF
        seen.update(bytes(line[i : i + channels]) for i in range(0, stride, channels))
        prev = line
    return len(seen)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def test_png_decoder_counts_colours() -> None:
    """The screenshot check's own decoder, on a PNG made here: 2x2 RGB, three colours; the second row
    stored with the Up filter (RFC 2083 §6.3: each byte minus the byte above)."""
    rows = bytes([0, 255, 0, 0, 0, 255, 0]) + bytes([2, 1, 0, 255, 0, 1, 255])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    assert png_colours(png) == 3


def _load(browser: Any, path: Path) -> None:
    browser.get_log("browser")  # drop what an earlier page logged
    browser.get(path.resolve().as_uri())


def _console_errors(browser: Any) -> list[Any]:
    return [e for e in browser.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]


def test_expired_report_in_chromium(browser: Any, expired: tuple[Path, dict[str, Any]]) -> None:
    from selenium.webdriver.common.by import By

    path, data = expired
    _load(browser, path)
    assert _console_errors(browser) == []
    assert browser.find_element(By.ID, "verdict").text.startswith("FAULT")
    assert "cert-expired" in browser.find_element(By.ID, "verdict").text
    assert data["causes"][0]["summary"] in browser.find_element(By.ID, "causes").text
    lane_counts = browser.execute_script(
        "return [...document.querySelectorAll('svg.ladder')].map(s => s.querySelectorAll('g.lane').length)"
    )
    assert len(lane_counts) > 10 and set(lane_counts) == {2}
    width = browser.execute_script(
        "return document.querySelector('svg.ladder').getBoundingClientRect().width"
    )
    assert width > 200, "the ladder is laid out, not collapsed"
    assert png_colours(browser.get_screenshot_as_png()) > 20
    folded = "return document.querySelector('details figure').checkVisibility()"
    assert browser.execute_script(folded) is False, "the probes that succeeded are folded on screen"
    try:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert browser.execute_script(folded) is True, "printed, every ladder is shown"
        dark = [{"name": "prefers-color-scheme", "value": "dark"}]
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "screen", "features": dark})
        background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


def test_hostile_middlebox_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "hostile.html"
    page.write_text(html_report.render(hostile_report(cause="sni-filtered")), encoding="utf-8")
    _load(browser, page)
    assert _console_errors(browser) == []
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    assert "\\u202eevil&amp;" in browser.find_element(By.ID, "causes").text
    lanes_seen = browser.execute_script(
        "return [...document.querySelectorAll('svg.ladder')].map("
        "s => [...s.querySelectorAll('g.lane')].map(g => g.dataset.lane).join(','))"
    )
    assert lanes_seen and set(lanes_seen) == {"client,middlebox,server"}


def test_scan_report_in_chromium(browser: Any, scan_page: Path) -> None:
    from selenium.webdriver.common.by import By

    _load(browser, scan_page)
    assert _console_errors(browser) == []
    grid = browser.find_element(By.CSS_SELECTOR, "table.grid")
    assert "TLSv1.3" in grid.text and "TLS_AES_128_GCM_SHA256" in grid.text
    assert len(grid.find_elements(By.CSS_SELECTOR, "td.cell.weak")) > 0
    assert png_colours(browser.get_screenshot_as_png()) > 20
