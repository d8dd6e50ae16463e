"""Read a YAML file and remember where every value and key is (line and column).

``read_yaml(path)`` returns a :class:`Document`: the data (JSON-compatible: mappings with
text keys, lists, text, numbers, booleans, null; dates become ``YYYY-MM-DD`` text) and two
maps from a field path (a tuple of keys and list indexes) to a 1-based position, one for the
value and one for the key. It refuses, as :class:`Problem` s and never as a traceback:
a missing file, a folder, a binary or huge file, an empty file, malformed YAML, duplicate
keys, keys that are not plain text and values that have no JSON equivalent.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from esms_baseline.errors import Problem

#: Largest profile accepted. A real profile is a few kilobytes.
MAX_BYTES = 1024 * 1024
#: Most nodes visited (aliases included): refuses "billion laughs" alias bombs.
MAX_NODES = 100_000
MAX_DEPTH = 64

JsonPath = tuple[str | int, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Pos:
    line: int
    column: int


@dataclass
class Document:
    """A parsed YAML document with the position of every value and key."""

    file: str
    data: Any = None
    values: dict[JsonPath, Pos] = field(default_factory=dict)
    keys: dict[JsonPath, Pos] = field(default_factory=dict)
    #: the source text of plain (unquoted) scalars, to explain YAML's surprises
    plain: dict[JsonPath, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: JsonPath, *, key: bool = True) -> Pos:
        """The position of a field: its key if it has one (``key=True``), else its value;
        for a field that is absent, the position of its nearest present parent."""
        p = tuple(path)
        while True:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return Pos(1, 1)
            p = p[:-1]

    def problem(self, path: JsonPath, message: str, *, key: bool = True) -> Problem:
        pos = self.where(path, key=key)
        return Problem(self.file, pos.line, pos.column, format_path(path), message)


_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: JsonPath) -> str:
    """``("accounts", "users", 2, "login")`` -> ``accounts.users[2].login``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:  # quoted, control characters escaped: a path is always one line
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


class _TooBig(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mapping keys are always the key's source text (``on:`` stays
    ``"on"``, ``1:`` stays ``"1"``) and whose invalid dates stay text (the schema then
    says the date is invalid instead of the loader crashing)."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):  # pragma: no cover - guarded by the caller
            raise yaml.constructor.ConstructorError(
                None, None, "expected a mapping", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue  # reported by _walk
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_lenient_timestamp(self, node: ScalarNode) -> Any:
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_lenient_timestamp)


def read_yaml(path: Path, *, display: str | None = None) -> Document:
    """Read ``path``; every problem found is in ``Document.problems`` (data is then None
    when the file could not be parsed at all)."""
    name = display if display is not None else str(path)
    doc = Document(file=name)

    def fail(message: str, line: int = 0, column: int = 0) -> Document:
        doc.problems.append(Problem(name, line, column, "", message))
        return doc

    try:
        if path.is_dir():
            return fail("this is a folder, not a profile file (give the path of a .yml file)")
        if not path.exists():
            return fail("no such file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            return fail(
                f"the file is {size} bytes; a profile is refused above {MAX_BYTES} bytes "
                "(1 MiB): is this the right file?"
            )
        raw = path.read_bytes()
    except OSError as exc:
        return fail(f"cannot read the file: {exc.strerror or exc}")
    if len(raw) > MAX_BYTES:  # the file grew, or is a special file
        return fail(f"the file is larger than {MAX_BYTES} bytes (1 MiB); refused")
    if b"\x00" in raw:
        return fail("this is a binary file, not a YAML profile")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return fail(
            f"the file is not UTF-8 text (byte {exc.start}): save it as UTF-8, "
            "or check that this is the right file"
        )
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return fail("the file is empty: a profile needs at least schema_version, site, "
                    "inventory, accounts and firewall")

    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # pragma: no cover - caught by the emptiness test above
            return fail("the file holds no YAML document")
        try:
            _walk(node, (), doc, [0], 0)
        except _TooBig as exc:
            return fail(str(exc))
        doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return fail(_yaml_message(exc), mark.line + 1 if mark else 0,
                    mark.column + 1 if mark else 0)
    except yaml.YAMLError as exc:
        return fail(f"invalid YAML: {exc}")
    except RecursionError:
        return fail("the YAML is nested too deeply")
    finally:
        loader.dispose()

    before = len(doc.problems)
    data = _to_json(doc.data, (), doc)
    # A value without a JSON equivalent is fatal: the schema would only add noise about it.
    doc.data = data if len(doc.problems) == before else None
    return doc


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "malformed YAML"
    msg = f"invalid YAML: {problem}"
    if exc.context:
        msg += f" ({exc.context})"
    if "'\\t'" in problem or "\t" in problem:
        msg += "; YAML indents with spaces, never tabs"
    if "!vault" in problem:
        msg = (
            "inline Ansible Vault values (!vault) are not accepted in a profile: put the "
            "secret in the vault file named by secrets.vault_file and write "
            "{vault: variable_name}"
        )
    elif "could not determine a constructor" in problem:
        msg += "; a profile uses plain YAML without tags"
    return msg


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: Node, path: JsonPath, doc: Document, count: list[int], depth: int) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _TooBig(
            f"the document expands to more than {MAX_NODES} values (anchors and aliases?); "
            "refused"
        )
    if depth > MAX_DEPTH:
        raise _TooBig(f"the document is nested more than {MAX_DEPTH} levels deep; refused")
    doc.values.setdefault(path, _pos(node))
    if isinstance(node, ScalarNode):
        if node.style is None:
            doc.plain.setdefault(path, str(node.value))
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), doc, count, depth + 1)
    elif isinstance(node, MappingNode):
        seen: dict[str, Pos] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                p = _pos(key_node)
                doc.problems.append(Problem(doc.file, p.line, p.column, format_path(path),
                                            "a key must be plain text, not a list or mapping"))
                continue
            key = str(key_node.value)
            kpos = _pos(key_node)
            if key in seen:
                first = seen[key]
                doc.problems.append(Problem(
                    doc.file, kpos.line, kpos.column, format_path((*path, key)),
                    f"duplicate key '{key}' (first at line {first.line}); YAML would "
                    "silently keep only the last one: keep a single entry",
                ))
                continue
            seen[key] = kpos
            doc.keys[(*path, key)] = kpos
            _walk(value_node, (*path, key), doc, count, depth + 1)
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for src in sources:
                if isinstance(src, MappingNode):
                    for key_node, value_node in src.value:
                        if isinstance(key_node, ScalarNode) and key_node.value not in seen:
                            seen[str(key_node.value)] = _pos(key_node)
                            doc.keys[(*path, str(key_node.value))] = _pos(key_node)
                            _walk(value_node, (*path, str(key_node.value)), doc, count,
                                  depth + 1)


def _to_json(value: Any, path: JsonPath, doc: Document) -> Any:
    """Dates to ISO text; anything without a JSON equivalent is a problem."""
    if isinstance(value, dict):
        return {k: _to_json(v, (*path, k), doc) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v, (*path, i), doc) for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    kinds: dict[type, str] = {bytes: "binary data (!!binary)", set: "a set (!!set)",
                              tuple: "ordered pairs"}
    what = kinds.get(type(value), type(value).__name__)
    doc.problems.append(doc.problem(path, f"{what} is not accepted in a profile: use plain "
                                          "text, numbers, lists and mappings", key=False))
    return None
