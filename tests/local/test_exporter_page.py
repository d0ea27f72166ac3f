"""The exporter's page (``/``) and its report links in a real headless Chromium (as the HTML report's
own test does): the probes listed newest first, escaped, each link opening the full report, nothing
loaded from anywhere (no console error: the Content-Security-Policy would log one)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from exporter_process import exporter, get
from test_html_report import browser, png_colours

from tlsdoctor.testing.endpoints import running

__all__ = ["browser"]  # the fixture, shared with tests/local/test_html_report.py

HOSTILE_TARGET = "\u202eevil.test:443"


def test_the_page_in_a_browser(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with running("healthy", "expired", "reset-after-hello") as servers:
        config = tmp_path / "exporter.yml"
        config.write_text(
            f"modules:\n  lab:\n    servername: localhost\n    ca_file: {servers['healthy'].ca_file}\n"
        )
        with exporter(config=config) as url:
            for name in ("healthy", "expired", "reset-after-hello"):
                assert get(f"{url}/probe?module=lab&target=127.0.0.1:{servers[name].port}")[0] == 200
            status, said, _ = get(f"{url}/probe?target={quote(HOSTILE_TARGET)}")
            assert status == 400 and "\u202e" not in said  # refused, and not echoed raw
            browser.get(f"{url}/")
            assert (
                f"Listening on {url.removeprefix('http://')}." in browser.find_element(By.TAG_NAME, "p").text
            )
            rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
            assert len(rows) == 3
            causes = [r.find_elements(By.TAG_NAME, "code")[1].text for r in rows]
            assert causes == ["firewall-reset", "cert-expired", "healthy"]  # newest first
            shot = browser.get_screenshot_as_png()
            assert png_colours(shot) > 20
            if os.environ.get("TLSDOCTOR_SCREENSHOT"):
                Path(os.environ["TLSDOCTOR_SCREENSHOT"]).write_bytes(shot)
            assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
            rows[1].find_element(By.LINK_TEXT, "report").click()
            assert browser.find_element(By.ID, "verdict").text.startswith("FAULT")
            assert "cert-expired" in browser.find_element(By.ID, "verdict").text
            assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
