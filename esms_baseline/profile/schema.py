"""Validate a profile against ``schemas/site-profile.schema.json`` and say what is wrong in
plain words, at the line and column of the offending key or value."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from esms_baseline.errors import Problem
from esms_baseline.profile.yamlpos import Document, JsonPath, format_path
from esms_baseline.resources import schemas_dir

SCHEMA_FILE = "site-profile.schema.json"
SCHEMA_ID = "https://esms-baseline.example/schemas/site-profile/v1.json"

#: What each pattern of the schema means, in plain words.
_PATTERN_HINTS = {
    "^(0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|9[78])[0-9]{7}$": (
        "a FINESS number: 9 characters, the department code (01 to 95, 2A or 2B for Corsica, "
        "97 or 98 overseas) then digits, e.g. \"690012345\" or \"2A0001234\""
    ),
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": 'a time HH:MM in quotes, e.g. "03:00"',
    "^[a-z_][a-z0-9_-]{0,31}$": (
        "a login: lower-case letters, digits, _ and -, at most 32 characters, starting with "
        "a letter or _"
    ),
    "^[a-z_][a-z0-9_]{0,63}$": (
        "a group name: lower-case letters, digits and _, starting with a letter or _"
    ),
    "^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$": (
        "a host name: letters, digits, '.', '-' and '_', starting with a letter or digit"
    ),
    "^ESMS-[A-Z]{2,4}-[0-9]{2}$": (
        "a control id such as ESMS-LOCK-04 (see `esms-baseline controls`)"
    ),
    "^[A-Z_][A-Z0-9_]*$": "an environment variable name: upper-case letters, digits and _",
    "^[A-Za-z_][A-Za-z0-9_]*$": "a variable name: letters, digits and _",
    "^[A-Za-z0-9_-]{1,32}$": "a short name: letters, digits, - and _ (at most 32)",
    "^/": "an absolute path, starting with /",
    "^([A-Za-z0-9][A-Za-z0-9._-]{0,252}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]{1,45})$": (
        "a DNS name or an IP address"
    ),
    "^[A-Za-z0-9_][A-Za-z0-9_.@\\\\-]{0,127}$": (
        "an account name: letters, digits, '_', '.', '-', '@' and '\\' (DOMAIN\\account)"
    ),
    "^[A-Za-z0-9_.~/][A-Za-z0-9_.~/@+,=-]{0,1023}$": (
        "a file path of letters, digits and / . _ - ~ @ + , = (not starting with -)"
    ),
    "^(/[A-Za-z0-9_./+-]{1,255}|auto|auto_silent|auto_legacy|auto_legacy_silent)$": (
        "an absolute path, or auto, auto_silent, auto_legacy, auto_legacy_silent"
    ),
}

#: Title of the closed list of host connection settings (inventory.hosts.*.vars).
HOST_VARS_TITLE = "Réglages de connexion / Connection settings"

_TYPE_WORDS = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}

SECRET_MESSAGE = (
    "a secret is never written in clear in the profile: write {env: VAR_NAME} (an "
    "environment variable read when applying) or {vault: variable_name} (a variable of the "
    "Ansible Vault file named by secrets.vault_file)"
)


@cache
def load_schema() -> dict[str, Any]:
    """The site-profile JSON Schema (2020-12)."""
    with open(schemas_dir() / SCHEMA_FILE, encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def schema_text() -> str:
    return (schemas_dir() / SCHEMA_FILE).read_text(encoding="utf-8")


def ecma_pattern(pattern: str) -> str:
    """``pattern`` with each unescaped ``$`` outside a character class turned into ``\\Z``.

    JSON Schema patterns are ECMA-262 regular expressions, where ``$`` (without the ``m``
    flag) matches only at the end of the text; jsonschema runs them with Python's
    ``re.search``, where ``$`` also matches before a final line break: ``"esms-admin\\n"``
    would match ``^[a-z_][a-z0-9_-]{0,31}$``. Anchored at the real end, it does not.
    """
    out: list[str] = []
    escaped = in_class = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            out.append("\\Z")
            continue
        out.append(ch)
    return "".join(out)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def validator_class() -> Any:
    """Draft 2020-12 with patterns anchored as in ECMA-262 (:func:`ecma_pattern`)."""
    return validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, {"pattern": _pattern})


@cache
def _validator() -> Draft202012Validator:
    validator: Draft202012Validator = validator_class()(
        load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return validator


def describe(value: Any) -> str:
    """A value and its kind, in plain words (never used for secrets)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validate_schema(doc: Document) -> list[Problem]:
    """Every schema problem of ``doc.data``, one per offending field."""
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_problems(error, doc))
    return problems


def _is_secret(schema: Any) -> bool:
    secret = load_schema()["$defs"]["secret_ref"]
    return isinstance(schema, dict) and schema.get("title") == secret["title"]


def _problems(error: ValidationError, doc: Document) -> list[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    kind: Any = error.validator
    vv: Any = error.validator_value
    value = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    secret = _is_secret(schema)

    if "propertyNames" in error.relative_schema_path:
        key = str(value)
        where = (*path, key)
        if kind == "not":
            msg = f"'{key}' is a name Ansible reserves: choose another group name"
        else:
            hint = _PATTERN_HINTS.get(str(vv), "a valid name")
            msg = f"'{key}' is not a valid name here: expected {hint}"
        return [doc.problem(where, msg)]

    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in value:
            if key in allowed:
                continue
            if schema.get("title") == HOST_VARS_TITLE:
                out.append(doc.problem((*path, key), _host_var_message(key, allowed)))
                continue
            out.append(doc.problem(
                (*path, key),
                f"unknown key '{key}'{suggest(key, allowed)}; allowed keys here: "
                f"{', '.join(allowed)}",
            ))
        return out

    if kind == "required" and isinstance(value, dict):
        out = []
        props = schema.get("properties", {})
        for name in vv:
            if name in value:
                continue
            title = props.get(name, {}).get("title", "")
            what = f" ({title.split(' / ')[-1]})" if title else ""
            msg = f"missing required key '{name}'{what}"
            if path == ("firewall",) and name == "management":
                msg += (": the MSP's management sources; without them, applying would lock "
                        "the management access out")
            out.append(Problem(doc.file, *_at(doc, path), format_path((*path, name)), msg))
        return out

    if secret and kind == "type":
        return [doc.problem(path, SECRET_MESSAGE, key=False)]
    if secret and kind in ("minProperties", "maxProperties"):
        return [doc.problem(path, "a secret reference names exactly one source: "
                                  "{env: VAR_NAME} or {vault: variable_name}", key=False)]

    if kind == "type":
        kinds: list[str] = vv if isinstance(vv, list) else [vv]
        words = " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
        msg = f"expected {words}, found {describe(value)}"
        plain = doc.plain.get(path)
        if "string" in kinds and plain is not None and not isinstance(value, str):
            read_as = ("nothing (null)" if value is None else
                       "true/false" if isinstance(value, bool) else "a number")
            msg += f' (YAML reads the unquoted {plain} as {read_as}: write it in quotes, "{plain}")'

        return [doc.problem(path, msg, key=False)]

    if kind == "enum":
        choices = [("null" if c is None else str(c)) for c in vv]
        msg = f"expected one of {', '.join(choices)}; found {describe(value)}"
        if isinstance(value, str):
            msg += suggest(value, choices)
        return [doc.problem(path, msg, key=False)]

    if kind == "const":
        return [doc.problem(path, f"expected {vv!r}, found "
                                  f"{describe(value)}", key=False)]

    if kind == "pattern":
        hint = _PATTERN_HINTS.get(str(vv),
                                  f"text matching {vv}")
        if secret or (len(path) >= 1 and path[-1] in ("env", "vault")):
            return [doc.problem(path, f"expected {hint}", key=False)]
        return [doc.problem(path, f"expected {hint}; found {describe(value)}", key=False)]

    if kind == "format" and vv == "date":
        return [doc.problem(path, "expected a real date written YYYY-MM-DD, e.g. 2027-03-31; "
                                  f"found {describe(value)}", key=False)]

    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        return [doc.problem(path, f"expected a number {word} {vv}; found "
                                  f"{describe(value)}", key=False)]

    if kind == "minItems":
        n = vv
        msg = f"expected at least {n} item{'s' if n != 1 else ''}; the list is empty"
        if path == ("firewall", "management", "sources"):
            msg = ("the management sources are empty: applying would lock the MSP's management "
                   "access out; give at least one address block, e.g. 203.0.113.0/24")
        return [doc.problem(path, msg, key=False)]

    if kind == "uniqueItems" and isinstance(value, list):
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                return [doc.problem((*path, i), f"{describe(item)} is repeated (first at "
                                                f"position {seen.index(item) + 1}); list "
                                                "it once", key=False)]
            seen.append(item)

    if kind == "minLength":
        n = vv
        msg = ("must not be empty" if n == 1 else
               f"expected at least {n} characters; found {len(str(value))}")
        return [doc.problem(path, msg, key=False)]

    return [doc.problem(path, error.message, key=False)]  # pragma: no cover - fallback


def _host_var_message(key: str, allowed: list[str]) -> str:
    why = ("role settings come from the profile's sections, never from host variables"
           if key.startswith("esms_") else
           "other connection settings belong in the Ansible inventory (inventory.path)"
           if key.startswith("ansible_") else "host variables are connection settings only")
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.85)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (f"'{key}' is not an allowed connection setting{hint}: {why}; "
            f"allowed here: {', '.join(allowed)}")


def _at(doc: Document, path: JsonPath) -> tuple[int, int]:
    pos = doc.where(path)
    return pos.line, pos.column
