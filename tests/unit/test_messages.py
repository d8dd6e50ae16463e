"""The French report is French: every message and found/expected text the Debian rules
produce on the recorded facts (compliant, fresh, every broken variant) has a French
template (esms_baseline/conformance/messages.py); the French HTML report of those results
holds none of a list of known English messages, the English one keeps them."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from esms_baseline.conformance.messages import translate, untranslated
from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules import RULES, evaluate
from esms_baseline.report import render
from esms_baseline.results import CheckResult, ControlResult, Verdict
from tests.unit.facts import load
from tests.unit.test_conformance_rules import BROKEN

#: English messages a director must never read in the French report
KNOWN_ENGLISH = (
    "no signature database", "not installed", "not enabled and active",
    "undeclared remote-control software", "has received no security update",
    "receives security updates until", "is missing", "the key used by each login",
    "declared account(s) missing", "generic login still usable", "root may log in",
    "open but not declared", "no input chain drops by default", "is not set",
    "backup not configured", "charter text absent", "weak hashes",
    # the providers' table: the state of each account (review R14)
    "expires never", ", usable", "days + MaxFileSec",
)


def _outcomes() -> Iterator[tuple[str, Outcome]]:
    compliant, fresh = load("debian-compliant.json"), load("debian-fresh.json")
    variables = load("vars-compliant.json")
    for control in RULES["debian"]:
        cases = [(copy.deepcopy(compliant), copy.deepcopy(variables)),
                 (copy.deepcopy(fresh), copy.deepcopy(variables))]
        for mutate in BROKEN.get(control, {}).values():
            facts, v = copy.deepcopy(compliant), copy.deepcopy(variables)
            mutate(facts, v)
            cases.append((facts, v))
        for facts, v in cases:
            yield control, evaluate("debian", control, facts, v)


OUTCOMES = list(_outcomes())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def test_every_rule_message_has_a_french_text() -> None:
    missing = {(c, p) for c, o in OUTCOMES for p in untranslated(o.message)}
    assert not missing, sorted(missing)


def test_known_english_messages_have_a_french_text() -> None:
    for c, o in OUTCOMES:
        fr = translate(o.message, "fr")
        for english in KNOWN_ENGLISH:
            assert english not in fr, (c, o.message, fr)


def _result() -> CheckResult:
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    rows = []
    for i, (c, o) in enumerate(OUTCOMES):
        verdict = (Verdict.NOT_APPLICABLE if o.passed is None else Verdict.PASS if o.passed
                   else Verdict.FAIL)
        rows.append(ControlResult(f"h{i}", c, verdict, o.found, o.expected, o.message))
    return CheckResult(site="EHPAD", started=now, finished=now, baseline_version="t",
                       results=tuple(rows), hosts=tuple(r.host for r in rows))


@pytest.mark.parametrize("fmt", ["html", "md", "junit"])
def test_french_report_has_no_known_english_message(fmt: str) -> None:
    result = _result()
    fr = render(result, fmt, lang="fr")
    for english in KNOWN_ENGLISH:
        assert english not in fr, english
    if fmt != "md":  # the Markdown summary lists found/expected, not messages
        en = render(result, fmt, lang="en")
        assert "no signature database" in en and "undeclared remote-control software" in en
    if fmt == "html":
        assert "expire jamais, utilisable" in fr and "expires never, usable" in en
    if fmt in ("html", "md"):  # the providers' access method
        assert ">SSH<" in fr or ", SSH)" in fr
        from esms_baseline.report.i18n import access_text
        assert access_text("vendor_tool", "fr") == "logiciel de prise en main de l'éditeur"
        assert access_text("other", "fr") == "other"


def test_markdown_unknown_release_says_unknown() -> None:
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    row = ControlResult("h", "ESMS-UPD-04", Verdict.FAIL,
                        {"release": "Debian 9", "security_updates_until": None}, {}, "x")
    res = CheckResult(site="S", started=now, finished=now, baseline_version="t",
                      results=(row,), hosts=("h",))
    assert "inconnu (version absente de la table)" in render(res, "md", lang="fr")


def test_unknown_parts_stay_as_they_are() -> None:
    assert translate("something new; TMOUT is not set", "fr") == (
        "something new; TMOUT n'est pas défini")
    assert translate("TMOUT is not set", "en") == "TMOUT is not set"
    assert untranslated("something new; TMOUT is not set") == ["something new"]


def test_windows_rule_messages_have_a_french_text() -> None:
    from esms_baseline.conformance.rules import windows as rules
    from tests.unit.test_windows_rules import VARS, fresh_facts, hardened_facts

    missing = set()
    for facts in (hardened_facts(VARS), fresh_facts(VARS)):
        for control, rule in rules.RULES.items():
            missing |= {(control, p) for p in untranslated(rule(facts, VARS).message)}
    assert not missing, sorted(missing)
