"""Check a task's module arguments against the module's documented argument spec.

Used by ``windows_playbook_audit`` (check ``args``). The spec is the module's DOCUMENTATION
``options`` with its doc fragments merged, read exactly as ``ansible-doc`` reads it
(``ansible.utils.plugin_docs.get_docstring`` with the ``fragment_loader``). For the
PowerShell modules of ansible.windows / community.windows written with ``Ansible.Basic``, the
documentation is kept equal to the ``$spec`` of the ``.ps1`` by the collections' own CI
(``ansible-test sanity``: validate-modules compares the PowerShell argument spec with the
documentation). Legacy modules (``Get-AnsibleParam``, e.g. win_acl) are not compared there:
where their documentation is stricter than their code, the exception is written below.

Values are validated by ansible-core's ``ArgumentSpecValidator`` (types, ``choices``,
``elements``, sub-``options`` of lists of dictionaries): the same code and rules a module
runs on the host side for Python modules; PowerShell's ``Ansible.Basic`` applies the same
spec keys (``type``, ``choices``, ``required``, ``aliases``, ``elements``, ``options``).

A value is validated only when it is known before the run: the task's arguments are templated
with the host's variables (inventory, plan, play/role/task vars, facts) and, for a ``loop``,
once per item. An argument that reads a registered result (or is undefined at audit time) is
left out of the type check but still counts as given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: Arguments every module receives from the executor (never in the documentation).
_INTERNAL_PREFIX = "_ansible_"


def doc_options(module_path: str, collection: str | None) -> dict[str, Any] | None:
    """The documented options of a module (doc fragments merged), or None without docs."""
    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring

    # the documentation of a PowerShell module is in a .py next to the .ps1, or in a YAML
    # sidecar (.yml: ansible.windows 3.x win_owner, setup, slurp...)
    docs = [Path(module_path).with_suffix(s) for s in (".py", ".yml", ".yaml")]
    found = [d for d in docs if d.is_file()]
    if not found:
        return None
    doc_file = str(found[0])
    doc, _, _, _ = get_docstring(doc_file, fragment_loader, verbose=False, ignore_errors=True,
                                 collection_name=collection, plugin_type="module")
    if not doc:
        return None
    options: dict[str, Any] = doc.get("options") or {}
    return options


def _spec(options: dict[str, Any], top: bool = True) -> dict[str, Any]:
    """ArgumentSpecValidator's spec from documented options. At the top level ``required``
    is dropped (presence is checked separately: a value unknown before the run is still
    given); in sub-options (a list of dictionaries written in the task) it is kept."""
    spec: dict[str, Any] = {}
    for name, opt in options.items():
        if not isinstance(opt, dict):
            continue
        entry: dict[str, Any] = {"type": opt.get("type", "str")}
        for key in ("choices", "elements", "aliases", "no_log"):
            if key in opt:
                entry[key] = opt[key]
        if not top and opt.get("required"):
            entry["required"] = True
        sub = opt.get("options") or opt.get("suboptions")
        if isinstance(sub, dict):
            entry["options"] = _spec(sub, top=False)
        spec[name] = entry
    return spec


def check_args(options: dict[str, Any], given: dict[str, Any],
               known: dict[str, Any]) -> list[str]:
    """Problems of one module call: ``given`` = every argument the task sets (raw),
    ``known`` = those whose value could be templated before the run."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    problems: list[str] = []
    names: dict[str, str] = {}
    for name, opt in options.items():
        names[name] = name
        for alias in (opt or {}).get("aliases") or []:
            names[alias] = name
    for key in given:
        if key.startswith(_INTERNAL_PREFIX):
            continue
        if key not in names:
            problems.append(f"unsupported argument '{key}' (documented: "
                            f"{', '.join(sorted(options))})")
    present = {names[k] for k in given if k in names}
    for name, opt in options.items():
        if isinstance(opt, dict) and opt.get("required") and name not in present:
            problems.append(f"required argument '{name}' missing")
    spec = _spec(options)
    values = {k: v for k, v in known.items() if k in names}
    for key, value in list(values.items()):
        opt = options[names[key]] or {}
        # a str option documented as "a comma separated list" of its choices (win_acl
        # inherit: "Can be specified as a comma separated list", the .ps1 casts the string
        # to the [Flags] enum): each element must be a choice
        if (isinstance(value, str) and "," in value and opt.get("choices")
                and "comma separated" in " ".join(opt.get("description") or []).lower()):
            bad = [e.strip() for e in value.split(",") if e.strip() not in opt["choices"]]
            if bad:
                problems.append(f"value of {key}: {bad} not in {opt['choices']}")
            del values[key]
    if values:
        sub_spec = {names[k]: spec[names[k]] for k in values}
        # aliases used by the task must stay valid names for the validator
        result = ArgumentSpecValidator(sub_spec).validate(values)
        problems += [str(e) for e in result.error_messages]
    return problems


def templated_args(task: Any, templar: Any) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, given, known) for each call the task makes: one per loop item (``item`` set),
    or one call. ``given`` holds every argument; ``known`` those templated successfully."""
    from ansible.errors import AnsibleError

    args = {k: v for k, v in dict(task.args or {}).items()}
    calls: list[tuple[str, dict[str, Any]]] = []
    if task.loop is not None and not task.loop_with:
        try:
            items = templar.template(task.loop)
        except AnsibleError:
            items = None
        if isinstance(items, list):
            loop_var = "item"
            if task.loop_control and task.loop_control.loop_var:
                loop_var = task.loop_control.loop_var
            for i, item in enumerate(items):
                calls.append((f"item {i}", {loop_var: item}))
        else:
            calls.append(("loop unknown before the run", {}))
    else:
        calls.append(("", {}))
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for label, extra in calls:
        t = templar.copy_with_new_env(available_variables={**templar.available_variables,
                                                           **extra}) if extra else templar
        known: dict[str, Any] = {}
        for key, value in args.items():
            if "item" in str(value) and not extra and task.loop is not None:
                continue  # loop values unknown: the argument is given, its value unknown
            try:
                known[key] = t.template(value)
            except AnsibleError:
                continue
        out.append((label, args, known))
    return out


_LEGACY = re.compile(r"Get-AnsibleParam\s+(?:-obj\s+)?\$\w+\s+(?:-name\s+)?[\"'](\w+)[\"']([^\n]*)")
_LEGACY_SET = re.compile(r"-validateset\s+((?:[\"'][^\"']*[\"']\s*,?\s*)+)")
_LEGACY_ALIASES = re.compile(r"-aliases\s+((?:[\"'][^\"']*[\"']\s*,?\s*)+)")


def legacy_params(ps1_path: str) -> dict[str, list[str] | None] | None:
    """For a legacy module (``Get-AnsibleParam``, not compared with its documentation by
    validate-modules), the parameter names its code reads (aliases included) -> the literal
    ``-validateset`` (None: any value). None for an ``Ansible.Basic`` module."""
    text = Path(ps1_path).read_text(encoding="utf-8", errors="replace")
    if "Get-AnsibleParam" not in text:
        return None
    out: dict[str, list[str] | None] = {}
    for name, rest in _LEGACY.findall(text):
        m = _LEGACY_SET.search(rest)
        choices = re.findall(r"[\"']([^\"']*)[\"']", m.group(1)) if m else None
        out[name] = choices
        a = _LEGACY_ALIASES.search(rest)
        for alias in re.findall(r"[\"']([^\"']*)[\"']", a.group(1)) if a else []:
            out[alias] = choices
    return out


def check_legacy(params: dict[str, list[str] | None], given: dict[str, Any],
                 known: dict[str, Any], names: bool = True) -> list[str]:
    """Arguments a legacy module's code never reads (silently ignored on the host: legacy
    modules do not refuse unknown arguments) and values outside a literal -validateset
    (compared case-insensitively, as PowerShell's -notin does)."""
    problems = [f"argument '{k}' is documented but never read by the module's code "
                "(Get-AnsibleParam): it would be silently ignored"
                for k in given
                if names and not k.startswith(_INTERNAL_PREFIX) and k not in params]
    for k, v in known.items():
        choices = params.get(k)
        if choices and isinstance(v, str) and v.lower() not in {c.lower() for c in choices}:
            problems.append(f"value {v!r} of '{k}' not in the code's -validateset {choices}")
    return problems


def check_task(task: Any, action: str, templar: Any) -> tuple[list[str], list[str]]:
    """(problems, arguments type-checked for every call) of one task whose action resolves
    to a PowerShell module: the documented spec (check_args) and, for a legacy module, its
    code's parameter names and literal -validateset (check_legacy)."""
    from ansible.plugins.loader import action_loader, module_loader

    found = module_loader.find_plugin_with_context(action, ".ps1",
                                                   collection_list=task.collections)
    resolved = str(found.plugin_resolved_name)
    collection = resolved.rsplit(".", 1)[0] if resolved.count(".") >= 2 else None
    options = doc_options(str(found.plugin_resolved_path), collection)
    if options is None:
        return [f"{action}: no documentation to check its arguments against"], []
    legacy = legacy_params(str(found.plugin_resolved_path))
    # an action plugin of the same name consumes some arguments on the controller
    # (win_copy: content becomes a file sent as src): legacy names are then not checked
    has_action = bool(action_loader.find_plugin_with_context(
        action, collection_list=task.collections).resolved)
    out: list[str] = []
    seen: set[str] = set()  # a problem repeated by every loop item is reported once
    checked: set[str] | None = None
    for label, given, known in templated_args(task, templar):
        checked = set(known) if checked is None else checked & set(known)
        problems = check_args(options, given, known)
        if legacy is not None:  # documented arguments only: check_args reports the others
            documented = {k: v for k, v in given.items() if k in options
                          or any(k in (o or {}).get("aliases", []) for o in options.values())}
            problems += check_legacy(legacy, documented, known, names=not has_action)
        where = f" ({label})" if label else ""
        for problem in problems:
            if problem not in seen:
                seen.add(problem)
                out.append(f"{action}{where}: {problem}")
    return out, sorted(checked or ())
