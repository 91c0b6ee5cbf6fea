"""The policy a process runs under, as one canonical, hashable, diffable text.

Every run points at the lanes.toml that routed it (``lanebot policy log``). What identifies a
policy is what *governs* runs, not how the file was typed: ``canonical_toml`` renders the
validated config (every default spelled out, comments and key order of the file dropped) as TOML,
so two files that only differ in comments or spacing are one policy, and ``lanebot policy diff``
compares settings line by line, including defaults that changed silently.

The text is scrubbed of secrets before it is hashed or stored (a ``base_url`` may carry a
password); the hash is over the scrubbed text, so the store never holds anything derived from a
secret. Tiers retargeted at start (``--offline``, a test server) are part of the policy too: the
canonical text is of the config the engine actually runs.

The renderer covers exactly what a ``LanesConfig`` holds: tables, strings, numbers, booleans,
arrays (of scalars or of inline tables). ``tomllib`` reads its output back to the same config
(tested).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from lanes.audit.records import PolicySnapshot
from lanes.config import LanesConfig

_INLINE_MAX_CHARS = 100
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def policy_snapshot(config: LanesConfig, scrub: Callable[[str], str]) -> PolicySnapshot:
    """The snapshot of ``config``: its hash (sha256 of ``text``, hex) and its canonical TOML text;
    ``scrub`` removes secrets (``Redactor.redact_secrets``)."""
    text = scrub(canonical_toml(config))
    return PolicySnapshot(hashlib.sha256(text.encode("utf-8")).hexdigest(), text, config.source)


def canonical_toml(config: LanesConfig) -> str:
    """``config`` as TOML: sections in a fixed order, lanes and tiers in the file's order."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    for lane in data.get("lanes", {}).values():
        lane.pop("name", None)
    return toml_text(data)


def toml_text(data: Mapping[str, Any]) -> str:
    """Parsed TOML data (what ``tomllib`` returns, or a config's JSON dump) written back as TOML."""
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    """Scalars and short tables first, as ``key = value``; long tables after, under headers."""
    subtables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in table.items():
        if isinstance(value, Mapping) and value and (not path or len(_inline(value)) > _INLINE_MAX_CHARS):
            subtables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in subtables:
        header = (*path, key)
        if any(not isinstance(v, Mapping) or len(_inline(v)) <= _INLINE_MAX_CHARS for v in value.values()):
            lines += ["", f"[{'.'.join(_key(part) for part in header)}]"]
        _table(lines, header, value)


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return _inline(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _inline(table: Mapping[str, Any]) -> str:
    if not table:
        return "{}"
    return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in table.items()) + " }"


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except DEL, which TOML wants escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def changed_settings(old_text: str, new_text: str) -> list[str]:
    """One line per setting that differs between two canonical texts: ``key: old -> new``,
    ``key: added (value)``, ``key: removed (was value)``. Tables are compared key by key, arrays
    and scalars as values; the order is the new text's (then what was removed)."""
    old, new = _flat(tomllib.loads(old_text)), _flat(tomllib.loads(new_text))
    lines: list[str] = []
    for key, value in new.items():
        if key not in old:
            lines.append(f"{key}: added ({_value(value)})")
        elif old[key] != value:
            lines.append(f"{key}: {_value(old[key])} -> {_value(value)}")
    lines += [f"{key}: removed (was {_value(value)})" for key, value in old.items() if key not in new]
    return lines


def _flat(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{_key(key)}"
        if isinstance(value, Mapping) and value:
            flat.update(_flat(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat
