"""Every PowerShell script of the project, read without PowerShell (none on this machine):
the win_powershell ``script:`` of the Windows task files and the ``.ps1`` files (collector,
probe, backup script). Each rule catches a class of defect that only a real host would show:

- structure: quotes, ``()``, ``{}`` and ``[]`` balanced outside strings and comments (a broken
  edit fails here, not on the first host);
- win_powershell: every ``parameters:`` key is a ``param()`` of the script (win_powershell binds
  them by name: an unknown one stops the script, "A parameter cannot be found that matches
  parameter name"), every Mandatory parameter is given, and the script declares
  ``[CmdletBinding(SupportsShouldProcess)]`` (without it win_powershell does not run it in
  check mode and reports it changed: win_powershell.ps1, "skipped, running in check mode");
- native commands: no stderr redirection (``2>&1``, ``2>$null``) outside ``Invoke-Native``,
  which runs them with ``$ErrorActionPreference = 'Continue'``: in Windows PowerShell 5.1
  each redirected stderr line becomes an error record that 'Stop' makes terminating
  (PowerShell issue 3996; PowerShell 7.2 changed it, PR 13361);
- ``@(... | ConvertFrom-Json)`` never counts elements: Windows PowerShell 5.1's ConvertFrom-Json
  writes a JSON array as ONE object (PowerShell 7 enumerates; -NoEnumerate keeps the 5.1 way).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PS1_FILES = sorted([*ROOT.glob("roles/*/files/**/*.ps1"),
                    ROOT / "esms_baseline/conformance/collectors/windows.ps1",
                    *ROOT.glob("esms_baseline/windows/*.ps1")])
TASK_FILES = sorted({*ROOT.glob("roles/*/tasks/windows.yml"),
                     *ROOT.glob("roles/*/tasks/windows/*.yml"), ROOT / "playbooks/site.yml"})


def _walk(items: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in items or []:
        if not isinstance(t, dict):
            continue
        out.append(t)
        for k in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks"):
            out += _walk(t.get(k))
    return out


def _win_powershell_tasks() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in TASK_FILES:
        for task in _walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
            args = task.get("ansible.windows.win_powershell")
            if isinstance(args, dict) and "script" in args:
                found.append((f"{path.relative_to(ROOT)}: {task.get('name')}", args))
    return found


WIN_PS_TASKS = _win_powershell_tasks()
SCRIPTS = ([(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in PS1_FILES]
           + [(name, str(args["script"])) for name, args in WIN_PS_TASKS])


def code_only(script: str) -> str:
    """The script with comments and string contents blanked (same length, same lines);
    raises ValueError on an unterminated string or block comment. Double-quoted strings
    keep their ``$( ... )`` subexpressions, which are code."""
    out: list[str] = []
    n = len(script)

    def blank(s: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in s)

    def double(i: int) -> int:  # at the opening "; returns the index after the closing "
        out.append('"')
        i += 1
        while i < n:
            c = script[i]
            if c == "`":
                out.append(blank(script[i:i + 2]))
                i += 2
            elif c == '"':
                if script[i:i + 2] == '""':
                    out.append("  ")
                    i += 2
                    continue
                out.append('"')
                return i + 1
            elif script[i:i + 2] == "$(":
                out.append("$(")
                i = code(i + 2, ")")
                out.append(")")
            else:
                out.append(blank(c))
                i += 1
        raise ValueError("unterminated double-quoted string")

    def code(i: int, until: str | None) -> int:
        depth = 0
        while i < n:
            c = script[i]
            if until and c == until and depth == 0:
                return i + 1
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            if script[i:i + 2] == "<#":
                j = script.find("#>", i + 2)
                if j < 0:
                    raise ValueError("unterminated block comment")
                out.append(blank(script[i:j + 2]))
                i = j + 2
            elif c == "#":
                j = script.find("\n", i)
                j = n if j < 0 else j
                out.append(blank(script[i:j]))
                i = j
            elif c == "'":
                j = i + 1
                while True:
                    j = script.find("'", j)
                    if j < 0:
                        raise ValueError("unterminated single-quoted string")
                    if script[j:j + 2] == "''":
                        j += 2
                        continue
                    break
                out.append("'" + blank(script[i + 1:j]) + "'")
                i = j + 1
            elif c == '"':
                i = double(i)
            elif c == "`":
                out.append(blank(script[i:i + 2]))
                i += 2
            else:
                out.append(c)
                i += 1
        if until:
            raise ValueError("unterminated $( subexpression")
        return i

    code(0, None)
    return "".join(out)


@pytest.mark.parametrize(("name", "script"), SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_script_structure_is_balanced(name: str, script: str) -> None:
    code = code_only(script)
    stack: list[tuple[str, int]] = []
    pairs = {")": "(", "}": "{", "]": "["}
    for lineno, line in enumerate(code.splitlines(), 1):
        for c in line:
            if c in "({[":
                stack.append((c, lineno))
            elif c in pairs:
                assert stack and stack[-1][0] == pairs[c], f"{name}: unexpected {c} line {lineno}"
                stack.pop()
    assert not stack, f"{name}: {stack[-1][0]} opened line {stack[-1][1]} never closed"


_INVOKE_NATIVE = re.compile(r"function Invoke-Native\b[^{]*\{")


def _without_invoke_native(code: str) -> tuple[str, str]:
    """(code without the Invoke-Native function, that function's body)."""
    m = _INVOKE_NATIVE.search(code)
    if not m:
        return code, ""
    depth, i = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(code[i], 0)
        i += 1
    return code[:m.start()] + code[i:], code[m.start():i]


@pytest.mark.parametrize(("name", "script"), SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_native_stderr_is_redirected_only_where_stop_does_not_apply(name: str,
                                                                     script: str) -> None:
    code = code_only(script)
    rest, helper = _without_invoke_native(code)
    assert not re.search(r"\b2>", rest), (
        f"{name}: a native command's stderr is redirected outside Invoke-Native: under "
        "$ErrorActionPreference = 'Stop', Windows PowerShell 5.1 throws on its first stderr line")
    if helper:
        original = script[code.find(helper):code.find(helper) + len(helper)]
        assert "$ErrorActionPreference = 'Continue'" in original, name


@pytest.mark.parametrize(("name", "script"), SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_no_element_count_of_a_piped_convertfrom_json(name: str, script: str) -> None:
    code = code_only(script)
    assert not re.search(r"@\([^()]*\|\s*ConvertFrom-Json\s*\)", code), (
        f"{name}: @(... | ConvertFrom-Json) holds ONE element for a JSON array in Windows "
        "PowerShell 5.1: assign the result to a variable first, then @($var)")


def _params(script: str) -> dict[str, bool]:
    """Names declared by the script's top param() block -> Mandatory?"""
    code = code_only(script)
    m = re.search(r"\bparam\s*\(", code, re.IGNORECASE)
    if not m:
        return {}
    depth, i = 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(code[i], 0)
        i += 1
    block = script[m.end():i - 1]
    out: dict[str, bool] = {}
    # one declaration per top-level comma: [attr(...)][type]$Name = default
    level, start, parts = 0, 0, []
    for j, c in enumerate(code[m.end():i - 1]):
        level += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(c, 0)
        if c == "," and level == 0:
            parts.append(block[start:j])
            start = j + 1
    parts.append(block[start:])
    for part in parts:
        names = re.findall(r"\$(\w+)", part.split("=", 1)[0])
        if names:
            out[names[-1]] = "Mandatory" in part
    return out


@pytest.mark.parametrize(("name", "args"), WIN_PS_TASKS, ids=[t[0] for t in WIN_PS_TASKS])
def test_win_powershell_parameters_match_the_script(name: str, args: dict[str, Any]) -> None:
    script = str(args["script"])
    declared = _params(script)
    given = set((args.get("parameters") or {}).keys())
    assert given <= set(declared), f"{name}: parameters not in param(): {given - set(declared)}"
    missing = {p for p, mandatory in declared.items() if mandatory and p not in given}
    assert not missing, f"{name}: Mandatory parameters not given: {missing}"
    assert re.search(r"\[CmdletBinding\(SupportsShouldProcess\)\]", script), (
        f"{name}: without SupportsShouldProcess win_powershell skips the script in check mode "
        "and reports it changed")


def test_the_rules_catch_what_they_are_for() -> None:
    bad = "$ErrorActionPreference = 'Stop'\n$x = & restic.exe snapshots 2>&1\n"
    with pytest.raises(AssertionError):
        test_native_stderr_is_redirected_only_where_stop_does_not_apply("bad", bad)
    ok = ("function Invoke-Native([string]$Exe, [object[]]$A) {\n"
          "    $ErrorActionPreference = 'Continue'\n    $all = @(& $Exe @A 2>&1)\n}\n"
          "# a comment 2>&1 is no code\n$s = 'text 2>&1'\n")
    test_native_stderr_is_redirected_only_where_stop_does_not_apply("ok", ok)
    with pytest.raises(AssertionError):
        test_no_element_count_of_a_piped_convertfrom_json("bad", "$n = @($j | ConvertFrom-Json).Count")
    with pytest.raises(AssertionError):
        test_script_structure_is_balanced("bad", "if ($a) { $b = \"x $($c.d)\" ")
    with pytest.raises(ValueError):
        code_only("$a = 'unterminated")
    with pytest.raises(AssertionError):
        test_win_powershell_parameters_match_the_script(
            "bad", {"parameters": {"Values": 1},
                    "script": "[CmdletBinding(SupportsShouldProcess)]\nparam([object[]]$Value)"})
    with pytest.raises(AssertionError):
        test_win_powershell_parameters_match_the_script(
            "bad", {"parameters": {}, "script": "[CmdletBinding(SupportsShouldProcess)]\n"
                                                 "param([Parameter(Mandatory)][string]$Dir)"})
    assert _params("param([Parameter(Mandatory)][object[]]$Values, [int]$N = 5,"
                   " [string[]]$Keep = @())") == {"Values": True, "N": False, "Keep": False}
