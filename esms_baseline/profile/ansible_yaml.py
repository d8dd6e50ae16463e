"""YAML that Ansible reads as data, never as templates.

Ansible renders every string of an inventory or a vars file it reads as a Jinja template
(ansible-core 2.19 trusts files it loads): a profile value such as a site name ``EHPAD {{
lookup('pipe', 'id') }}`` written as it is into the site inventory ran ``id`` on the control
machine when a role read the variable. So every string value the plan writes for Ansible is
tagged ``!unsafe`` (Ansible's documented marker: "the value is never templated"), except the
expressions written on purpose (:class:`Template`: a connection password reference).
"""

from __future__ import annotations

from typing import Any

import yaml


class Template(str):
    """A Jinja expression esms-baseline writes on purpose (``{{ variable }}``)."""


class _Unsafe(str):
    """A string Ansible must never template."""


class _Dumper(yaml.SafeDumper):
    pass


def _unsafe(dumper: yaml.SafeDumper, data: _Unsafe) -> yaml.ScalarNode:
    return dumper.represent_scalar("!unsafe", str(data))


def _template(dumper: yaml.SafeDumper, data: Template) -> yaml.ScalarNode:
    return dumper.represent_str(str(data))


_Dumper.add_representer(_Unsafe, _unsafe)
_Dumper.add_representer(Template, _template)


def mark(value: Any) -> Any:
    """``value`` with every string value that holds a brace (not mapping keys, not a
    :class:`Template`) marked unsafe, recursively. Ansible's connection variables (``ansible_*``) are left plain:
    ``ansible-inventory --list`` would print them as ``{"__ansible_unsafe": ...}``, which
    testinfra and ssh cannot read, and the plan has already held them to the schema's
    patterns and enums, none of which admits a brace."""
    if isinstance(value, Template):
        return value
    if isinstance(value, str):
        # Only a string with a brace can be a template (Jinja's delimiters {{ {% {#). The
        # others stay plain, quoted by the dumper where needed: ansible-core 2.19 resolves
        # an ``!unsafe`` scalar's type even when quoted (``!unsafe '2028-06-30'`` loads as
        # a date, ``!unsafe '12'`` as an int, ``!unsafe '02:30'`` as YAML 1.1 base 60),
        # which would change the value a role reads (seen on a lab host: to_datetime failed).
        return _Unsafe(value) if "{" in value else value
    if isinstance(value, dict):
        return {k: v if str(k).startswith("ansible_") and not isinstance(v, (dict, list))
                else mark(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mark(v) for v in value]
    return value


def dump(doc: Any) -> str:
    """``doc`` as YAML for Ansible: its strings data, never templates."""
    return yaml.dump(mark(doc), Dumper=_Dumper, sort_keys=True, allow_unicode=True)


def unwrap(value: Any) -> Any:
    """``ansible-inventory --list`` output with ``{"__ansible_unsafe": text}`` read as text."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value
