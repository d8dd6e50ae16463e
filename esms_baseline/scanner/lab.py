"""The reference scanner on a lab host: install it offline from the project's cache of
Debian packages, and run ``oscap xccdf eval`` inside the host (for tests and the lab).

Lab hosts have no network: the .debs fetched by ``scripts/fetch-scanner.sh`` are copied
into the host's root (its overlay, seen from the control machine) and installed with
``dpkg -i``; only the packages the host lacks are installed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from esms_baseline.errors import ScannerError
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.scanner.content import HOST_DATASTREAM, datastream_path, deb_files
from esms_baseline.scanner.results import parse_results

#: Where the .debs, tailoring and results go inside a lab host.
HOST_WORK_DIR = "/var/tmp/esms-scanner"


def _package_name(deb: Path) -> str:
    out = subprocess.run(["dpkg-deb", "-f", str(deb), "Package"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise ScannerError(f"{deb}: not a Debian package: {out.stderr.strip()}")
    return out.stdout.strip()


def install_scanner(lab: Lab, host: str, cache: Path | None = None) -> list[str]:
    """Install openscap-scanner and the Debian 12 datastream in a lab host; returns the
    packages installed (empty when the host already had them all)."""
    debs = [d for d in deb_files(cache) if not d.name.startswith("ssg-")]
    ds = datastream_path(cache)
    if not debs or not ds.is_file():
        raise ScannerError(
            f"no scanner packages in {ds.parent.parent}: run scripts/fetch-scanner.sh"
        )
    listing = nsenter_run(
        lab, host, ["dpkg-query", "-W", "-f=${db:Status-Status} ${Package}\\n"]
    ).stdout
    installed = {line.split()[1] for line in listing.splitlines()
                 if line.startswith("installed ") and len(line.split()) == 2}
    missing = [d for d in debs if _package_name(d) not in installed]
    root = lab.host(host).root
    work = root / HOST_WORK_DIR.lstrip("/")
    work.mkdir(parents=True, exist_ok=True)
    for d in missing:
        shutil.copy2(d, work / d.name)
    if missing:
        nsenter_run(lab, host, ["dpkg", "-i", *(f"{HOST_WORK_DIR}/{d.name}" for d in missing)],
                    timeout=300)
        for d in missing:
            (work / d.name).unlink()
    target = root / HOST_DATASTREAM.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ds, target)
    return [_package_name(d) for d in missing]


@dataclass(frozen=True)
class ScanResult:
    """One ``oscap xccdf eval`` run: its exit status (0 all pass, 2 some fail) and the
    result of each rule (short ids)."""

    exit_code: int
    rules: dict[str, str]
    results_xml: str


def run_oscap(lab: Lab, host: str, profile: str, tailoring_xml: str | None = None,
              rules: list[str] | None = None) -> ScanResult:
    """``oscap xccdf eval`` inside ``host`` with ``profile`` (a full XCCDF profile id, from
    the datastream or the tailoring), optionally limited to ``rules`` (short ids)."""
    from esms_baseline.scanner.content import RULE_PREFIX

    work = lab.host(host).root / HOST_WORK_DIR.lstrip("/")
    work.mkdir(parents=True, exist_ok=True)
    argv = ["oscap", "xccdf", "eval", "--profile", profile,
            "--results", f"{HOST_WORK_DIR}/results.xml"]
    if tailoring_xml is not None:
        (work / "tailoring.xml").write_text(tailoring_xml, encoding="utf-8")
        argv += ["--tailoring-file", f"{HOST_WORK_DIR}/tailoring.xml"]
    for r in rules or []:
        argv += ["--rule", RULE_PREFIX + r]
    argv.append(HOST_DATASTREAM)
    (work / "results.xml").unlink(missing_ok=True)
    proc = nsenter_run(lab, host, argv, check=False, timeout=600)
    # oscap: 0 every rule passed, 2 at least one failed, 1 an error of the tool itself.
    if proc.returncode not in (0, 2) or not (work / "results.xml").is_file():
        raise ScannerError(
            f"{host}: oscap failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-800:]}"
        )
    xml = (work / "results.xml").read_text(encoding="utf-8")
    return ScanResult(proc.returncode, parse_results(xml), xml)
