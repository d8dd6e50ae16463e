"""The HTML report in a real browser: headless Chromium loads it with no console error, and a
screenshot of the first page (and a PDF print) are produced. Skipped without chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from esms_baseline.history import run_id_of
from esms_baseline.report import render
from esms_baseline.scanner import agreement_rows
from esms_baseline.scanner.record import scan_payload
from tests.unit.test_report import record_runs

pytestmark = [pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]
#: Injected before the report's own content (and before its CSP): records script errors and
#: failed resource loads into attributes of <html>, read back with --dump-dom.
PROBE = ("<script>(function(){var d=document.documentElement;var n=0;"
         "function err(m){n++;d.setAttribute('data-errors',String(n));"
         "d.setAttribute('data-last-error',String(m));}"
         "window.addEventListener('error',function(e){err(e.message||('load failed: '+"
         "((e.target&&(e.target.src||e.target.href))||'?')));},true);"
         "document.addEventListener('securitypolicyviolation',function(e){"
         "err('csp: '+e.blockedURI);});"
         "window.addEventListener('load',function(){d.setAttribute('data-loaded','1');"
         "d.setAttribute('data-errors',String(n));"
         "d.setAttribute('data-height',String(document.body.scrollHeight));});})();</script>")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False,
                          cwd=tmp_path)


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package chromium)")
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_report_in_headless_chromium(tmp_path: Path, lang: str) -> None:
    h = record_runs(tmp_path / "h.sqlite", n=6)
    latest = h.latest("EHPAD Les Tilleuls")
    assert latest is not None
    # with the sections the history adds (scanner agreement, manual actions: #11)
    scans = {latest.hosts[0]: {"accounts_password_pam_minlen": "pass", "accounts_tmout": "fail"}}
    h.record_scan(latest.site, run_id_of(latest), scan_payload(
        agreement_rows(latest, scans), check_run_id=run_id_of(latest),
        check_started=latest.started.isoformat(), versions={latest.hosts[0]: ("OpenSCAP 1.3.7", "0.1.76")}))
    h.record_apply(latest.site, latest.started, latest.finished, "successful", 5, {"manual_actions": [
        {"host": latest.hosts[0], "control": "ESMS-ACC-04", "reason": "x has UID 0"}]})
    html = render(latest, "html", lang=lang, history=h.runs(latest.site),
                  recorded=(h.latest_scan(latest.site), h.latest_apply(latest.site)))
    h.close()
    report = tmp_path / f"report-{lang}.html"
    report.write_text(html, encoding="utf-8")
    probed = tmp_path / f"probed-{lang}.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")

    dom = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                   "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    head = re.search(r"<html[^>]*>", dom.stdout)
    assert head is not None, dom.stdout[:500]
    assert 'data-loaded="1"' in head[0], head[0]
    assert 'data-errors="0"' in head[0], head[0]
    console = [line for line in dom.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line]
    assert not console, console
    assert ("Synthèse pour la direction" if lang == "fr" else "Summary for the director") \
        in dom.stdout
    assert ("Concordance avec le scanner de référence" if lang == "fr"
            else "Agreement with the reference scanner") in dom.stdout

    shot = tmp_path / f"report-{lang}-first-page.png"
    snap = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600",
                    report.as_uri())
    assert snap.returncode == 0, snap.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1600)

    pdf = tmp_path / f"report-{lang}.pdf"
    printed = chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                       report.as_uri())
    assert printed.returncode == 0, printed.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert pages >= 2  # the summary, then the details on their own pages


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package chromium)")
def test_probe_catches_errors(tmp_path: Path) -> None:
    """The probe is not blind: a broken script or an external load in the page is counted."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head>" + PROBE + "<script>nope();</script></head>"
                    "<body><p>x</p></body></html>", encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri())
    head = re.search(r"<html[^>]*>", dom.stdout)
    assert head is not None and 'data-errors="1"' in head[0], dom.stdout[:300]
