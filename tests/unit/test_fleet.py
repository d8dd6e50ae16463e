"""Fleet orchestration (esms_baseline.fleet) and the fleet report, without lab hosts: the site
work is injected here; tests/integration/test_fleet_lab.py runs real checks on lab hosts."""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time
from pathlib import Path

import pytest

from esms_baseline.cli import main
from esms_baseline.fleet import SiteRun, find_profiles, format_summary, run_fleet
from esms_baseline.history import History
from esms_baseline.profile import SiteProfile
from esms_baseline.report.fleet import fleet_document, fleet_model, render_fleet_html
from tests.unit.test_report import DEFAULT_FAILS, make_result

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = (ROOT / "examples" / "site-minimal.yml").read_text()


def site(folder: Path, name: str, *, text: str | None = None, file: str | None = None) -> Path:
    path = folder / (file or f"{name.lower().replace(' ', '-')}.yml")
    path.write_text(text if text is not None else MINIMAL.replace("SSIAD Exemple", name))
    return path


def test_find_profiles_keeps_only_profiles(tmp_path: Path) -> None:
    a = site(tmp_path, "Site A")
    b = site(tmp_path, "Site B")
    (tmp_path / "a.inventory.yml").write_text("plugin: esms_site\nprofile: site-a.yml\n")
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    h1:\n")
    (tmp_path / "notes.txt").write_text("x")
    assert find_profiles([tmp_path]) == [a, b]
    assert find_profiles([b, tmp_path]) == [b, a]  # given order, no duplicate
    with pytest.raises(Exception, match="no such profile"):
        find_profiles([tmp_path / "missing.yml"])


def test_bad_profiles_are_reported_and_others_run_within_the_bound(tmp_path: Path) -> None:
    good = [site(tmp_path, f"Site {i}") for i in range(5)]
    bad = site(tmp_path, "x", text=MINIMAL.replace('"2A0009999"', '"12"'), file="bad.yml")
    dup = site(tmp_path, "Site 0", file="dup.yml")
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(path: Path, profile: SiteProfile) -> SiteRun:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        if profile.site.name == "Site 3":
            raise RuntimeError("boom")
        code = 1 if profile.site.name == "Site 1" else 0
        return SiteRun(profile=path, site=profile.site.name, exit_code=code, hosts=1)

    fleet = run_fleet("check", [*good, bad, dup], work, sites_parallel=2)
    assert peak == 2
    by = {s.profile.name: s for s in fleet.sites}
    assert [s.profile for s in fleet.sites] == [*good, bad, dup]
    assert by["bad.yml"].exit_code == 2 and by["bad.yml"].errors[0].startswith(f"{bad}:9:11: site.finess:")
    assert by["dup.yml"].exit_code == 2 and "already the name of" in by["dup.yml"].errors[0]
    assert by["site-3.yml"].exit_code == 3 and "boom" in by["site-3.yml"].errors[0]
    assert by["site-1.yml"].exit_code == 1 and by["site-0.yml"].exit_code == 0
    assert fleet.exit_code == 3  # the highest status of its sites
    text = format_summary(fleet)
    assert "non conformes" in text and "Site 4" in text and "statut de sortie 3" in text
    assert json.loads(json.dumps(fleet.to_dict()))["exit_code"] == 3


def test_exit_status_is_the_highest() -> None:
    def fleet_of(*codes: int) -> int:
        now = _dt.datetime.now(_dt.UTC)
        from esms_baseline.fleet import FleetResult

        return FleetResult("drift", now, now, tuple(
            SiteRun(profile=Path(f"{i}.yml"), site=str(i), exit_code=c)
            for i, c in enumerate(codes))).exit_code

    assert fleet_of(0, 0) == 0
    assert fleet_of(0, 1) == 1
    assert fleet_of(1, 2) == 2
    assert fleet_of(2, 3, 1) == 3
    assert fleet_of(3, 4) == 4
    assert fleet_of() == 2


def record_fleet(path: Path) -> None:
    base = _dt.datetime(2026, 2, 14, 2, 30, tzinfo=_dt.UTC)
    with History(path) as h:
        for i in range(4):
            h.record(make_result(when=base + _dt.timedelta(days=7 * i), site="EHPAD Les Tilleuls",
                                 fail=DEFAULT_FAILS if i < 3 else {}))
            h.record(make_result(when=base + _dt.timedelta(days=7 * i, hours=1),
                                 site="MAS <Les Chênes> & Co", fail=DEFAULT_FAILS))


def test_fleet_report_model_html_and_json(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    record_fleet(db)
    with History(db) as h:
        model = fleet_model(h, ["EHPAD Les Tilleuls", "MAS <Les Chênes> & Co", "Jamais vu"])
    html = render_fleet_html(model)
    assert html.count("<tr>") == 4  # header + 3 sites
    assert 'href="ehpad-les-tilleuls.html"' in html and 'href="mas-les-ch-nes-co.html"' in html
    assert "MAS &lt;Les Chênes&gt; &amp; Co" in html and "<Les Chênes>" not in html
    assert "jamais vérifié" in html and "Établissement" in html
    assert "default-src 'none'" in html and "<script" not in html and "http" not in html.split(
        "</head>")[1]
    doc = fleet_document(model)
    tilleuls = doc["sites"][0]
    assert len(tilleuls["points"]) == 8 and tilleuls["exit_code"] == 1
    assert [round(t["compliance_rate"], 3) for t in tilleuls["trend"]][-1] < 1
    assert doc["sites"][2]["checked"] is None


def test_report_fleet_cli(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    record_fleet(db)
    out = tmp_path / "parc"
    assert main(["report", "--fleet", "--history", str(db), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "ehpad-les-tilleuls.html", "fleet.json", "index.html", "mas-les-ch-nes-co.html"]
    assert "Synthèse pour la direction" in (out / "ehpad-les-tilleuls.html").read_text()
    assert main(["report", "--fleet", "--site", "x", "--history", str(db), "-o", str(out)]) == 2


def test_fleet_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = site(tmp_path, "Site A")
    b = site(tmp_path, "Site B")
    assert main(["check", str(a), str(b), "--limit", "lab-01"]) == 2
    assert "--limit applies to one site" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "nothing")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["drift", str(empty)]) == 2
    assert main(["apply", str(a), str(b), "--sites-parallel", "0"]) == 2
    assert main(["apply", str(a), str(b), "--controls", "ESMS-XXX-99"]) == 2
    assert "unknown control" in capsys.readouterr().err
    for action in ("check", "drift"):  # the fleet check has no worker path: refused, nothing run
        assert main([action, str(a), str(b), "--worker", "relais@127.0.0.1"]) == 2
        assert "only `apply` supports that yet" in capsys.readouterr().err


def test_schedule_one_timer_for_the_fleet(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    site(folder, "Site A")
    site(folder, "Site B")
    assert main(["schedule", "install", str(folder), "--at", "03:10", "--sites-parallel", "3",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "# esms-baseline-drift-parc-sites.timer" in out
    assert f"-m esms_baseline drift {folder.resolve()} --sites-parallel 3" in out
    assert "OnCalendar=*-*-* 03:10:00" in out
    site(folder, "x", text=MINIMAL.replace('"2A0009999"', '"12"'), file="bad.yml")
    assert main(["schedule", "install", str(folder), "--dry-run"]) != 0
    assert "bad.yml:9:11: site.finess" in capsys.readouterr().err
