"""Audit what a playbook would send to ONE Windows host, through Ansible's own machinery.

Run as ``python -m tests.offline.windows_playbook_audit --playbook P -i INV [-i INV] --host H``
with ``ANSIBLE_ROLES_PATH`` set exactly as ``esms_baseline.run`` sets it (Ansible reads its
configuration when ``ansible.constants`` is first imported: hence a separate process). Prints
one JSON document: the tasks that can run on the host and the findings.

Nothing is mocked: the inventory is read by ``InventoryManager``, variables by
``VariableManager`` (inventory, group/host vars, play vars, role defaults, and the facts the
preflight play gathers, given to ``VariableManager.set_host_facts`` as the gather would), the
playbook by ``Playbook.load`` and ``Play.compile`` with ``--list-tasks`` semantics
(``Block.filter_tagged_tasks``, implicit meta tasks skipped), conditions by ansible-core's
``Templar.evaluate_conditional``, become exactly as ``TaskExecutor._set_become_plugin`` decides it
(``ansible_become``/``ansible_become_method`` variables win over the keywords), modules by
``module_loader.find_plugin_with_context(name, '.ps1')`` (the first implementation type the
winrm/psrp connections prefer: ``module_implementation_preferences = ('.ps1', '.exe', '')``)
and action plugins by ``action_loader``.

Checks, each an ansible-core or collection fact:

1. module: a task that can run on the host is a controller-side action (``CONTROLLER_ACTIONS``)
   or resolves to a PowerShell module. A Python module (``ansible.builtin.file``) would be
   found by the last preference ``''`` and fail on the host.
2. become: when become is on, the plugin is ``runas`` (ansible-core
   ``executor/powershell/module_manifest.py``: "Become plugin X is not supported by the Windows
   exec wrapper") with a user that exists on Windows (``runas`` requires ``become_user``;
   ansible-core's default ``root`` does not exist there).
3. POSIX: no ``owner``/``group``/``mode`` argument, no path argument starting with ``/`` or ``~``.
4. depth: ``ansible.windows.win_powershell`` converts values nested deeper than ``depth``
   (default read from the module's own documentation) to strings (``Convert-OutputObject`` in
   win_powershell.ps1: ``output`` is converted at ``depth``, each level below at one less, and
   a dictionary or list reached below 0 becomes ``[string]$obj``, e.g.
   "System.Collections.Hashtable"). For every Jinja expression of the playbook that reads a
   registered win_powershell result ``R.output[0].a.b`` (n = 3 steps below ``output``):
   the value read must still be structured, so ``depth >= n``; when its ELEMENTS are read
   (``map``/``selectattr``/``rejectattr``/``items2dict``/``first``... or the value is passed
   whole to a module parameter or a variable), ``depth >= n + 1``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Actions that run on the controller (their plugin never sends a module of their own name).
#: wait_for_connection only runs the connection's ping (win_ping for PowerShell hosts:
#: ansible-core plugins/action/__init__.py rewrites ping -> ansible.windows.win_ping).
CONTROLLER_ACTIONS = frozenset({
    "ansible.builtin.assert", "ansible.builtin.debug", "ansible.builtin.fail",
    "ansible.builtin.set_fact", "ansible.builtin.meta", "ansible.builtin.include_vars",
    "ansible.builtin.pause", "ansible.builtin.add_host", "ansible.builtin.group_by",
    "ansible.builtin.set_stats", "ansible.builtin.wait_for_connection",
    "ansible.builtin.import_tasks", "ansible.builtin.include_tasks",
    "ansible.builtin.import_role", "ansible.builtin.include_role",
    # validates role arguments on the controller (plugins/action/validate_argument_spec.py
    # never calls _execute_module)
    "ansible.builtin.validate_argument_spec",
})
#: Path-like module arguments: a POSIX path there is a defect on Windows.
PATH_ARGS = ("path", "dest", "src", "creates", "removes", "chdir", "backup_file")
POSIX_ARGS = ("owner", "mode", "seuser", "serole", "setype", "selevel")
#: ``group`` is a POSIX owner only next to a path (win_firewall_rule has a ``group`` too).
POSIX_GROUP_WITH = PATH_ARGS
#: Filters that read the ELEMENTS of the value they are applied to.
ELEMENT_FILTERS = frozenset({
    "map", "selectattr", "rejectattr", "items2dict", "sort", "groupby", "first", "last",
    "subelements", "json_query", "community.general.json_query", "to_json", "to_nice_json",
    "combine", "dict2items", "sum", "min", "max", "unique",
})
#: Filters whose result still holds the elements of their input (``x | list`` passed whole).
PASSTHROUGH_FILTERS = frozenset({"list", "default", "d", "unique", "sort", "reverse",
                                 "flatten", "select", "reject"})
WIN_POWERSHELL = "ansible.windows.win_powershell"


@dataclass
class Finding:
    check: str  # module | become | posix | depth | dynamic | diff | args
    task: str
    detail: str


@dataclass
class Report:
    host: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _run_time_names(text: str, variables: dict[str, Any], registered: set[str],
                    depth: int = 0) -> bool:
    """Does ``text`` depend on a registered result (known only at run time), directly or
    through the variables it names (``esms_firewall_windows_changed`` -> ``... is changed``)?"""
    for name in set(_NAME.findall(text)):
        if name in registered:
            return True
        value = variables.get(name)
        if depth < 4 and isinstance(value, str) and _run_time_names(
                value, variables, registered, depth + 1):
            return True
    return False


def _may_run(templar: Any, task: Any, variables: dict[str, Any],
             registered: set[str]) -> tuple[bool, list[str]]:
    """False only if one condition is definitely false for the host. A condition that depends
    on a registered result, or that cannot be evaluated before the run (undefined values),
    counts as 'may run': only facts and inventory/plan variables exclude a task."""
    unknown: list[str] = []
    for cond in task.when or []:
        if isinstance(cond, str) and _run_time_names(cond, variables, registered):
            unknown.append(f"{cond}: depends on a registered result")
            continue
        from ansible.errors import AnsibleError

        try:
            if not templar.evaluate_conditional(cond):
                return False, []
        except AnsibleError as exc:  # undefined at audit time: conservative
            unknown.append(f"{cond}: {type(exc).__name__}")
    return True, unknown


def _effective_become(task: Any, variables: dict[str, Any], templar: Any) -> tuple[bool, str, str]:
    """become, method, user as TaskExecutor._set_become_plugin and the runas plugin options
    resolve them (variables win over keywords)."""
    from ansible import constants as C
    from ansible.module_utils.parsing.convert_bool import boolean

    if variables.get("ansible_become") is not None:
        become = boolean(templar.template(variables["ansible_become"]))
    else:
        become = bool(templar.template(task.become))
    if variables.get("ansible_become_method"):
        method = str(templar.template(variables["ansible_become_method"]))
    else:
        method = str(templar.template(task.become_method or C.DEFAULT_BECOME_METHOD))
    user: Any = None
    for name in ("ansible_become_user", "ansible_runas_user"):
        if variables.get(name):
            user = templar.template(variables[name])
            break
    if user is None:
        user = templar.template(task.become_user) if task.become_user else C.DEFAULT_BECOME_USER
    return become, method, str(user)


def _doc_default(module_path: str, option: str) -> Any:
    from ansible.parsing.plugin_docs import read_docstring

    doc_file = str(Path(module_path).with_suffix(".py"))
    data = read_docstring(doc_file, verbose=False, ignore_errors=True)
    return ((data.get("doc") or {}).get("options") or {}).get(option, {}).get("default")


# ----------------------------------------------------------------------------- depth


def _chain(node: Any) -> tuple[str, list[str]] | None:
    from jinja2 import nodes

    steps: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            steps.append(node.attr)
        else:
            arg = node.arg
            steps.append(str(arg.value) if isinstance(arg, nodes.Const) else "*")
        node = node.node
    if isinstance(node, nodes.Name):
        return node.name, list(reversed(steps))
    return None


def _reads(source: str, registered: set[str], bare: bool,
           whole_is_structured: bool = True) -> list[tuple[str, str, int]]:
    """(registered name, expression, depth needed) for each read of a registered result.

    ``whole_is_structured``: the template's value, when it is exactly one expression, is used
    as a structure (a list/dict/raw module option, a variable, a loop), so its elements are
    read too."""
    from jinja2 import Environment, TemplateSyntaxError, nodes

    env = Environment()
    text = "{{ " + source + " }}" if bare else source
    try:
        tree = env.parse(text)
    except TemplateSyntaxError:
        return []
    whole = (whole_is_structured and len(tree.body) == 1 and isinstance(tree.body[0], nodes.Output)
             and len(tree.body[0].nodes) == 1 and not bare
             and re.fullmatch(r"\s*\{\{.*\}\}\s*", source, re.DOTALL) is not None)
    out: list[tuple[str, str, int]] = []

    def visit(node: Any, parent: Any, top: bool) -> None:
        is_access = isinstance(node, nodes.Getattr | nodes.Getitem)
        parent_continues = (isinstance(parent, nodes.Getattr | nodes.Getitem)
                            and parent.node is node)
        if is_access and not parent_continues:
            ch = _chain(node)
            if ch and ch[0] in registered and ch[1] and ch[1][0] in ("output", "result"):
                n = len(ch[1]) - 1
                elementwise = (isinstance(parent, nodes.Filter) and parent.node is node
                               and parent.name in ELEMENT_FILTERS) or (top and whole)
                expr = ch[0] + "".join(f".{s}" if not s.isdigit() else f"[{s}]" for s in ch[1])
                out.append((ch[0], expr + (" (elements read)" if elementwise else ""),
                            n + 1 if elementwise else n))
        for child in node.iter_child_nodes():
            # a value passed whole stays whole through filters that keep its elements
            keeps = (isinstance(node, nodes.Output | nodes.Template)
                     or (isinstance(node, nodes.Filter) and node.name in PASSTHROUGH_FILTERS
                         and child is node.node))
            visit(child, node, top and keeps)

    visit(tree, None, True)
    return out


def _task_sources(task: Any, option_types: dict[str, str]) -> list[tuple[str, bool, bool]]:
    """(text, bare expression?, whole value structured?) of every templatable field of a
    task; ``option_types``: the module's documented option types (str options hold scalars)."""
    out: list[tuple[str, bool, bool]] = []
    for cond in task.when or []:
        if isinstance(cond, str):
            out.append((cond, True, False))
    for attr in ("changed_when", "failed_when", "until"):
        for cond in getattr(task, attr, None) or []:
            if isinstance(cond, str):
                out.append((cond, True, False))
    args = dict(task.args or {})
    if task.resolved_action == "ansible.builtin.assert":
        that = args.pop("that", [])
        out += [(c, True, False) for c in _strings(that)]
    for key, value in args.items():
        scalar = isinstance(value, str) and option_types.get(key, "raw") in (
            "str", "int", "bool", "path", "float")
        out += [(s, False, not scalar) for s in _strings(value)]
    out += [(s, False, True) for s in _strings(task.vars or {})]
    out += [(s, False, True) for s in _strings(task.loop)]
    return [(s, b, w) for s, b, w in out if b or "{{" in s]


_DIFF_MARKERS = ("$module.Diff", "_ansible_diff", "$diff_mode", "$module.DiffMode")


def _read_only(task: Any) -> bool:
    return any(str(c).strip().lower() == "false" for c in (task.changed_when or []))


def _diff_support(task: Any, action: str, runs: str, module_loader: Any) -> str:
    """'controller', 'read-only', 'yes' (the module or script reports a diff), 'no' (the
    module has no diff output: see its source), or 'MISSING' (a script that can change
    without a diff)."""
    if runs == "controller":
        return "controller"
    if _read_only(task):
        return "read-only"
    if action == WIN_POWERSHELL:
        script = str((task.args or {}).get("script", ""))
        return "yes" if "$Ansible.Diff" in script else "MISSING"
    found = module_loader.find_plugin_with_context(action, ".ps1",
                                                   collection_list=task.collections)
    if not found.resolved:
        return "no"
    source = Path(str(found.plugin_resolved_path)).read_text(encoding="utf-8", errors="replace")
    return "yes" if any(m in source for m in _DIFF_MARKERS) else "no"


def _option_types(module_path: str | None) -> dict[str, str]:
    if not module_path:
        return {}
    from ansible.parsing.plugin_docs import read_docstring

    data = read_docstring(str(Path(module_path).with_suffix(".py")), verbose=False,
                          ignore_errors=True)
    opts = (data.get("doc") or {}).get("options") or {}
    return {k: str(v.get("type", "str")) for k, v in opts.items() if isinstance(v, dict)}


def _check_module_args(report: Report, name: str, task: Any, action: str,
                       templar: Any) -> list[str]:
    """Findings for the task's arguments (module_args.check_task); returns the arguments
    whose values were known (templated) for every call, i.e. really type-checked."""
    from tests.offline.module_args import check_task

    problems, checked = check_task(task, action, templar)
    report.findings += [Finding("args", name, p) for p in problems]
    return checked


# ----------------------------------------------------------------------------- audit


def audit(playbook: Path, inventories: list[Path], host: str,
          facts: dict[str, Any]) -> Report:
    from ansible import context
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook import Playbook
    from ansible.playbook.block import Block
    from ansible.playbook.task_include import TaskInclude
    from ansible.plugins.loader import action_loader, init_plugin_loader, module_loader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    context.CLIARGS = ImmutableDict(tags=["all"], skip_tags=[], listtasks=True, listhosts=False,
                                    syntax=False, check=False, diff=False, start_at_task=None,
                                    subset=None, inventory=[str(i) for i in inventories])
    init_plugin_loader()
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(i) for i in inventories])
    vm = VariableManager(loader=loader, inventory=inventory)
    the_host = inventory.get_host(host)
    if the_host is None:
        raise SystemExit(f"host {host} not in {inventories}")
    vm.set_host_facts(host, facts)
    pb = Playbook.load(str(playbook), variable_manager=vm, loader=loader)
    report = Report(host=host)
    run_tasks: list[tuple[Any, str]] = []  # (task, play name)

    def walk(block: Any) -> list[Any]:
        tasks = []
        for t in list(block.block) + list(block.rescue) + list(block.always):
            if isinstance(t, Block):
                tasks += walk(t)
            else:
                tasks.append(t)
        return tasks

    listed: list[tuple[Any, Any]] = []  # (play, task), as --list-tasks lists them
    for play in pb.get_plays():
        hosts = inventory.get_hosts(play.hosts)
        if the_host not in hosts:
            continue
        play_vars = vm.get_vars(play=play)
        for block in play.compile():
            block = block.filter_tagged_tasks(play_vars)
            for task in walk(block):
                if task.action in ("meta", "ansible.builtin.meta") and task.implicit:
                    continue
                listed.append((play, task))
    registered = {str(t.register) for _, t in listed if t.register}
    for play, task in listed:
        variables = vm.get_vars(play=play, host=the_host, task=task)
        templar = Templar(loader=loader, variables=variables)
        may, unknown = _may_run(templar, task, variables, registered)
        name = f"{play.get_name()} / {task.get_name()}"
        if not may:
            continue
        if isinstance(task, TaskInclude) and task.action not in (
                "ansible.builtin.import_tasks", "import_tasks"):
            report.findings.append(Finding(
                "dynamic", name, f"{task.action}: dynamic include, not audited statically"))
        run_tasks.append((task, name))
        action = task.resolved_action or task.action
        entry: dict[str, Any] = {"task": name, "action": action,
                                 "conditions_unknown": unknown}
        # 1. module or controller action
        if action in CONTROLLER_ACTIONS:
            entry["runs"] = "controller"
        else:
            found = module_loader.find_plugin_with_context(
                action, ".ps1", collection_list=task.collections)
            if found.resolved:
                entry["runs"] = "powershell module " + str(found.plugin_resolved_name)
            else:
                has_action = action_loader.find_plugin_with_context(
                    action, collection_list=task.collections).resolved
                py = module_loader.find_plugin_with_context(
                    action, "", collection_list=task.collections)
                entry["runs"] = "NOT A POWERSHELL MODULE"
                report.findings.append(Finding(
                    "module", name,
                    f"{action} has no PowerShell implementation (module_loader "
                    f"'.ps1': not found; python module: "
                    f"{py.plugin_resolved_path if py.resolved else 'none'}; "
                    f"action plugin: {has_action})"))
        # 2. become
        try:
            become, method, user = _effective_become(task, variables, templar)
        except AnsibleError as exc:
            report.findings.append(Finding("become", name, f"cannot resolve: {exc}"))
        else:
            entry["become"] = f"{method} as {user}" if become else "no"
            if become and entry.get("runs") != "controller":
                short = method.rsplit(".", 1)[-1]
                if short != "runas":
                    report.findings.append(Finding(
                        "become", name,
                        f"become_method '{method}' reaches a Windows host: the PowerShell "
                        "exec wrapper only accepts runas (ansible-core "
                        "executor/powershell/module_manifest.py)"))
                elif user in ("", "root"):
                    report.findings.append(Finding(
                        "become", name, f"runas with become_user '{user}': no such "
                        "Windows account (use SYSTEM)"))
        # 3. POSIX owner/mode/paths
        args = dict(task.args or {})
        posix = POSIX_ARGS + (("group",) if any(k in args for k in POSIX_GROUP_WITH)
                              else ())
        for key in posix:
            if key in args and entry.get("runs") != "controller":
                report.findings.append(Finding(
                    "posix", name, f"{action}: POSIX argument {key}={args[key]!r}"))
        for key in PATH_ARGS:
            value = args.get(key)
            if isinstance(value, str):
                with contextlib.suppress(AnsibleError):  # left as written when undefined
                    value = str(templar.template(value))
                if value.startswith(("/", "~")):
                    report.findings.append(Finding(
                        "posix", name, f"{action}: POSIX path {key}={value!r}"))
        # 6. arguments: the module's documented argument spec (names, required, types,
        # choices, sub-options), values templated with the host's variables (module_args.py)
        if str(entry.get("runs", "")).startswith("powershell module "):
            entry["args_checked"] = _check_module_args(report, name, task, action, templar)
        # 5. diff: what a --check --diff run can show for this task
        entry["diff"] = _diff_support(task, action, entry.get("runs", ""), module_loader)
        if entry["diff"] == "MISSING":
            report.findings.append(Finding(
                "diff", name, "win_powershell can report a change but sets no $Ansible.Diff: "
                "apply --check --diff would not say what it changes"))
        report.tasks.append(entry)

    # 4. win_powershell depth, over every task that can run on the host
    depth_of: dict[str, tuple[int, str]] = {}
    for task, name in run_tasks:
        if (task.resolved_action or task.action) == WIN_POWERSHELL and task.register:
            found = module_loader.find_plugin_with_context(WIN_POWERSHELL, ".ps1")
            default = _doc_default(str(found.plugin_resolved_path), "depth")
            raw = (task.args or {}).get("depth", default)
            try:
                depth = int(raw)
            except (TypeError, ValueError):
                depth = int(default)
            depth_of[str(task.register)] = (depth, name)
    for task, name in run_tasks:
        action = task.resolved_action or task.action
        found = module_loader.find_plugin_with_context(action, ".ps1",
                                                       collection_list=task.collections)
        types = _option_types(str(found.plugin_resolved_path) if found.resolved else None)
        for text, bare, structured in _task_sources(task, types):
            for reg, expr, needed in _reads(text, set(depth_of), bare, structured):
                depth, producer = depth_of[reg]
                if needed > depth:
                    report.findings.append(Finding(
                        "depth", name,
                        f"reads {expr}, which needs depth >= {needed}; '{producer}' registers "
                        f"{reg} with depth {depth} (ansible.windows.win_powershell converts "
                        "deeper dictionaries and lists to strings)"))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--playbook", required=True, type=Path)
    p.add_argument("-i", "--inventory", action="append", type=Path, required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--facts", default='{"os_family": "Windows", "system": "Win32NT"}')
    a = p.parse_args(argv)
    facts = json.loads(a.facts)
    report = audit(a.playbook, a.inventory, a.host, facts)
    json.dump({"host": report.host, "tasks": report.tasks,
               "findings": [asdict(f) for f in report.findings]}, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
