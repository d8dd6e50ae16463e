"""Socle 8, login banner: ESMS-BAN-01 on Debian (/etc/issue, /etc/issue.net, sshd Banner)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, unstated_in_sshd_config, var

ISSUE = "/etc/issue"
ISSUE_NET = "/etc/issue.net"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _shows(content: str | None, text: str, version: str, *, console: bool) -> str | None:
    """None if ``content`` shows the charter text and version, else what is wrong."""
    if content is None:
        return "missing"
    if console:  # agetty reads "\\" as one backslash (the role doubles them)
        content = content.replace("\\\\", "\\")
    shown = _norm(content)
    problems = []
    if _norm(text) not in shown:
        problems.append("charter text absent")
    if version and version not in shown:
        problems.append(f"charter version {version} absent")
    return ", ".join(problems) or None


def ban_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-BAN-01: /etc/issue, /etc/issue.net and the file sshd shows before authentication
    carry the profile's banner text and charter version."""
    text = str(var(variables, "esms_banner_text", "") or "").strip()
    version = str(var(variables, "esms_banner_charter_version", "") or "").strip()
    if not text:
        return Outcome.not_applicable("the profile declares no banner (banner.text)")
    ban = section(facts, "banner")
    sshd = section(facts, "sshd")
    files: Mapping[str, str | None] = ban.get("files") or {}
    named = str(sshd.get("banner") or "none")
    found: dict[str, Any] = {"sshd Banner": named}
    problems = []
    for path, console in ((ISSUE, True), (ISSUE_NET, False)):
        wrong = _shows(files.get(path), text, version, console=console)
        found[path] = wrong or "charter shown"
        if wrong:
            problems.append(f"{path}: {wrong}")
    if named.lower() == "none":
        problems.append("sshd shows no banner (Banner none)")
    elif named != ISSUE_NET:
        wrong = _shows(files.get(named), text, version, console=False)
        found[named] = wrong or "charter shown"
        if wrong:
            problems.append(f"sshd banner {named}: {wrong}")
    problems += unstated_in_sshd_config(facts, {"Banner": ISSUE_NET})
    expected = {
        "sshd Banner": ISSUE_NET + " (also stated in sshd_config)",
        "files": f"{ISSUE}, {ISSUE_NET} show the charter text and version {version}",
    }
    return Outcome(not problems, found, expected,
                   "; ".join(problems) or f"the charter (version {version}) is shown at login")
