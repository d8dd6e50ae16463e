"""The fleet page in headless Chromium: loads with no error under its CSP, links to each
site's report, prints; screenshot produced. Skipped without chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from esms_baseline.cli import main
from tests.integration.test_report_chromium import CHROMIUM, PROBE, chromium
from tests.unit.test_fleet import record_fleet

pytestmark = [pytest.mark.slow]


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package chromium)")
def test_fleet_report_in_headless_chromium(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    record_fleet(db)
    out = tmp_path / "parc"
    assert main(["report", "--fleet", "--history", str(db), "-o", str(out)]) == 0
    index = out / "index.html"
    probed = out / "probed.html"
    probed.write_text(index.read_text().replace("<head>", "<head>" + PROBE, 1))
    dom = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                   "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    head = re.search(r"<html[^>]*>", dom.stdout)
    assert head is not None and 'data-loaded="1"' in head[0] and 'data-errors="0"' in head[0]
    console = [line for line in dom.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line]
    assert not console, console
    assert "Parc des établissements" in dom.stdout
    links = re.findall(r'href="([^"]+)"', dom.stdout)
    assert sorted(links) == ["ehpad-les-tilleuls.html", "mas-les-ch-nes-co.html"]
    for link in links:  # every link leads to a site report that loads too
        page = chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom",
                        (out / link).as_uri())
        assert page.returncode == 0 and "Synthèse pour la direction" in page.stdout
    shot = tmp_path / "fleet.png"
    snap = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", index.as_uri())
    assert snap.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = tmp_path / "fleet.pdf"
    printed = chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                       index.as_uri())
    assert printed.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"
