"""The French report is French: every message and found/expected text the Debian rules
produce on the recorded facts (compliant, fresh, every broken variant) has a French
template (esms_baseline/conformance/messages.py); the French HTML report of those results
holds none of a list of known English messages, the English one keeps them."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from esms_baseline.conformance.messages import key_text, translate, untranslated
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
    # found / expected values and their keys (issue #14)
    "(no firewall)", "between 1 and", "last snapshot", "with policy drop", "expires:",
    "sshd_loglevel:", "unknown release", "readonly and exported", "enabled/active",
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


# -- found / expected values (issue #14) ------------------------------------------------

#: English words of the rules' texts; identifiers (PASS_MAX_DAYS, login.defs, VERBOSE,
#: persistent, DWord...) and the host's own data are not in it and stay as they are
_ENGLISH_WORDS = """
    the and or with not no by from only between before after each every also old days
    never any open unknown last an of is are at as enabled disabled installed active
    inactive expired expires password passwords account accounts users admins group rule
    rules success exit readable locked kept built files paths scan repository retention
    task snapshot restore daily weekly monthly history release ended regular origins
    security window hours required until unlocks unlock method stored hashed weak refused
    want both too cut clients user unprivileged showed show charter
    nobody else rights members run yet contract provider reaches host
    storage level keys profiles loaded read update installed chains
    accepted loopback established management opened other packages units
"""
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_WORD = re.compile(r"(?<![\w.\-])[a-z]+(?![\w.\-])")


#: what the administrator reads on the host as it is: a configuration line (PermitRootLogin
#: no, Persistent=no), the name of a firewall rule the roles create (ESMS management 22/tcp)
_TECHNICAL = re.compile(r"^(?:[A-Z]\w+[ =](?:no|yes)|ESMS [\w -]+ \d+/(?:tcp|udp))$")

#: options of a configuration file, named as in the file (pam_faillock's unlock_time)
_OPTIONS = frozenset({"unlock_time"})


def _english(text: str) -> list[str]:
    if _TECHNICAL.match(text):
        return []
    return [w for w in _WORD.findall(text) if w in _ENGLISH]


def _all_outcomes() -> Iterator[tuple[str, Outcome]]:
    from esms_baseline.conformance.rules import windows as rules
    from tests.unit.test_windows_rules import VARS, fresh_facts, hardened_facts

    yield from OUTCOMES
    for facts in (hardened_facts(VARS), fresh_facts(VARS)):
        for control, rule in rules.RULES.items():
            yield control, rule(facts, VARS)


def _left_english(value: Any) -> Iterator[str]:
    """Every part of a found / expected value (and every key) the French report would show
    in English: a part no template knows that holds English words."""
    if isinstance(value, str):
        for part in value.split("; "):
            if translate(part, "fr") == part and _english(part):
                yield part
    elif isinstance(value, dict):
        for k, v in value.items():
            fr = key_text(str(k), "fr")
            # an English word, or a program's name for a field (sshd_loglevel)
            if _english(fr) or (re.fullmatch(r"[a-z]+(?:_[a-z]+)+", fr)
                                and fr not in _OPTIONS):
                yield f"key {k!r}"
            yield from _left_english(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _left_english(v)


def test_every_found_and_expected_value_is_french() -> None:
    left = {(c, w, part) for c, o in _all_outcomes()
            for w, value in (("found", o.found), ("expected", o.expected))
            for part in _left_english(value)}
    assert not left, sorted(left)


def test_every_message_of_every_variant_is_french() -> None:
    missing = {(c, p) for c, o in _all_outcomes() for p in untranslated(o.message)}
    assert not missing, sorted(missing)


def test_value_text_translates_values_and_keys() -> None:
    from esms_baseline.report.i18n import value_text

    found = {"22/tcp": "any (no firewall)", "sshd_loglevel": "VERBOSE",
             "last snapshot": "34276e94 at 2026-11-23T01:54:30+00:00 (27.0 h old)"}
    fr = value_text(found, "fr")
    assert fr == ("22/tcp: toutes (pas de pare-feu); LogLevel de sshd: VERBOSE; "
                  "dernière sauvegarde: 34276e94 du 2026-11-23T01:54:30+00:00 (vieille de 27.0 h)")
    assert value_text(found, "en") == ("22/tcp: any (no firewall); sshd_loglevel: VERBOSE; "
                                       "last snapshot: 34276e94 at 2026-11-23T01:54:30+00:00 "
                                       "(27.0 h old)")
    # the check can fail: a new English value is caught
    assert list(_left_english({"x": "every port is open to the outside"}))
    assert list(_left_english({"last backup": 1}))
    # a template of a value never shadows a longer message
    assert translate("restic not installed", "fr") == "restic n'est pas installé"
    assert translate("not installed", "fr") == "non installé"


def test_check_text_output_is_french_and_english_with_lang_en() -> None:
    """`esms-baseline check`'s text output (render_text): found / expected values and
    messages in French by default, in English with --lang en (issue #14)."""
    from esms_baseline.conformance.report import render_text

    result = _result()
    fr = render_text(result, "fr")
    for english in KNOWN_ENGLISH:
        assert english not in fr, english
    assert "constaté" in fr and "attendu" in fr
    en = render_text(result, "en")
    assert "no signature database" in en and "undeclared remote-control software" in en
    problem = ControlResult("h", "ESMS-AV-01", Verdict.ERROR, None, None,
                            "unattended-upgrades not installed")
    one = CheckResult(site="S", started=result.started, finished=result.started,
                      baseline_version="t", results=(problem,), hosts=("h",))
    assert "unattended-upgrades n'est pas installé" in render_text(one, "fr")
    assert "unattended-upgrades not installed" in render_text(one, "en")


def test_json_report_has_french_texts_next_to_the_codes() -> None:
    import json

    result = _result()
    doc = json.loads(render(result, "json", lang="fr"))
    texts = " ".join(r["found_text"] + r["expected_text"] + r["message_text"]
                     for r in doc["results"])
    for english in KNOWN_ENGLISH:
        assert english not in texts, english
    # the message itself stays the rule's (English, stable for tools)
    assert any("no signature database" in r["message"] for r in doc["results"])
    en = json.loads(render(result, "json", lang="en"))
    assert any("no signature database" in r["message_text"] for r in en["results"])
