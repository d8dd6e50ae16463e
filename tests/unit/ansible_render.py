"""Render the roles' real templates and task arguments with Ansible's real templar (the
engine the ``template`` action and task arguments use), the esms_text filters loaded as a
run loads them (from the role folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"


@cache
def _plugins() -> None:
    from ansible.plugins.loader import add_all_plugin_dirs, init_plugin_loader

    init_plugin_loader()
    add_all_plugin_dirs(str(ROLES / "esms_text"))


def _templar(variables: dict[str, Any]) -> Any:
    _plugins()
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    return Templar(loader=DataLoader(), variables={"ansible_managed": "Ansible managed",
                                                   **variables})


def render_text(text: str, variables: dict[str, Any], *, file: bool = False) -> Any:
    """A task argument (``file``: a template file, rendered as the ``template`` action does:
    without escaping backslashes, ansible/plugins/action/template.py)."""
    from ansible.template import trust_as_template

    return _templar(variables).template(trust_as_template(text), escape_backslashes=not file)


def render(template: str, variables: dict[str, Any]) -> str:
    """``template``: a path under roles/, e.g. esms_banner/templates/etc/issue.j2."""
    return str(render_text((ROLES / template).read_text(encoding="utf-8"), variables, file=True))


def task(task_file: str, name: str) -> dict[str, Any]:
    """The task called ``name`` in ``task_file`` (a path under roles/), blocks included."""
    def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
        for t in items:
            if t.get("name") == name:
                return t
            found = walk(t.get("block", []))
            if found:
                return found
        return None

    doc = yaml.safe_load((ROLES / task_file).read_text(encoding="utf-8"))
    found = walk(doc)
    assert found is not None, name
    return found


def condition(expr: str, variables: dict[str, Any]) -> bool:
    from ansible.template import trust_as_template

    return bool(_templar(variables).evaluate_conditional(trust_as_template(expr)))
