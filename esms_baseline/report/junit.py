"""The JUnit XML report, for CI systems: one test case per host x control.

One ``<testsuite>`` per host (the site's organisational evidence under ``(site)``); a
failure carries what was found and what was expected; an exception or a not-applicable
control is ``<skipped>``; an error or an unreachable host is ``<error>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from esms_baseline.conformance.messages import translate
from esms_baseline.report.i18n import colon, control_title, t, value_text
from esms_baseline.report.summary import ReportModel
from esms_baseline.results import Verdict


def render_junit(model: ReportModel, lang: str = "fr") -> str:
    res = model.result
    root = ET.Element("testsuites", name=f"esms-baseline {res.site}")
    hosts = list(dict.fromkeys(r.host for r in model.rows))
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = max((res.finished - res.started).total_seconds(), 0.0)
    for host in hosts:
        rows = [r for r in model.rows if r.host == host]
        suite = ET.SubElement(root, "testsuite", name=host, timestamp=res.started.isoformat())
        props = ET.SubElement(suite, "properties")
        for name, value in (("site", res.site), ("baseline_version", res.baseline_version),
                            ("run_id", str(model.run_id or ""))):
            ET.SubElement(props, "property", name=name, value=value)
        counts = {"tests": len(rows), "failures": 0, "errors": 0, "skipped": 0}
        for r in rows:
            cr = r.result
            title = control_title(cr.control, lang)
            case = ET.SubElement(suite, "testcase", classname=f"esms.{host}",
                                 name=f"{cr.control} {title}".strip(), time="0")
            found = f"{t('col_found', lang)}{colon(lang)} {value_text(cr.found, lang)}"
            expected = f"{t('col_expected', lang)}{colon(lang)} {value_text(cr.expected, lang)}"
            if cr.verdict is Verdict.FAIL:
                counts["failures"] += 1
                el = ET.SubElement(case, "failure", type="to_fill" if r.to_fill else "fail",
                                   message=f"{found}; {expected}")
                el.text = "\n".join(x for x in (found, expected, translate(cr.message, lang)) if x)
            elif cr.verdict in (Verdict.ERROR, Verdict.UNREACHABLE):
                counts["errors"] += 1
                el = ET.SubElement(case, "error", type=cr.verdict.value,
                                   message=translate(cr.message, lang) or cr.verdict.value)
            elif cr.verdict in (Verdict.EXCEPTED, Verdict.NOT_APPLICABLE):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=(
                    f"{t('verdict_' + cr.verdict.value, lang)}{colon(lang)} "
                    f"{translate(cr.message, lang)}"))
        for k, v in counts.items():
            suite.set(k, str(v))
            total[k] += v
        suite.set("time", f"{seconds:.3f}")
    for k, v in total.items():
        root.set(k, str(v))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
